// The WebSocket transport's directives (src/config/wslisten.ts, docs/CONFIG.md): `listen
// ws://IP:PORT` / `listen wss://IP:PORT cert FILE key FILE`, and the ws form of `boot`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyToBase64 } from '../../src/crypto/keys.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { ConfigError, parseConfig, type NetworkConfig } from '../../src/config/index.js';

const sodium = await sodiumReady();
const K = (i: number): string => keyToBase64(sodium.crypto_generichash(32, new Uint8Array([i, i >> 8]), null));
const parse = (text: string): NetworkConfig => parseConfig(text, 't.conf', sodium);
function errors(text: string): string[] {
  try { parse(text); } catch (e) { if (e instanceof ConfigError) return e.lines; throw e; }
  return assert.fail('expected a ConfigError');
}

test('listen ws:// and wss:// with cert and key', () => {
  assert.deepEqual(parse('name a\nlisten ws://0.0.0.0:8080\n').listen, { tls: false, host: '0.0.0.0', port: 8080, line: 2 });
  assert.deepEqual(parse('name a\nlisten ws://[::1]:80\n').listen, { tls: false, host: '::1', port: 80, line: 2 });
  assert.deepEqual(parse('name a\nlisten ws://127.0.0.1\n').listen?.port, 80);
  assert.deepEqual(parse('name a\nlisten wss://192.0.2.1 cert /etc/c.pem key /etc/k.pem\n').listen,
    { tls: true, host: '192.0.2.1', port: 443, cert: '/etc/c.pem', key: '/etc/k.pem', line: 2 });
  assert.equal(parse('name a\n').listen, undefined);
});

test('listen: what is refused, with the line and a reason', () => {
  const cases: [string, RegExp][] = [
    ['listen', /needs a URL/],
    ['listen 0.0.0.0:80', /not a ws:\/\/ or wss:\/\/ URL/],
    ['listen http://0.0.0.0:80', /not a ws:\/\/ or wss:\/\/ URL/],
    ['listen ws://example.com:80', /IP address, not a hostname/],
    ['listen ws://0.0.0.0:80/wh', /no path/],
    ['listen ws://0.0.0.0:99999', /valid URL|not 1\.\.65535/],
    ['listen wss://0.0.0.0:443', /needs "cert FILE" and "key FILE"/],
    ['listen wss://0.0.0.0:443 cert c.pem', /needs "cert FILE" and "key FILE"/],
    ['listen wss://0.0.0.0:443 cert c.pem key', /"key" needs a file/],
    ['listen ws://0.0.0.0:80 cert c.pem key k.pem', /ws:\/\/ is plain/],
    ['listen ws://0.0.0.0:80 frob x', /unknown listen option "frob"/],
    ['listen ws://u:p@0.0.0.0:80', /no user name/],
  ];
  for (const [line, re] of cases) {
    const e = errors(`name a\n${line}\n`);
    assert.equal(e.length, 1, `${line}: ${e.join('; ')}`);
    assert.ok(e[0]!.startsWith('t.conf:2: '), e[0]);
    assert.match(e[0]!, re, line);
  }
  assert.match(errors('name a\nlisten ws://0.0.0.0:1\nlisten ws://0.0.0.0:2\n')[0]!, /t\.conf:3: duplicate "listen"/);
});

test('listen ... trusted-proxy IP: repeatable, canonical; refused with the line and a reason', () => {
  assert.deepEqual(parse('name a\nlisten ws://127.0.0.1:8000 trusted-proxy 127.0.0.1 trusted-proxy [0::1]\n').listen,
    { tls: false, host: '127.0.0.1', port: 8000, trustedProxies: ['127.0.0.1', '::1'], line: 2 });
  assert.deepEqual(parse('name a\nlisten wss://0.0.0.0:443 cert c.pem trusted-proxy ::ffff:10.0.0.1 key k.pem\n').listen?.trustedProxies, ['10.0.0.1']);
  for (const [line, re] of [
    ['listen ws://0.0.0.0:80 trusted-proxy', /"trusted-proxy" needs an IP address/],
    ['listen ws://0.0.0.0:80 trusted-proxy nginx.local', /takes an IP address, not "nginx\.local"/],
    ['listen ws://0.0.0.0:80 trusted-proxy 10.0.0.0/8', /takes an IP address/],
    ['listen ws://0.0.0.0:80 trusted-proxy 10.0.0.1 trusted-proxy 10.0.0.1', /given twice/],
  ] as const) {
    const e = errors(`name a\n${line}\n`);
    assert.equal(e.length, 1, `${line}: ${e.join('; ')}`);
    assert.ok(e[0]!.startsWith('t.conf:2: '), e[0]);
    assert.match(e[0]!, re, line);
  }
});

test('boot KEY ws://HOST[:PORT][/PATH]: the boot node over WebSocket', () => {
  const c = parse(`name a\nboot ${K(1)} ws://192.0.2.1:8080\nboot ${K(2)} wss://boot.example.org/wirehub\nboot ${K(3)} 192.0.2.3\n`);
  assert.deepEqual(c.boots.map((b) => [b.host, b.hostKind, b.port, b.ws?.tls, b.ws?.url]), [
    ['192.0.2.1', 'ipv4', 8080, false, 'ws://192.0.2.1:8080/'],
    ['boot.example.org', 'hostname', 443, true, 'wss://boot.example.org/wirehub'],
    ['192.0.2.3', 'ipv4', 62096, undefined, undefined],
  ]);
  assert.match(errors(`name a\nboot ${K(1)} ws://bad_host:80\n`)[0]!, /t\.conf:2: invalid boot URL/);
  assert.match(errors(`name a\nboot ${K(1)} ws://192.0.2.1:80?x=1\n`)[0]!, /no query/);
});

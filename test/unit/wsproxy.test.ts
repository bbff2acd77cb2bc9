// Which proxy a WebSocket client uses (src/net/wsproxy.ts): curl's environment rules, no_proxy
// matching, the `proxy` directive of the network file (src/config/proxy.ts), and that no
// credential of a proxy URL is ever repeated in an error. Pure: the environment is a literal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseProxy, noProxyMatches, parseProxyUrl, ProxyConfigError, redactProxyText, redactProxyUrl } from '../../src/net/wsproxy.js';
import { wsClientOptions } from '../../src/net/wsdial.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { formatCheckReport } from '../../src/cli/commands/check.js';
import { sodiumReady } from '../../src/crypto/sodium.js';

const sodium = await sodiumReady();
const of = (target: string, env: Record<string, string>, directive?: Parameters<typeof chooseProxy>[2]): string =>
  (({ proxy, source }) => `${source} ${proxy ? proxy.href : '-'}`)(chooseProxy(target, env, directive));

test('wss:// takes wss_proxy, WSS_PROXY, https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY in that order', () => {
  const all = { wss_proxy: 'a:1', WSS_PROXY: 'b:2', https_proxy: 'c:3', HTTPS_PROXY: 'd:4', all_proxy: 'e:5', ALL_PROXY: 'f:6' };
  const names = Object.keys(all) as (keyof typeof all)[];
  for (let i = 0; i < names.length; i++) {
    const env: Record<string, string> = {};
    for (const n of names.slice(i)) env[n] = all[n];
    assert.equal(of('wss://relay.example:443/', env), `${names[i]} http://${all[names[i]!]}/`);
  }
  assert.equal(of('wss://relay.example/', {}), 'unset -');
  assert.equal(of('wss://relay.example/', { https_proxy: '   ' }), 'unset -', 'a blank variable is unset');
});

test('ws:// takes ws_proxy, WS_PROXY, then http_proxy but never HTTP_PROXY (curl), then all_proxy', () => {
  assert.equal(of('ws://h/', { HTTP_PROXY: 'x:1' }), 'unset -');
  assert.equal(of('ws://h/', { HTTP_PROXY: 'x:1', http_proxy: 'y:2' }), 'http_proxy http://y:2/');
  assert.equal(of('ws://h/', { http_proxy: 'y:2', WS_PROXY: 'z:3' }), 'WS_PROXY http://z:3/');
  assert.equal(of('ws://h/', { HTTPS_PROXY: 'x:1', ALL_PROXY: 'q:9' }), 'ALL_PROXY http://q:9/', 'https_proxy is for wss:// only');
  assert.equal(of('wss://h/', { http_proxy: 'y:2' }), 'unset -', 'http_proxy is for ws:// only');
});

test('proxy URLs as curl reads them: no scheme is http, no port is 1080 (443 for https)', () => {
  assert.equal(parseProxyUrl('proxy.lan').href, 'http://proxy.lan:1080/');
  assert.equal(parseProxyUrl('https://proxy.lan').href, 'https://proxy.lan/');
  assert.equal(parseProxyUrl('https://proxy.lan').port, '', 'URL drops the default port; 443 is meant');
  assert.equal(parseProxyUrl('http://proxy.lan:80').href, 'http://proxy.lan/', 'a written :80 stays 80');
  assert.equal(parseProxyUrl('u:p@proxy.lan:8080').port, '8080');
  assert.equal(parseProxyUrl('http://[fd00::1]').port, '1080');
  assert.equal(parseProxyUrl('http://[fd00::1]:3128').hostname, '[fd00::1]');
  assert.throws(() => parseProxyUrl('socks5://u:pw@p:1080'), (e: Error) => e instanceof ProxyConfigError && /unsupported proxy scheme "socks5"/.test(e.message) && !e.message.includes('pw'));
  assert.throws(() => parseProxyUrl('http://p:3128/path'), /no path/);
  assert.throws(() => parseProxyUrl('http://u:topsecret@p:99999'), (e: Error) => !e.message.includes('topsecret'));
});

test('the directive wins over the environment; none turns the environment off', () => {
  const env = { https_proxy: 'http://env:1' };
  assert.equal(of('wss://h/', env, { kind: 'url', url: 'http://dir:2' }), 'directive http://dir:2/');
  assert.equal(of('wss://h/', env, { kind: 'none' }), 'none -');
  assert.throws(() => chooseProxy('https://h/', env), /not a WebSocket URL/);
});

test('no_proxy (else NO_PROXY) excludes hosts, even from the directive, as curl matches them', () => {
  const list = 'localhost, .corp.example,relay.lan 10.0.0.0/8,fd00::/8,[::1],192.0.2.7';
  for (const h of ['localhost', 'a.corp.example', 'corp.example', 'relay.lan', 'x.relay.lan', 'RELAY.LAN.', '10.1.2.3', 'fd00::5', '[fd12::1]', '::1', '192.0.2.7']) {
    assert.ok(noProxyMatches(h, list), `${h} excluded`);
  }
  for (const h of ['notrelay.lan', 'corp.example.com', '11.0.0.1', 'fe80::1', '192.0.2.8', 'example']) {
    assert.ok(!noProxyMatches(h, list), `${h} not excluded`);
  }
  assert.ok(noProxyMatches('anything', '*'));
  assert.ok(!noProxyMatches('anything', '*.example'), 'a star is a wildcard only alone');
  assert.ok(!noProxyMatches('10.1.2.3', '10.0.0.0/99'), 'a bad CIDR matches nothing');
  const env = { https_proxy: 'p:1', NO_PROXY: 'h', no_proxy: 'other' };
  assert.equal(of('wss://h/', env), 'https_proxy http://p:1/', 'no_proxy is read first and NO_PROXY ignored then');
  assert.equal(of('wss://h:8443/', { https_proxy: 'p:1', NO_PROXY: 'h' }), 'NO_PROXY -');
  assert.equal(of('wss://[fd00::9]/', { https_proxy: 'p:1', no_proxy: 'fd00::/16' }, { kind: 'url', url: 'd:2' }), 'no_proxy -');
});

test('credentials are redacted in every printed form and sent only as Proxy-Authorization', () => {
  const u = parseProxyUrl('http://alice:s3cr%40t@proxy.lan:3128');
  assert.equal(redactProxyUrl(u), 'http://***@proxy.lan:3128');
  assert.equal(redactProxyText('http://alice:s3cr@t@proxy:1'), 'http://***@proxy:1');
  assert.equal(redactProxyText('alice:pw@proxy:1'), '***@proxy:1');
  const setup = wsClientOptions('wss://relay.example/', { HTTPS_PROXY: 'http://alice:s3cr%40t@proxy.lan:3128' });
  assert.equal(setup.proxy, 'http://***@proxy.lan:3128');
  assert.equal(setup.source, 'HTTPS_PROXY');
  const agent = setup.options.agent as unknown as { proxy: URL; proxyHeaders: Record<string, string> };
  assert.equal(agent.proxy.href, 'http://proxy.lan:3128/', 'the agent never holds the credentials in its URL');
  assert.equal(agent.proxyHeaders['Proxy-Authorization'], `Basic ${Buffer.from('alice:s3cr@t').toString('base64')}`);
  setup.abort();
  const direct = wsClientOptions('ws://relay.example/', {}, undefined, { maxPayload: 2000 });
  assert.equal(direct.proxy, null);
  assert.deepEqual(direct.options, { maxPayload: 2000 });
});

test('config: proxy URL and proxy none, once, credentials never echoed', () => {
  const cfg = (line: string) => parseConfig(`name a\n${line}\n`, 't.conf', sodium);
  assert.deepEqual(cfg('proxy http://proxy.lan:3128').proxy, { kind: 'url', url: 'http://proxy.lan:3128', line: 2 });
  assert.deepEqual(cfg('proxy none').proxy, { kind: 'none', line: 2 });
  assert.equal(cfg('# no proxy').proxy, undefined);
  const errors = (text: string): string => {
    try {
      parseConfig(`name a\n${text}\n`, 't.conf', sodium);
    } catch (e) {
      if (e instanceof ConfigError) return e.lines.join('\n');
      throw e;
    }
    return assert.fail('expected a ConfigError');
  };
  assert.match(errors('proxy'), /t\.conf:2: "proxy" takes exactly one argument, got none/);
  assert.match(errors('proxy a:1 b:2'), /got 2/);
  assert.match(errors('proxy none\nproxy http://p:1'), /t\.conf:3: duplicate "proxy"/);
  const bad = errors('proxy socks5://bob:hunter2@p:1080');
  assert.match(bad, /t\.conf:2: unsupported proxy scheme "socks5" in socks5:\/\/\*\*\*@p:1080/);
  assert.ok(!bad.includes('hunter2') && !bad.includes('bob'), bad);
  const bad2 = errors('proxy http://bob:hunter2@p:1/x');
  assert.ok(!bad2.includes('hunter2'), bad2);
  // `wh check` shows the setting, redacted.
  const report = formatCheckReport(cfg('proxy http://bob:hunter2@proxy.lan:3128'));
  assert.match(report, /^proxy: +http:\/\/\*\*\*@proxy\.lan:3128$/m);
  assert.ok(!report.includes('hunter2') && !report.includes('bob'));
  assert.match(formatCheckReport(cfg('proxy none')), /^proxy: +none$/m);
  assert.ok(!/^proxy:/m.test(formatCheckReport(cfg(''))));
});

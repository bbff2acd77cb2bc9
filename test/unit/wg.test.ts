// src/wg without root: interface names, validation, and the parsers of both control paths
// (UAPI `get=1` answers, `wg show dump`), checked on fixed texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  interfaceNameForKey, isInterfaceName, wgCidr, parseEndpoint, parseUapiGet, parseWgDump, peerSetRequest,
  publicKeyOfPrivateHex, UapiControl, validateInterfaceName, validateKey, wgPeerArgs, WgError, WgToolControl, MAX_IFNAME,
} from '../../src/wg/index.js';
import { listeningInodes } from '../../src/wg/proc.js';
import { formatEndpoint } from '../../src/wg/names.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const KEY_A = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo='; // RFC 7748 Alice's public key
const KEY_B = 'Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=';

/** A valid key whose first 8 characters are `head` (the last character must be one of the 16
 *  that end a 32-byte base64 value). */
function keyStartingWith(head: string): string {
  return head.padEnd(42, 'A') + 'A=';
}

test('interfaceNameForKey: "wh-" + 8 characters, every base64 character mapped', () => {
  const seen = new Map<string, string>();
  for (const c of B64) {
    for (let pos = 0; pos < 8; pos++) {
      const head = 'A'.repeat(pos) + c + 'B'.repeat(7 - pos);
      const key = keyStartingWith(head);
      validateKey(key);
      const name = interfaceNameForKey(key);
      assert.equal(name.length, 11);
      assert.ok(name.length <= MAX_IFNAME);
      assert.match(name, /^wh-[A-Za-z0-9_-]{8}$/);
      assert.equal(validateInterfaceName(name), name);
      const mapped = name[3 + pos]!;
      assert.equal(mapped, c === '+' ? '-' : c === '/' ? '_' : c);
      if (pos === 0) {
        assert.ok(!seen.has(mapped), `two characters map to ${mapped}`);
        seen.set(mapped, c);
      }
    }
  }
  assert.equal(seen.size, 64); // one-to-one
  assert.equal(interfaceNameForKey(KEY_A), 'wh-hSDwCYkw');
  assert.equal(interfaceNameForKey(keyStartingWith('a+b/c+d/')), 'wh-a-b_c-d_');
  assert.equal(interfaceNameForKey('  ' + KEY_B + '\n'), 'wh-Gb2tiKkA');
});

test('interfaceNameForKey refuses what is not a key', () => {
  for (const bad of ['', 'abc', KEY_A.slice(1), KEY_A.replace('=', 'A'), KEY_A.slice(0, 43) + '!', 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=']) {
    assert.throws(() => interfaceNameForKey(bad), (e: unknown) => e instanceof WgError && /not a WireGuard key/.test(e.message), bad);
  }
});

test('validateInterfaceName: 1..15 characters of [A-Za-z0-9_=+.-], not . or ..', () => {
  for (const ok of ['wg0', 'a', 'wh-Ab_c+d=e.f-g', 'x'.repeat(15), '...', '.a', 'WG.9']) {
    assert.equal(validateInterfaceName(ok), ok);
    assert.ok(isInterfaceName(ok));
  }
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['x'.repeat(16), /16 characters long; Linux allows at most 15/],
    ['.', /not allowed/],
    ['..', /not allowed/],
    ['wg 0', /contains " "/],
    ['wg/0', /contains "\/"/],
    ['wg:0', /contains ":"/],
    ['wgé', /contains "é"/],
    ['wg\n', /contains "\\n"/],
  ];
  for (const [bad, why] of cases) {
    assert.throws(() => validateInterfaceName(bad), (e: unknown) => e instanceof WgError && why.test(e.message), JSON.stringify(bad));
    assert.ok(!isInterfaceName(bad));
  }
});

test('wgCidr and parseEndpoint', () => {
  assert.deepEqual(wgCidr('10.42.0.1/24'), { ip: '10.42.0.1', prefix: 24, family: 4 });
  assert.deepEqual(wgCidr(' fd00::1/64 '), { ip: 'fd00::1', prefix: 64, family: 6 });
  assert.deepEqual(wgCidr('0.0.0.0/0'), { ip: '0.0.0.0', prefix: 0, family: 4 });
  for (const bad of ['10.42.0.1', '10.42.0.1/33', 'fd00::1/129', 'host/24', '10.42.0.256/24', '/24', '10.0.0.1/-1']) {
    assert.throws(() => wgCidr(bad), WgError, bad);
  }
  assert.deepEqual(parseEndpoint('10.0.0.1:51820'), { host: '10.0.0.1', port: 51820 });
  assert.deepEqual(parseEndpoint('[fd00::1]:1'), { host: 'fd00::1', port: 1 });
  assert.deepEqual(parseEndpoint('example.org:65535'), { host: 'example.org', port: 65535 });
  for (const bad of ['10.0.0.1', '10.0.0.1:0', '10.0.0.1:65536', 'fd00::1:5', '[fd00::1]', '[notv6]:5', ':5', 'a b:5']) {
    assert.throws(() => parseEndpoint(bad), WgError, bad);
  }
  assert.equal(formatEndpoint('fd00::1', 5), '[fd00::1]:5');
  assert.equal(formatEndpoint('1.2.3.4', 5), '1.2.3.4:5');
});

test('publicKeyOfPrivateHex: RFC 7748 vectors', () => {
  assert.equal(publicKeyOfPrivateHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'), KEY_A);
  assert.equal(
    Buffer.from(publicKeyOfPrivateHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'), 'base64').toString('hex'),
    'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  );
});

test('parseUapiGet: interface, peers, endpoints, allowed IPs', () => {
  const hexB = Buffer.from(KEY_B, 'base64').toString('hex');
  const lines = [
    'private_key=77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
    'listen_port=51820',
    `public_key=${hexB}`,
    'preshared_key=0000000000000000000000000000000000000000000000000000000000000000',
    'protocol_version=1',
    'endpoint=[fd00::2]:51821',
    'last_handshake_time_sec=1700000000',
    'last_handshake_time_nsec=5',
    'tx_bytes=92',
    'rx_bytes=180',
    'persistent_keepalive_interval=25',
    'allowed_ip=10.42.0.2/32',
    'allowed_ip=fd42::2/128',
    `public_key=${'11'.repeat(32)}`,
    'last_handshake_time_sec=0',
    'persistent_keepalive_interval=0',
  ];
  assert.deepEqual(parseUapiGet(lines), {
    publicKey: KEY_A,
    listenPort: 51820,
    peers: [
      { publicKey: KEY_B, endpoint: '[fd00::2]:51821', allowedIps: ['10.42.0.2/32', 'fd42::2/128'], latestHandshake: 1700000000, rxBytes: 180, txBytes: 92, keepalive: 25 },
      { publicKey: Buffer.alloc(32, 0x11).toString('base64'), allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0 },
    ],
  });
  assert.deepEqual(parseUapiGet(['listen_port=0']), { publicKey: '', listenPort: 0, peers: [] });
});

test('parseWgDump: the same fields from `wg show NAME dump`', () => {
  const text = [
    `d0b0\t${KEY_A}\t51820\toff`,
    `${KEY_B}\t(none)\t10.0.0.2:51821\t10.42.0.2/32,fd42::2/128\t1700000000\t180\t92\t25`,
    `${KEY_A}\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
    '',
  ].join('\n');
  assert.deepEqual(parseWgDump(text), {
    publicKey: KEY_A,
    listenPort: 51820,
    peers: [
      { publicKey: KEY_B, endpoint: '10.0.0.2:51821', allowedIps: ['10.42.0.2/32', 'fd42::2/128'], latestHandshake: 1700000000, rxBytes: 180, txBytes: 92, keepalive: 25 },
      { publicKey: KEY_A, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0 },
    ],
  });
  assert.throws(() => parseWgDump('garbage'), WgError);
});

test('peer requests: UAPI text and wg arguments replace the allowed IPs', () => {
  const hexB = Buffer.from(KEY_B, 'base64').toString('hex');
  assert.equal(
    peerSetRequest({ publicKey: KEY_B, endpoint: '[fd00::2]:5', allowedIps: ['10.42.0.2/32', 'fd42::2/128'], keepalive: 25 }),
    `set=1\npublic_key=${hexB}\nendpoint=[fd00::2]:5\npersistent_keepalive_interval=25\nreplace_allowed_ips=true\nallowed_ip=10.42.0.2/32\nallowed_ip=fd42::2/128\n\n`,
  );
  assert.equal(peerSetRequest({ publicKey: KEY_B, allowedIps: [] }), `set=1\npublic_key=${hexB}\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\n\n`);
  assert.deepEqual(wgPeerArgs('wg0', { publicKey: KEY_B, endpoint: 'host.example:5', allowedIps: ['10.42.0.2/32', 'fd42::2/128'] }), [
    'set', 'wg0', 'peer', KEY_B, 'endpoint', 'host.example:5', 'persistent-keepalive', '0', 'allowed-ips', '10.42.0.2/32,fd42::2/128',
  ]);
  assert.throws(() => wgPeerArgs('wg0', { publicKey: KEY_B, allowedIps: ['10.0.0.1'] }), /CIDR/);
  assert.throws(() => wgPeerArgs('wg0', { publicKey: KEY_B, allowedIps: [], keepalive: -1 }), /keepalive/);
  assert.throws(() => wgPeerArgs('wg0', { publicKey: 'nope', allowedIps: [] }), /peer public key is not a WireGuard key/);
});

test('a missing `wg` is reported with the package to install', async () => {
  const saved = process.env['PATH'];
  process.env['PATH'] = '/nonexistent-whwg';
  try {
    await assert.rejects(new WgToolControl('wg0').dump(), (e: unknown) => e instanceof WgError && /`wg` not found.*wireguard-tools.*apt-get install --no-install-recommends wireguard-tools/.test(e.message));
  } finally {
    process.env['PATH'] = saved;
  }
});

test('listeningInodes reads /proc/net/unix', () => {
  const text = [
    'Num       RefCount Protocol Flags    Type St Inode Path',
    '000000001ad8bee6: 00000002 00000000 00010000 0001 01 29578 /var/run/wireguard/wg0.sock',
    '000000001ad8bee7: 00000003 00000000 00000000 0001 03 29600 /var/run/wireguard/wg0.sock',
    '000000001ad8bee8: 00000002 00000000 00010000 0001 01 29579 /run/wireguard/wg0.sock',
    '000000001ad8bee9: 00000002 00000000 00010000 0001 01 29580 /run/wireguard/wg1.sock',
    '000000001ad8beea: 00000002 00000000 00010000 0001 01 29581',
  ].join('\n');
  assert.deepEqual([...listeningInodes(text, ['/var/run/wireguard/wg0.sock', '/run/wireguard/wg0.sock'])].sort(), [29578, 29579]);
});

test('a UAPI answer cut short (wireguard-go killed during a dump) is an error that does not quote the private key', async () => {
  const { createServer } = await import('node:net');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'whuapi-'));
  const secretHex = 'a0'.repeat(32);
  // A UAPI socket that starts the `get=1` answer (which begins with the private key) and closes.
  const server = createServer((c) => c.once('data', () => c.end(`private_key=${secretHex}\nlisten_port=51820\npublic_key=${'b1'.repeat(32)}\n`)));
  const path = join(dir, 'wh-test.sock');
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const err = await new UapiControl(path).dump().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WgError, `a WgError: ${String(err)}`);
    assert.ok(!err.message.includes(secretHex) && !err.message.includes(secretHex.slice(0, 16)), `the error quotes the private key: ${err.message}`);
    assert.match(err.message, /closed before the answer ended/);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`wg show NAME dump` that fails or is cut short is an error that does not quote the private key (its first field)', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const priv = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  // Cut short: the interface line has fewer fields than it should.
  assert.throws(() => parseWgDump(`${priv}\t${KEY_A}\n`), (e: unknown) => e instanceof WgError && !e.message.includes(priv.slice(0, 12)));
  // A `wg` that prints the interface line and then fails with nothing on stderr.
  const dir = mkdtempSync(join(tmpdir(), 'whwg-'));
  const saved = process.env['PATH'];
  try {
    writeFileSync(join(dir, 'wg'), `#!/bin/sh\nprintf '${priv}\\t${KEY_A}\\t51820\\toff\\n'\nexit 1\n`, { mode: 0o755 });
    process.env['PATH'] = dir;
    const err = await new WgToolControl('wg0').dump().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WgError, String(err));
    assert.ok(!err.message.includes(priv.slice(0, 12)), `the error quotes the private key: ${err.message}`);
  } finally {
    process.env['PATH'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed private key is never quoted in validateKey\'s error (rev3)', () => {
  const sk = KEY_A; // stands for a private key with a typo
  for (const bad of [sk.slice(0, 42), sk + 'x', sk.slice(0, 20) + '!' + sk.slice(21), ' ' + sk.slice(1, 43) + '.']) {
    assert.throws(() => validateKey(bad, 'private key'), (e: Error) => {
      assert.match(e.message, /private key is not a WireGuard key/);
      assert.ok(!e.message.includes(sk.slice(21, 37)) && !e.message.includes(sk.slice(2, 18)), `the error quotes the key: ${e.message}`);
      return true;
    });
  }
});

// Network config parser (src/config/), `wh check`, and the sample configs in config/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyToBase64, parseKey, publicFromSecret } from '../../src/crypto/keys.js';
import { sodiumReady, type Sodium } from '../../src/crypto/sodium.js';
import { workbit } from '../../src/crypto/workbit.js';
import {
  ALLOC_CONTEXT, allocateAddresses, allocationHash, ConfigError, configToJSON, DEFAULT_PORT, editDistance,
  findPeerByHostname, findPeerByKey, formatIPv6, loadConfig, type NetworkConfig, parseCidr, parseConfig, parseIp,
  parseIPv4, parseIPv6, suggestDirective,
} from '../../src/config/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WH = join(ROOT, 'bin', 'wh.js');
const FILE = 'test.conf';

const sodium: Sodium = await sodiumReady();

/** Deterministic, valid (arbitrary 32-byte) public keys for tests. */
const K = (i: number): string => keyToBase64(sodium.crypto_generichash(32, new Uint8Array([i, i >> 8]), null));

function parse(text: string): NetworkConfig {
  return parseConfig(text, FILE, sodium);
}

/** The "FILE:LINE: reason" lines of the ConfigError that parsing `text` must throw. */
function errorsOf(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.lines;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

/** Asserts exactly one error, on `line`, whose reason matches `re`. */
function expectOneError(text: string, line: number, re: RegExp): void {
  const errs = errorsOf(text);
  assert.equal(errs.length, 1, `expected one error, got:\n${errs.join('\n')}`);
  assert.ok(errs[0]!.startsWith(`${FILE}:${line}: `), `wrong location: ${errs[0]}`);
  assert.match(errs[0]!, re);
}

const lines = (...ls: string[]): string => ls.join('\n') + '\n';
const ipTable = (cfg: NetworkConfig): Record<string, [string | undefined, string | undefined]> =>
  Object.fromEntries(cfg.peers.map((p) => [p.keyB64, [p.ipv4, p.ipv6]]));

describe('sample configs', () => {
  test('config/example: two trusted nodes, node-a also bootstrap, node-b allocated', async () => {
    const cfg = await loadConfig(join(ROOT, 'config', 'example'));
    assert.equal(cfg.name, 'example');
    assert.equal(cfg.namespace, 'example');
    assert.equal(cfg.workbit, 2);
    assert.equal(cfg.subnets.v4?.text, '10.42.0.0/24');
    assert.equal(cfg.subnets.v6, undefined);
    assert.equal(cfg.boots.length, 1);
    assert.equal(cfg.boots[0]!.host, '127.0.0.1');
    assert.equal(cfg.peers.length, 2);
    const a = findPeerByHostname(cfg, 'node-a')!;
    const b = findPeerByHostname(cfg, 'node-b')!;
    assert.equal(a.ipv4, '10.42.0.1');
    assert.equal(a.ipv4Explicit, true);
    assert.equal(b.ipv4Explicit, false);
    assert.match(b.ipv4!, /^10\.42\.0\.\d+$/);
    assert.notEqual(b.ipv4, '10.42.0.1');
    assert.ok(a.trusted && b.trusted);
    assert.equal(cfg.boots[0]!.keyB64, a.keyB64);
  });

  test('config/keys/*.sk are the private keys of the example nodes and meet its workbit', async () => {
    const cfg = await loadConfig(join(ROOT, 'config', 'example'));
    for (const node of ['node-a', 'node-b']) {
      const sk = parseKey(readFileSync(join(ROOT, 'config', 'keys', `${node}.sk`), 'utf8'));
      const pk = keyToBase64(publicFromSecret(sodium, sk));
      const peer = findPeerByKey(cfg, pk);
      assert.equal(peer?.hostname, node);
      assert.ok(workbit(sodium, parseKey(pk), cfg.namespace) >= cfg.workbit);
    }
  });

  test('config/public: a DHT-only network without subnet or trusted peers', async () => {
    const cfg = await loadConfig(join(ROOT, 'config', 'public'));
    assert.equal(cfg.name, 'public');
    assert.equal(cfg.namespace, 'public');
    assert.ok(cfg.workbit > 0);
    assert.deepEqual(cfg.subnets, {});
    assert.equal(cfg.peers.length, 0);
    assert.ok(cfg.boots.length >= 1);
    for (const b of cfg.boots) assert.ok(b.host === '192.0.2.1' || b.host.startsWith('2001:db8:'), `boot host ${b.host} must be a documentation address`);
  });
});

describe('directives', () => {
  test('minimal file: name only; defaults for namespace and workbit', () => {
    const cfg = parse('name net1\n');
    assert.equal(cfg.file, FILE);
    assert.equal(cfg.name, 'net1');
    assert.equal(cfg.namespace, 'public'); // the public DHT's, not the network name (issue 9)
    assert.equal(cfg.workbit, 0);
    assert.deepEqual(cfg.subnets, {});
    assert.deepEqual(cfg.boots, []);
    assert.deepEqual(cfg.peers, []);
  });

  test('name: allowed characters and length', () => {
    assert.equal(parse('name A-b_c.9\n').name, 'A-b_c.9');
    assert.equal(parse(`name ${'x'.repeat(32)}\n`).name, 'x'.repeat(32));
    expectOneError(`name ${'x'.repeat(33)}\n`, 1, /invalid network name/);
    expectOneError('name bad/name\n', 1, /invalid network name/);
    expectOneError('name\n', 1, /"name" takes exactly one argument, got none/);
    expectOneError('name a b\n', 1, /"name" takes exactly one argument, got 2/);
  });

  test('missing name is reported on line 1', () => {
    expectOneError('# nothing\nworkbit 0\n', 1, /missing "name" directive/);
    expectOneError('', 1, /missing "name" directive/);
  });

  test('duplicate name, namespace, workbit', () => {
    expectOneError('name a\nname b\n', 2, /duplicate "name" directive \(already given on line 1/);
    expectOneError('name a\nnamespace x\nnamespace y\n', 3, /duplicate "namespace"/);
    expectOneError('name a\nworkbit 0\nworkbit 0\n', 3, /duplicate "workbit"/);
  });

  test('workbit: 0..256 integers only', () => {
    assert.equal(parse('name a\nworkbit 0\n').workbit, 0);
    assert.equal(parse('name a\nworkbit 256\n').workbit, 256);
    for (const bad of ['257', '-1', 'abc', '1.5', '0x1', '1000']) {
      expectOneError(`name a\nworkbit ${bad}\n`, 2, /invalid workbit/);
    }
  });

  test('workbit is enforced on every key, in the namespace (default: "public")', () => {
    // Pick keys below and at/above 3 bits in namespace "public".
    const ks = Array.from({ length: 200 }, (_, i) => K(i));
    const w = (k: string, ns: string): number => workbit(sodium, parseKey(k), ns);
    const weak = ks.find((k) => w(k, 'public') < 3 && w(k, 'ns1') < 3)!;
    const strong = ks.find((k) => w(k, 'public') >= 3)!;
    assert.ok(weak && strong);
    const ok = parse(lines('name ns1', 'workbit 3', 'subnet 10.0.0.0/24', `trust ${strong}`, `boot ${strong} 192.0.2.1`));
    assert.equal(ok.peers.length, 1);
    expectOneError(lines('name ns1', 'workbit 3', 'subnet 10.0.0.0/24', `trust ${weak}`), 4, /has workbit \d in namespace "public", below the network's workbit 3$/);
    expectOneError(lines('name ns1', 'workbit 3', `boot ${weak} 192.0.2.1`), 3, /boot key .* below the network's workbit 3/);
    expectOneError(lines('name ns1', 'workbit 3', `peer ${weak}`), 3, /below the network's workbit/);
    // An explicit namespace replaces "public" in the proof of work.
    const strongOther = ks.find((k) => w(k, 'other') >= 3 && w(k, 'public') < 3)!;
    const cfg = parse(lines('name ns1', 'namespace other', 'workbit 3', `peer ${strongOther}`));
    assert.equal(cfg.namespace, 'other');
    errorsOf(lines('name ns1', 'workbit 3', `peer ${strongOther}`));
    // A file written when the namespace defaulted to the network name: the error says what to add.
    const strongName = ks.find((k) => w(k, 'ns1') >= 3 && w(k, 'public') < 3)!;
    expectOneError(lines('name ns1', 'workbit 3', `peer ${strongName}`), 3, /in namespace "public", below the network's workbit 3 \(it has it in namespace "ns1": the namespace no longer defaults to the network name; add "namespace ns1"\)$/);
  });

  test('namespace: one token, default "public"', () => {
    assert.equal(parse('name a\nnamespace hello.world\n').namespace, 'hello.world');
    expectOneError('name a\nnamespace\n', 2, /"namespace" takes exactly one argument/);
    expectOneError('name a\nnamespace x y\n', 2, /"namespace" takes exactly one argument/);
  });

  test('subnet: IPv4 and IPv6, one of each at most, canonical text', () => {
    const cfg = parse('name a\nsubnet 10.42.0.0/16\nsubnet FD00:0042:0000::/48\n');
    assert.equal(cfg.subnets.v4?.text, '10.42.0.0/16');
    assert.equal(cfg.subnets.v4?.line, 2);
    assert.equal(cfg.subnets.v6?.text, 'fd00:42::/48');
    assert.equal(cfg.subnets.v6?.prefix, 48);
    expectOneError('name a\nsubnet 10.0.0.0/8\nsubnet 192.168.0.0/16\n', 3, /a second IPv4 subnet .*first is 10\.0\.0\.0\/8 on line 2/);
    expectOneError('name a\nsubnet fd00::/64\nsubnet fd01::/64\n', 3, /a second IPv6 subnet/);
  });

  test('subnet: malformed values', () => {
    expectOneError('name a\nsubnet 10.0.0.0\n', 2, /not a CIDR subnet/);
    expectOneError('name a\nsubnet 10.0.0.300/24\n', 2, /not an IPv4 or IPv6 address/);
    expectOneError('name a\nsubnet 10.0.0.0/33\n', 2, /prefix length \(0\.\.32\)/);
    expectOneError('name a\nsubnet fd00::/129\n', 2, /prefix length \(0\.\.128\)/);
    expectOneError('name a\nsubnet 10.0.0.0/x\n', 2, /prefix length/);
    expectOneError('name a\nsubnet 10.42.0.1/24\n', 2, /host bits set \(did you mean 10\.42\.0\.0\/24\?\)/);
    expectOneError('name a\nsubnet fd00::1/64\n', 2, /did you mean fd00::\/64/);
    expectOneError('name a\nsubnet\n', 2, /"subnet" takes exactly one argument/);
  });

  test('boot: host forms and default port', () => {
    const k = K(1);
    const cfg = parse(lines(
      'name a',
      `boot ${k} 192.0.2.1`,
      `boot ${K(2)} 192.0.2.2:1234`,
      `boot ${K(3)} [2001:db8::1]:5000`,
      `boot ${K(4)} [2001:DB8::2]`,
      `boot ${K(5)} 2001:db8::3`,
      `boot ${K(6)} dht.example.org:7`,
      `boot ${K(7)} dht.example.org`,
    ));
    assert.equal(DEFAULT_PORT, 62096);
    const got = cfg.boots.map((b) => [b.host, b.hostKind, b.port, b.line]);
    assert.deepEqual(got, [
      ['192.0.2.1', 'ipv4', 62096, 2],
      ['192.0.2.2', 'ipv4', 1234, 3],
      ['2001:db8::1', 'ipv6', 5000, 4],
      ['2001:db8::2', 'ipv6', 62096, 5],
      ['2001:db8::3', 'ipv6', 62096, 6],
      ['dht.example.org', 'hostname', 7, 7],
      ['dht.example.org', 'hostname', 62096, 8],
    ]);
    assert.equal(cfg.boots[0]!.keyB64, k);
    assert.deepEqual(cfg.boots[0]!.key, parseKey(k));
  });

  test('boot: errors', () => {
    const k = K(1);
    expectOneError(`name a\nboot ${k}\n`, 2, /"boot" takes a key and an address, got 1 argument/);
    expectOneError(`name a\nboot ${k} 192.0.2.1 extra\n`, 2, /got 3 arguments/);
    expectOneError('name a\nboot notakey 192.0.2.1\n', 2, /boot key is not a WireGuard key/);
    expectOneError(`name a\nboot ${k} 192.0.2.1:0\n`, 2, /bad port "0"/);
    expectOneError(`name a\nboot ${k} 192.0.2.1:65536\n`, 2, /bad port "65536"/);
    expectOneError(`name a\nboot ${k} 192.0.2.1:http\n`, 2, /bad port "http"/);
    expectOneError(`name a\nboot ${k} 192.0.2.1:\n`, 2, /bad port ""/);
    expectOneError(`name a\nboot ${k} 2001:db8:0:0:0:0:0:1:80\n`, 2, /IPv6 address with a port must be bracketed/);
    expectOneError(`name a\nboot ${k} [192.0.2.1]:80\n`, 2, /is not an IPv6 address/);
    expectOneError(`name a\nboot ${k} [2001:db8::1\n`, 2, /malformed/);
    expectOneError(`name a\nboot ${k} bad_host:80\n`, 2, /bad host .*contains "_"/);
    expectOneError(`name a\nboot ${k} 192.0.2.300\n`, 2, /looks like an IP address but is not a valid one/);
    // two errors on one line are both reported
    assert.equal(errorsOf('name a\nboot nokey 1.2.3.4:0\n').length, 2);
  });

  test('trust: every token combination', () => {
    const cfg = parse(lines(
      'name a',
      'subnet 10.0.0.0/16',
      `trust ${K(1)}`,
      `trust h2 ${K(2)}`,
      `trust 10.0.0.3 ${K(3)}`,
      `trust h4 10.0.0.4 ${K(4)}`,
      `trust 10.0.0.5 h5 ${K(5)}`,
      `trust h6 ${K(6)} 192.0.2.6:51820`,
      `trust h7 10.0.0.7 ${K(7)} [2001:db8::7]:1`,
      `trust ${K(8)} host.example:2`,
    ));
    const got = cfg.peers.map((p) => [p.hostname ?? null, p.ipv4Explicit ? p.ipv4 : null, p.endpoint ? `${p.endpoint.host}|${p.endpoint.port}` : null, p.line]);
    assert.deepEqual(got, [
      [null, null, null, 3],
      ['h2', null, null, 4],
      [null, '10.0.0.3', null, 5],
      ['h4', '10.0.0.4', null, 6],
      ['h5', '10.0.0.5', null, 7],
      ['h6', null, '192.0.2.6|51820', 8],
      ['h7', '10.0.0.7', '2001:db8::7|1', 9],
      [null, null, 'host.example|2', 10],
    ]);
    for (const p of cfg.peers) {
      assert.equal(p.trusted, true);
      assert.match(p.ipv4!, /^10\.0\.\d+\.\d+$/);
    }
  });

  test('trust: token errors', () => {
    const pre = 'name a\nsubnet 10.0.0.0/24\n';
    const k = K(1);
    expectOneError(`${pre}trust a b ${k}\n`, 3, /two hostnames \("a" and "b"\)/);
    expectOneError(`${pre}trust 10.0.0.1 10.0.0.2 ${k}\n`, 3, /two IP addresses \(10\.0\.0\.1 and 10\.0\.0\.2\)/);
    expectOneError(`${pre}trust alice\n`, 3, /missing key/);
    expectOneError(`${pre}trust\n`, 3, /"trust" needs at least a key/);
    expectOneError(`${pre}trust alice ${k.slice(0, 42)}\n`, 3, /key is not a WireGuard key/);
    expectOneError(`${pre}trust alice ${k} 192.0.2.1:1 extra\n`, 3, /unexpected extra token after the endpoint: "extra"/);
    expectOneError(`${pre}trust alice ${k} 192.0.2.1:1 x y\n`, 3, /unexpected extra tokens after the endpoint: "x" "y"/);
    expectOneError(`${pre}trust ${k} ${K(2)}\n`, 3, /a second key/);
    expectOneError(`${pre}trust ${k} alice\n`, 3, /"alice" has no port .*put the hostname before the key/);
    expectOneError(`${pre}trust ${k} 192.0.2.1\n`, 3, /has no port \(expected 192\.0\.2\.1:PORT\)/);
    expectOneError(`${pre}trust ${k} 2001:db8::1\n`, 3, /has no port \(expected \[2001:db8::1\]:PORT\)/);
    expectOneError(`${pre}trust -alice ${k}\n`, 3, /starting or ending with '-'/);
    expectOneError(`${pre}trust alice- ${k}\n`, 3, /starting or ending with '-'/);
    expectOneError(`${pre}trust al*ice ${k}\n`, 3, /contains "\*"/); // ('_' is allowed in peer names: contact.test.ts)
    expectOneError(`${pre}trust a..b ${k}\n`, 3, /empty label/);
    expectOneError(`${pre}trust ${'x'.repeat(64)} ${k}\n`, 3, /label longer than 63/);
    expectOneError(`${pre}trust ${Array(64).fill('abc').join('.')} ${k}\n`, 3, /longer than 253/);
    expectOneError(`${pre}trust 10.0.0.300 ${k}\n`, 3, /looks like an IP address but is not a valid one/);
    expectOneError(`${pre}trust fe80::1%eth0 ${k}\n`, 3, /IPv6 zone ids/);
    expectOneError(`${pre}trust 10.0.0.1/32 ${k}\n`, 3, /10\.0\.0\.1\/32 is a subnet; a trust line takes a single address/);
    expectOneError(`${pre}trust a/b ${k}\n`, 3, /hostname "a\/b" contains "\/"/);
    expectOneError(`${pre}trust alice abc= ${k}\n`, 3, /key is not a WireGuard key/);
    // hostname rules accept this
    assert.equal(parse(`${pre}trust ${'a'.repeat(63)}.b-c.d9 ${k}\n`).peers[0]!.hostname, `${'a'.repeat(63)}.b-c.d9`);
  });

  test('peer: hostname, key, endpoint; no IP, no tunnel, no overlay address', () => {
    const cfg = parse(lines('name a', 'subnet 10.0.0.0/24', 'subnet fd00::/64', `peer relay ${K(1)} 192.0.2.9:62096`, `peer ${K(2)}`));
    const [p1, p2] = cfg.peers;
    assert.equal(p1!.trusted, false);
    assert.equal(p1!.hostname, 'relay');
    assert.equal(p1!.endpoint?.port, 62096);
    assert.equal(p1!.ipv4, undefined);
    assert.equal(p1!.ipv6, undefined);
    assert.equal(p2!.hostname, undefined);
    // peers need no subnet
    assert.equal(parse(`name a\npeer x ${K(1)}\n`).peers.length, 1);
    expectOneError(`name a\nsubnet 10.0.0.0/24\npeer 10.0.0.1 ${K(1)}\n`, 3, /"peer" lines take no IP address/);
    expectOneError(`name a\npeer a b ${K(1)}\n`, 2, /two hostnames/);
    expectOneError('name a\npeer\n', 2, /"peer" needs at least a key/);
  });

  test('unknown directives suggest the closest known one', () => {
    expectOneError('name a\ntrsut x\n', 2, /unknown directive "trsut" \(did you mean "trust"\?\)/);
    expectOneError('name a\nsubet 10.0.0.0/8\n', 2, /did you mean "subnet"/);
    expectOneError('name a\nTrust x\n', 2, /did you mean "trust"/);
    expectOneError('name a\npeers x\n', 2, /did you mean "peer"/);
    expectOneError('name a\nfrobnicate\n', 2, /unknown directive "frobnicate" \(known directives: name, subnet, workbit, namespace, boot, trust, peer, hosts, dns, metrics, listen, proxy\)/);
    assert.equal(editDistance('trsut', 'trust'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(suggestDirective('xyzzy'), undefined);
    assert.equal(suggestDirective('workbits'), 'workbit');
  });

  test('comments, blank lines, whitespace, CRLF, BOM', () => {
    const text = '\uFEFF# header comment\r\n\r\n   name\tcmt   # trailing comment\r\n\t\n' +
      `subnet 10.1.0.0/24#no space before the hash\r\n   # indented comment\r\ntrust   x\t${K(1)}   # node x\r\n`;
    const cfg = parse(text);
    assert.equal(cfg.name, 'cmt');
    assert.equal(cfg.subnets.v4?.text, '10.1.0.0/24');
    assert.equal(cfg.peers[0]!.hostname, 'x');
    assert.equal(cfg.peers[0]!.line, 7);
    // a commented-out directive is ignored entirely
    assert.deepEqual(parse('name a\n# trust bogus\n#trsut\n').peers, []);
  });
});

describe('cross-line validation', () => {
  test('the same key twice among trust/peer lines is an error; boot + trust is fine', () => {
    const pre = 'name a\nsubnet 10.0.0.0/24\n';
    expectOneError(`${pre}trust x ${K(1)}\ntrust y ${K(1)}\n`, 4, /key .* is already listed on line 3/);
    expectOneError(`${pre}trust x ${K(1)}\npeer y ${K(1)}\n`, 4, /already listed on line 3/);
    expectOneError(`${pre}boot ${K(1)} 192.0.2.1\nboot ${K(1)} 192.0.2.1:62096\n`, 4, /boot key .* is already listed with this address on line 3/);
    expectOneError(`${pre}boot ${K(1)} [2001:db8::1]\nboot ${K(1)} [2001:DB8::1]:62096\n`, 4, /boot key .* is already listed with this address on line 3/);
    const cfg = parse(`${pre}boot ${K(1)} 192.0.2.1\ntrust x ${K(1)}\n`);
    assert.equal(cfg.boots[0]!.keyB64, cfg.peers[0]!.keyB64);
  });

  test('duplicate hostnames (case-insensitive) across trust and peer', () => {
    const pre = 'name a\nsubnet 10.0.0.0/24\n';
    expectOneError(`${pre}trust alice ${K(1)}\ntrust alice ${K(2)}\n`, 4, /hostname "alice" is already used on line 3/);
    expectOneError(`${pre}trust Alice ${K(1)}\npeer aLiCe ${K(2)}\n`, 4, /already used on line 3/);
  });

  test('explicit addresses: inside the subnet, not network/broadcast, unique, matching family', () => {
    const pre = 'name a\nsubnet 10.0.0.0/24\n';
    expectOneError(`${pre}trust 10.0.1.1 ${K(1)}\n`, 3, /address 10\.0\.1\.1 is outside the subnet 10\.0\.0\.0\/24/);
    expectOneError(`${pre}trust 10.0.0.0 ${K(1)}\n`, 3, /is the network address of 10\.0\.0\.0\/24/);
    expectOneError(`${pre}trust 10.0.0.255 ${K(1)}\n`, 3, /is the broadcast address of 10\.0\.0\.0\/24/);
    expectOneError(`${pre}trust 10.0.0.7 ${K(1)}\ntrust 10.0.0.7 ${K(2)}\n`, 4, /address 10\.0\.0\.7 is already assigned on line 3/);
    expectOneError(`${pre}trust fd00::1 ${K(1)}\n`, 3, /IPv6 address fd00::1 but no IPv6 subnet is configured/);
    expectOneError(`name a\nsubnet fd00::/64\ntrust 10.0.0.1 ${K(1)}\n`, 3, /IPv4 address 10\.0\.0\.1 but no IPv4 subnet/);
    expectOneError(`name a\nsubnet fd00::/64\ntrust fd00::5 ${K(1)}\ntrust fd00::0 ${K(2)}\n`, 4, /network address of fd00::\/64/);
    expectOneError(`name a\nsubnet fd00::/64\ntrust fd01::1 ${K(1)}\n`, 3, /outside the subnet fd00::\/64/);
    // IPv6 has no broadcast address: the last address of the subnet is usable
    assert.equal(parse(`name a\nsubnet fd00::/64\ntrust fd00::ffff:ffff:ffff:ffff ${K(1)}\n`).peers[0]!.ipv6, 'fd00::ffff:ffff:ffff:ffff');
    // the same address written differently is still a duplicate
    expectOneError(`name a\nsubnet fd00::/64\ntrust fd00::1 ${K(1)}\ntrust fd00:0:0:0::0001 ${K(2)}\n`, 4, /already assigned on line 3/);
  });

  test('trust without subnet: one error, on the first trust line', () => {
    expectOneError(lines('name a', `boot ${K(9)} 192.0.2.1`, `trust x ${K(1)}`, `trust y ${K(2)}`), 3, /"trust" needs a "subnet" line/);
    // an invalid subnet line is reported itself, without the "needs a subnet" follow-up
    expectOneError(lines('name a', 'subnet nope', `trust x ${K(1)}`), 2, /invalid subnet/);
  });

  test('IPv4 /31 and /32 have no room for allocation; tiny subnets fill up', () => {
    expectOneError(lines('name a', 'subnet 10.0.0.0/31', `trust ${K(1)}`), 2, /has room for 0 allocated addresses \(an IPv4 \/31 or \/32 has no usable host address\), but 1 trusted peer without an explicit IPv4 address needs one/);
    expectOneError(lines('name a', 'subnet 10.0.0.5/32', `trust ${K(1)}`), 2, /room for 0 allocated addresses/);
    // /31 with only untrusted peers is fine
    assert.equal(parse(lines('name a', 'subnet 10.0.0.0/31', `peer ${K(1)}`)).peers.length, 1);
    // /30: two usable addresses
    const cfg = parse(lines('name a', 'subnet 10.0.0.0/30', `trust ${K(1)}`, `trust ${K(2)}`));
    assert.deepEqual(cfg.peers.map((p) => p.ipv4).sort(), ['10.0.0.1', '10.0.0.2']);
    expectOneError(lines('name a', 'subnet 10.0.0.0/30', `trust ${K(1)}`, `trust ${K(2)}`, `trust ${K(3)}`), 2, /room for 2 allocated addresses, but 3 trusted peers/);
    // explicit addresses count against the room
    expectOneError(lines('name a', 'subnet 10.0.0.0/30', `trust 10.0.0.1 ${K(1)}`, `trust ${K(2)}`, `trust ${K(3)}`), 2, /room for 1 allocated address, but 2 trusted peers/);
    // IPv6 /128 has no room, /127 has one address (network excluded)
    expectOneError(lines('name a', 'subnet fd00::/128', `trust ${K(1)}`), 2, /room for 0 allocated addresses, but 1 trusted peer/);
    assert.equal(parse(lines('name a', 'subnet fd00::/127', `trust ${K(1)}`)).peers[0]!.ipv6, 'fd00::1');
  });

  test('all errors are collected, sorted by line, in one ConfigError', () => {
    const text = lines(
      'trsut x',                                   // 1 unknown directive (+ missing name on line 1)
      'subnet 10.0.0.0/24',
      'workbit 999',                               // 3
      `trust 10.0.1.1 ${K(1)}`,                    // 4 outside subnet
      `trust ${K(2)} 192.0.2.1:99999`,             // 5 bad port
      `trust alice ${K(3)}`,
      `trust alice ${K(4)}`,                       // 7 duplicate hostname
      `boot ${K(5)}`,                              // 8 missing address
    );
    let err: unknown;
    try { parse(text); } catch (e) { err = e; }
    assert.ok(err instanceof ConfigError);
    const got = err.issues.map((i) => i.line);
    assert.deepEqual(got, [1, 1, 3, 4, 5, 7, 8]);
    assert.equal(err.message, err.lines.join('\n'));
    for (const l of err.lines) assert.match(l, /^test\.conf:\d+: \S/);
    assert.match(err.lines.join('\n'), /did you mean "trust"/);
    assert.match(err.lines.join('\n'), /missing "name"/);
  });
});

describe('overlay address allocation', () => {
  const keys = Array.from({ length: 12 }, (_, i) => K(100 + i));
  const base = (ks: string[]): string => lines('name alloc', 'subnet 10.77.0.0/16', 'subnet fd77::/64', ...ks.map((k, i) => `trust ${k}  # ${i}`));

  test('matches the documented algorithm: BLAKE2b-256("wirehub-ip" || key || counter), first 8 bytes big-endian, mod size', () => {
    assert.equal(ALLOC_CONTEXT, 'wirehub-ip');
    const k = keys[0]!;
    const raw = parseKey(k);
    const input = Buffer.concat([Buffer.from('wirehub-ip'), raw, Buffer.from([0])]);
    const h = Buffer.from(sodium.crypto_generichash(32, input, null));
    const first8 = h.readBigUInt64BE(0);
    assert.equal(allocationHash(sodium, raw, 0), first8);
    const cfg = parse(lines('name alloc', 'subnet 10.77.0.0/16', 'subnet fd77::/64', `trust ${k}`));
    const idx4 = first8 % 65536n;
    assert.ok(idx4 !== 0n && idx4 !== 65535n, 'test key collides with a reserved address; pick another');
    assert.equal(cfg.peers[0]!.ipv4, `10.77.${Number(idx4 >> 8n)}.${Number(idx4 & 255n)}`);
    assert.equal(parseIPv6(cfg.peers[0]!.ipv6!), parseIPv6('fd77::')! + first8);
  });

  test('same file, same table', () => {
    const a = parse(base(keys));
    const b = parse(base(keys));
    assert.deepEqual(ipTable(a), ipTable(b));
    const v4 = a.peers.map((p) => p.ipv4);
    const v6 = a.peers.map((p) => p.ipv6);
    assert.equal(new Set(v4).size, keys.length, 'IPv4 addresses are distinct');
    assert.equal(new Set(v6).size, keys.length, 'IPv6 addresses are distinct');
    for (const p of a.peers) {
      assert.match(p.ipv4!, /^10\.77\./);
      assert.ok(p.ipv6!.startsWith('fd77::'));
      assert.equal(p.ipv4Explicit, false);
      assert.equal(p.ipv6Explicit, false);
    }
  });

  test('reordering trust lines gives the same table', () => {
    const a = ipTable(parse(base(keys)));
    const reversed = ipTable(parse(base([...keys].reverse())));
    const shuffled = ipTable(parse(base([...keys.slice(5), ...keys.slice(0, 5)])));
    assert.deepEqual(reversed, a);
    assert.deepEqual(shuffled, a);
  });

  test('adding a peer does not move the others (no collision case)', () => {
    const before = ipTable(parse(base(keys)));
    const after = ipTable(parse(base([...keys, K(999)])));
    for (const k of keys) assert.deepEqual(after[k], before[k]);
    assert.ok(after[K(999)]);
  });

  test('explicit IPv4 only: the peer still gets an allocated IPv6, and vice versa', () => {
    const cfg = parse(lines('name alloc', 'subnet 10.77.0.0/16', 'subnet fd77::/64', `trust 10.77.1.1 ${keys[0]}`, `trust fd77::1 ${keys[1]}`));
    const [p0, p1] = cfg.peers;
    assert.equal(p0!.ipv4, '10.77.1.1');
    assert.equal(p0!.ipv4Explicit, true);
    assert.equal(p0!.ipv6Explicit, false);
    assert.ok(p0!.ipv6!.startsWith('fd77::'));
    assert.equal(p1!.ipv6, 'fd77::1');
    assert.equal(p1!.ipv6Explicit, true);
    assert.equal(p1!.ipv4Explicit, false);
    assert.match(p1!.ipv4!, /^10\.77\./);
  });

  test('an explicit address is never handed out again', () => {
    // Make the explicit address exactly the one keys[0] would get, and check keys[0] moves.
    const free = parse(lines('name alloc', 'subnet 10.77.0.0/16', `trust ${keys[0]}`)).peers[0]!.ipv4!;
    const cfg = parse(lines('name alloc', 'subnet 10.77.0.0/16', `trust ${free} ${keys[1]}`, `trust ${keys[0]}`));
    assert.equal(cfg.peers[0]!.ipv4, free);
    assert.notEqual(cfg.peers[1]!.ipv4, free);
  });

  test('IPv6 only network; large subnets allocate within the first 2^64 addresses', () => {
    const cfg = parse(lines('name v6', 'subnet fd00:1:2::/48', ...keys.slice(0, 4).map((k) => `trust ${k}`)));
    assert.equal(cfg.subnets.v4, undefined);
    const prefix = parseIPv6('fd00:1:2::')!;
    for (const p of cfg.peers) {
      assert.equal(p.ipv4, undefined);
      const v = parseIPv6(p.ipv6!)!;
      assert.ok(v > prefix && v - prefix < 1n << 64n, `${p.ipv6} within fd00:1:2::/64`);
    }
    // a small IPv6 subnet wraps modulo its size
    const small = parse(lines('name v6', 'subnet fd00::100/120', ...keys.map((k) => `trust ${k}`)));
    for (const p of small.peers) {
      const v = parseIPv6(p.ipv6!)!;
      assert.ok(v > parseIPv6('fd00::100')! && v <= parseIPv6('fd00::1ff')!, p.ipv6);
    }
  });

  test('full small subnet: every usable address is used exactly once', () => {
    const cfg = parse(lines('name a', 'subnet 10.9.9.0/29', ...keys.slice(0, 6).map((k) => `trust ${k}`)));
    assert.deepEqual(cfg.peers.map((p) => p.ipv4).sort(), ['10.9.9.1', '10.9.9.2', '10.9.9.3', '10.9.9.4', '10.9.9.5', '10.9.9.6']);
  });

  test('after 256 colliding candidates, the next free address is used (fallback)', () => {
    // A stand-in hash that always yields index 0 (the network address): every candidate
    // collides, so allocation must fall back to scanning upward.
    const zeroHash = { crypto_generichash: () => new Uint8Array(32) } as unknown as Sodium;
    const cidr = parseCidr('10.0.0.0/29');
    assert.ok(cidr.ok);
    const taken = new Set<bigint>([parseIPv4('10.0.0.1')!]);
    const out = allocateAddresses(zeroHash, cidr.cidr, [parseKey(K(1)), parseKey(K(2))], taken);
    assert.deepEqual(out, [parseIPv4('10.0.0.2'), parseIPv4('10.0.0.3')]);
    assert.equal(taken.size, 3);
  });
});

describe('IP helpers', () => {
  test('IPv6 canonical formatting (RFC 5952)', () => {
    const canon = (s: string): string => formatIPv6(parseIPv6(s)!);
    assert.equal(canon('2001:0DB8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
    assert.equal(canon('::'), '::');
    assert.equal(canon('::1'), '::1');
    assert.equal(canon('1::'), '1::');
    assert.equal(canon('1:0:1:1:1:1:1:1'), '1:0:1:1:1:1:1:1');
    assert.equal(canon('::ffff:1.2.3.4'), '::ffff:102:304');
    assert.equal(canon('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  });

  test('parsing rejects what it should', () => {
    assert.equal(parseIPv4('010.0.0.1'), undefined);
    assert.equal(parseIPv4('1.2.3'), undefined);
    assert.equal(parseIPv6('fe80::1%eth0'), undefined);
    assert.equal(parseIPv6('1:2:3:4:5:6:7:8:9'), undefined);
    assert.equal(parseIp('10.0.0.1')?.family, 4);
    assert.equal(parseIp('::1')?.family, 6);
    assert.equal(parseIp('host'), undefined);
  });
});

describe('lookups and JSON', () => {
  test('findPeerByKey accepts raw bytes and base64; findPeerByHostname is case-insensitive', () => {
    const cfg = parse(lines('name a', 'subnet 10.0.0.0/24', `trust alice ${K(1)}`, `peer bob ${K(2)}`));
    assert.equal(findPeerByKey(cfg, K(2))?.hostname, 'bob');
    assert.equal(findPeerByKey(cfg, parseKey(K(1)))?.hostname, 'alice');
    assert.equal(findPeerByKey(cfg, K(3)), undefined);
    // rev3: the URL-safe unpadded spelling of a key is the same key (as parseKey reads it).
    assert.equal(findPeerByKey(cfg, K(2).replace(/=$/, '').replace(/\+/g, '-').replace(/\//g, '_'))?.hostname, 'bob');
    assert.equal(findPeerByKey(cfg, 'not a key'), undefined);
    assert.equal(findPeerByHostname(cfg, 'ALICE')?.keyB64, K(1));
    assert.equal(findPeerByHostname(cfg, 'carol'), undefined);
  });

  test('configToJSON: keys in base64, allocation flags, endpoints as text', () => {
    const cfg = parse(lines('name a', 'subnet 10.0.0.0/24', `boot ${K(3)} [2001:db8::1]`, `trust alice 10.0.0.9 ${K(1)} [2001:db8::2]:5`, `peer ${K(2)}`));
    const j = JSON.parse(JSON.stringify(configToJSON(cfg)));
    assert.deepEqual(j.subnets, { v4: '10.0.0.0/24' });
    assert.deepEqual(j.boots, [{ key: K(3), host: '2001:db8::1', port: 62096, line: 3 }]);
    assert.deepEqual(j.peers[0], { hostname: 'alice', key: K(1), trusted: true, ipv4: '10.0.0.9', ipv4Allocated: false, ipv6: null, ipv6Allocated: false, endpoint: '[2001:db8::2]:5', line: 4 });
    assert.deepEqual(j.peers[1], { hostname: null, key: K(2), trusted: false, ipv4: null, ipv4Allocated: false, ipv6: null, ipv6Allocated: false, endpoint: null, line: 5 });
  });
});

describe('loadConfig and wh check', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wh-config-test-')); });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const wh = (...args: string[]) => spawnSync(process.execPath, [WH, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });

  test('loadConfig: missing file and directory name the path', async () => {
    const missing = join(dir, 'does-not-exist');
    await assert.rejects(loadConfig(missing), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.issues.length, 1);
      assert.equal(err.issues[0]!.line, undefined);
      assert.equal(err.message, `${missing}: cannot read config file: no such file`);
      return true;
    });
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    await assert.rejects(loadConfig(sub), /a-directory: cannot read config file: is a directory/);
  });

  test('loadConfig: errors carry the path given', async () => {
    const p = join(dir, 'bad1');
    writeFileSync(p, 'name ok\nsubnet 10.0.0.0/24\ntrust 10.0.0.0 ' + K(1) + '\n');
    await assert.rejects(loadConfig(p), (err: unknown) => err instanceof ConfigError && err.message === `${p}:3: address 10.0.0.0 is the network address of 10.0.0.0/24`);
  });

  test('wh check config/example prints the table and exits 0', () => {
    const r = wh('check', 'config/example');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^network:\s+example$/m);
    assert.match(r.stdout, /^namespace:\s+example$/m);
    assert.match(r.stdout, /^workbit:\s+2$/m);
    assert.match(r.stdout, /^subnets:\s+10\.42\.0\.0\/24$/m);
    assert.match(r.stdout, /^127\.0\.0\.1:62096\s+Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=$/m);
    assert.match(r.stdout, /^HOSTNAME\s+IPV4\s+KEY\s+ENDPOINT\s+ROLE$/m);
    assert.match(r.stdout, /^node-a\s+10\.42\.0\.1\s+Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=\s+-\s+trusted$/m);
    assert.match(r.stdout, /^node-b\s+10\.42\.0\.\d+\*\s+HZqh\/b2MRBbjJ05PI7pAuH7gZvNgR\/K\+bYw7BTTKr1k=\s+-\s+trusted$/m);
    assert.match(r.stdout, /^\* allocated/m);
  });

  test('wh check --json prints the parsed config', () => {
    const r = wh('check', '--json', 'config/example');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.name, 'example');
    assert.equal(j.peers.length, 2);
    assert.equal(j.peers[0].key, 'Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=');
    assert.equal(j.peers[1].ipv4Allocated, true);
  });

  test('wh check config/public exits 0', () => {
    const r = wh('check', 'config/public');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^network:\s+public$/m);
    assert.doesNotMatch(r.stdout, /PEERS/);
  });

  test('wh check on a broken file prints every FILE:LINE: reason and exits 1', () => {
    const p = join(dir, 'broken.conf');
    writeFileSync(p, lines('name broken', 'trsut x', 'subnet 10.0.0.0/24', `trust 10.0.0.255 ${K(1)}`));
    const r = wh('check', p);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    const errLines = r.stderr.trimEnd().split('\n');
    assert.equal(errLines[0], `${p}:2: unknown directive "trsut" (did you mean "trust"?)`);
    assert.equal(errLines[1], `${p}:4: address 10.0.0.255 is the broadcast address of 10.0.0.0/24`);
    assert.match(errLines[2]!, /^wh: .*broken\.conf: 2 errors/);
    assert.equal(errLines.length, 3);
    const rj = wh('check', '--json', p);
    assert.equal(rj.status, 1);
    assert.equal(rj.stdout, '');
  });

  test('wh check on a missing file: clear message, exit 1', () => {
    const p = join(dir, 'nope.conf');
    const r = wh('check', p);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `wh: ${p}: cannot read config file: no such file\n`);
  });

  test('wh check without a file is a usage error', () => {
    const r = wh('check');
    assert.equal(r.status, 2);
  });
});

// Seeds (boot lines, peer lines with an endpoint) and trust endpoints written as DNS names
// (src/daemon/seeds.ts), with an injected resolver: no DNS query leaves the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { resolveSeeds, resolveTrustEndpoints, ResolveError, seedDiff, seedLabel, seedsOf, type Lookup } from '../../src/daemon/seeds.js';

const K = ['Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=', 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=', 'XjXjzOBoJIvIpRRRyZdxa+KJTZkwdaRFPowGZplFYGo=', 'yDfXPQ5gmiPJMIxNa4F/F/XVMUGxEfbkJsb5i6VvMEc='];
const sodium = await sodiumReady();
const cfg = (...lines: string[]) => parseConfig(['name t', 'workbit 0', 'subnet 10.0.0.0/24', ...lines].join('\n') + '\n', 't.conf', sodium);
const hosts: Record<string, string> = { 'boot.example': '192.0.2.1', 'b.example': '192.0.2.2', 'v6.example': '2001:db8::2' };
const lookup: Lookup = async (h) => {
  const a = hosts[h];
  if (a === undefined) throw new Error(`getaddrinfo ENOTFOUND ${h}`);
  return a;
};

test('seeds: boot lines and peer lines with an endpoint, not ourselves, not trusted peers', () => {
  const c = cfg(`boot ${K[0]} boot.example`, `boot ${K[2]} 192.0.2.9:7000`, `trust a ${K[2]}`, `trust b ${K[1]} 192.0.2.5:62096`, `peer p ${K[3]} 192.0.2.7:62096`);
  const s = seedsOf(c, K[2]!);
  assert.deepEqual(s.map((x) => [x.boot, seedLabel(x)]), [[true, 'boot.example:62096'], [false, '192.0.2.7:62096']]);
});

test('seedDiff: what a reload adds and removes', () => {
  const before = cfg(`boot ${K[0]} 192.0.2.1`, `trust a ${K[2]}`);
  const after = cfg(`boot ${K[1]} 192.0.2.2`, `trust a ${K[2]}`, `peer p ${K[3]} 192.0.2.7:62096`);
  const d = seedDiff(before, after, K[2]!);
  assert.deepEqual(d.added.map(seedLabel), ['192.0.2.2:62096', '192.0.2.7:62096']);
  assert.deepEqual(d.removed.map(seedLabel), ['192.0.2.1:62096']);
  assert.deepEqual(seedDiff(after, after, K[2]!), { added: [], removed: [] });
});

test('resolveSeeds: names resolved, failures listed (not thrown)', async () => {
  const c = cfg(`boot ${K[0]} boot.example`, `boot ${K[1]} gone.example`, `trust a ${K[2]}`);
  const r = await resolveSeeds(seedsOf(c, K[2]!), lookup);
  assert.deepEqual(r.nodes.map((n) => n.addr), [{ host: '192.0.2.1', port: 62096 }]);
  assert.match(r.failed[0]!, /gone\.example:62096: cannot resolve gone\.example/);
});

test('resolveTrustEndpoints: DNS names become addresses; one that does not resolve refuses the config', async () => {
  const c = cfg(`trust a ${K[2]} b.example:62096`, `trust b ${K[1]} v6.example:7000`, `trust c ${K[0]} 192.0.2.3:62096`);
  const r = await resolveTrustEndpoints(c, lookup);
  assert.deepEqual(r.peers.map((p) => p.endpoint), [
    { host: '192.0.2.2', kind: 'ipv4', port: 62096 }, { host: '2001:db8::2', kind: 'ipv6', port: 7000 }, { host: '192.0.2.3', kind: 'ipv4', port: 62096 }]);
  const bad = cfg(`trust a ${K[2]} nosuch.invalid:62096`);
  await assert.rejects(resolveTrustEndpoints(bad, lookup), (e: unknown) => e instanceof ResolveError && /t\.conf:4: the endpoint nosuch\.invalid:62096 of a does not resolve/.test(e.message));
});

test('seeds: a ws:// boot line of a key that also has a UDP line is a fallback; a ws:// line alone is not', () => {
  const c = cfg(`boot ${K[0]} 192.0.2.1:62096`, `boot ${K[0]} ws://192.0.2.1:8080/`, `boot ${K[1]} ws://192.0.2.2/`, `trust a ${K[2]}`);
  const s = seedsOf(c, K[2]!);
  assert.deepEqual(s.map((x) => [seedLabel(x), x.ws ?? null, x.fallback ?? false]), [
    ['192.0.2.1:62096', null, false], ['192.0.2.1:8080', 'ws://192.0.2.1:8080/', true], ['192.0.2.2:80', 'ws://192.0.2.2/', false],
  ]);
});

test('resolveSeeds: a ws:// line is a WebSocket address, never a UDP one (even at the same ip:port); an IPv4-mapped line is its IPv4 address', async () => {
  const c = cfg(`boot ${K[0]} 192.0.2.1:443`, `boot ${K[0]} ws://192.0.2.1:443/`, `boot ${K[1]} [::ffff:192.0.2.2]:62096`, `boot ${K[3]} ws://[::ffff:192.0.2.3]:80/`, `trust a ${K[2]}`);
  const r = await resolveSeeds(seedsOf(c, K[2]!), lookup);
  const by = (k: string) => r.nodes.filter((n) => n.seed.keyB64 === k).map((n) => n.addr);
  // (A dual-stack socket reports an IPv4 source as 192.0.2.2: the line must be that address.)
  assert.deepEqual(by(K[0]!), [{ host: '192.0.2.1', port: 443 }, { host: '192.0.2.1', port: 443, via: 'ws' }]);
  assert.deepEqual(by(K[1]!), [{ host: '192.0.2.2', port: 62096 }]);
  assert.deepEqual(by(K[3]!), [{ host: '192.0.2.3', port: 80, via: 'ws' }]);
});

// Per-source limits over IPv6 key on the /64 (src/proto/addr.ts sourceKey): an attacker with
// a prefix holds 2^64 addresses but one source. Checked on the key itself, on a bucket
// keyed by it (as src/dht/rpc.ts and admission.ts key theirs) and on the relay's session quota.
// Also: the relay's kernel path has no route for IPv6 members (the daemons relay them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceKey } from '../../src/proto/addr.js';
import { RelaySessions } from '../../src/relay/sessions.js';
import { RateLimiter } from '../../src/util/ratelimit.js';
import { parseRouteGet, routeTo } from '../../src/firewall/relayforward.js';

test('sourceKey: IPv4 is itself, IPv4-mapped is its IPv4, IPv6 is its /64 in canonical text', () => {
  assert.equal(sourceKey('20.0.1.1'), '20.0.1.1');
  assert.equal(sourceKey('::ffff:20.0.1.1'), '20.0.1.1');
  assert.equal(sourceKey('2001:db8:0:3::1'), '2001:db8:0:3::/64');
  assert.equal(sourceKey('2001:DB8:0:3:ffff:1:2:3'), '2001:db8:0:3::/64');
  assert.equal(sourceKey('2001:db8:0:4::1'), '2001:db8:0:4::/64');
  assert.equal(sourceKey('::1'), '::/64');
  assert.equal(sourceKey('fe80::1'), 'fe80::/64');
  assert.equal(sourceKey('not-an-ip'), 'not-an-ip');
});

test('a per-source bucket is shared by every address of one /64, not by another /64', () => {
  const l = new RateLimiter(1, 3, 100);
  const hosts = Array.from({ length: 10 }, (_, i) => `2001:db8:0:3::${(i + 1).toString(16)}`);
  const passed = hosts.filter((h) => l.take(sourceKey(h), 0)).length;
  assert.equal(passed, 3, 'ten addresses of one /64 got the burst of one source');
  assert.equal(l.take(sourceKey('2001:db8:0:4::1'), 0), true, 'a neighbour /64 has its own bucket');
});

test('relay: the per-source session quota counts a /64 as one source', () => {
  const s = new RelaySessions(256, 60_000, { perKey: 32, perSource: 2, halfOpenMs: 10_000, activeMs: 10_000 });
  const key = (i: number) => i.toString(16).padStart(64, '0');
  assert.equal(s.open(key(1), key(100), { host: '2001:db8:0:3::1', port: 1 }, 0), 'ok');
  assert.equal(s.open(key(2), key(101), { host: '2001:db8:0:3::2', port: 1 }, 0), 'ok');
  assert.equal(s.open(key(3), key(102), { host: '2001:db8:0:3::dead', port: 1 }, 0), 'quota', 'a third address of the same /64');
  assert.equal(s.open(key(3), key(102), { host: '2001:db8:0:5::1', port: 1 }, 0), 'ok', 'another /64');
});

test('relay kernel path: no route for an IPv6 member, so its session stays with the daemons', async () => {
  assert.equal(await routeTo('2001:db8:0:3::1'), undefined);
  assert.equal(await routeTo('::1'), undefined);
  // Even where the kernel's route to an IPv4 member goes through an IPv6 next hop (RFC 5549).
  assert.equal(parseRouteGet(JSON.stringify([{ type: 'unicast', dev: 'eth0', gateway: 'fe80::1' }]), '198.51.100.7'), undefined);
  assert.deepEqual(parseRouteGet(JSON.stringify([{ type: 'unicast', dev: 'eth0', gateway: '10.0.0.1' }]), '198.51.100.7'), { dev: 'eth0', via: '10.0.0.1' });
});

// The trusted peers' list (src/daemon/peers.ts): a reload's difference; and WireGuard's session
// test (src/wg/session.ts). Where a peer is reached is its path machine's (pathmachine*.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasSession } from '../../src/wg/session.js';
import { diffPeers, peerHex, type TrustedPeer } from '../../src/daemon/peers.js';

const peer = (n: number, ipv4 = `10.0.0.${n}`): TrustedPeer => {
  const key = new Uint8Array(32).fill(n);
  return { key, keyB64: Buffer.from(key).toString('base64'), hostname: `p${n}`, ipv4 };
};
const map = (ps: TrustedPeer[]) => new Map(ps.map((p) => [peerHex(p), p]));

test('diffPeers reports added, removed and changed peers (by key); an unchanged peer is none of them', () => {
  const diff = diffPeers(map([peer(1), peer(2)]), [peer(1), peer(2, '10.0.0.99'), peer(3)]);
  assert.deepEqual(diff.added.map((p) => p.hostname), ['p3']);
  assert.deepEqual(diff.removed, []);
  assert.deepEqual(diff.changed.map((c) => [c.before.ipv4, c.after.ipv4]), [['10.0.0.2', '10.0.0.99']]);
  const diff2 = diffPeers(map([peer(1), peer(2), peer(3)]), [peer(3)]);
  assert.deepEqual(diff2.removed.map((p) => p.hostname).sort(), ['p1', 'p2']);
  assert.deepEqual(diff2.added, []);
  assert.deepEqual(diff2.changed, []);
  assert.deepEqual(diffPeers(map([peer(4)]), [{ ...peer(4), hostname: 'renamed' }]).changed.map((c) => c.after.hostname), ['renamed']);
});

test('hasSession: a handshake less than 180 s old', () => {
  assert.equal(hasSession(0, 1_000_000), false);
  assert.equal(hasSession(1000, 1_000_000), true);
  assert.equal(hasSession(1000, 1_179_999), true);
  assert.equal(hasSession(1000, 1_180_000), false);
});

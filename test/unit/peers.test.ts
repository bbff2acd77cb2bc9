// The trusted-peer state machine, driven with explicit times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeWatch, hasSession } from '../../src/daemon/handshake.js';
import { HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_SECOND } from '../../src/params.js';
import { PeerTracker, describePath, type TrustedPeer } from '../../src/daemon/peers.js';
import { PEER_OFFLINE_AFTER, PEER_RECHECK, PEER_SEARCH_MAX, PEER_SEARCH_MIN } from '../../src/params.js';

const peer = (n: number, ipv4 = `10.0.0.${n}`): TrustedPeer => {
  const key = new Uint8Array(32).fill(n);
  return { key, keyB64: Buffer.from(key).toString('base64'), hostname: `p${n}`, ipv4 };
};
const hex = (p: TrustedPeer) => Buffer.from(p.key).toString('hex');
const a = { host: '192.0.2.1', port: 62096 };

test('a new peer is due at once, searched with back-off, shown offline after repeated failures, and never given up', () => {
  const t = new PeerTracker([peer(1)], 0);
  let due = t.due(0);
  assert.equal(due.length, 1);
  assert.equal(t.due(0).length, 0, 'busy until reported back');
  const delays: number[] = [];
  let now = 0;
  for (let i = 0; i < 8; i++) {
    t.searchFailed(hex(peer(1)), now);
    const st = t.get(hex(peer(1)))!;
    delays.push(st.nextAt - now);
    assert.equal(t.due(st.nextAt - 1).length, 0);
    now = st.nextAt;
    due = t.due(now);
    assert.equal(due.length, 1, 'still searched');
    if (i + 1 >= PEER_OFFLINE_AFTER) assert.equal(st.path, 'offline');
    else assert.equal(st.path, 'searching');
  }
  assert.equal(delays[0], PEER_SEARCH_MIN);
  assert.equal(delays[1], 2 * PEER_SEARCH_MIN);
  assert.equal(Math.max(...delays), PEER_SEARCH_MAX);
});

test('located peers are direct, re-checked periodically, and searched again after two failed checks', () => {
  const t = new PeerTracker([peer(1)], 0);
  t.due(0);
  assert.equal(t.located(hex(peer(1)), a, 100, 3), true);
  assert.equal(t.due(PEER_RECHECK * 10).length, 0, 'still busy: the visit that located it releases it');
  t.release(hex(peer(1)));
  assert.equal(t.located(hex(peer(1)), a, 200), false, 'same endpoint: no change');
  const st = t.get(hex(peer(1)))!;
  assert.equal(describePath(st), 'direct 192.0.2.1:62096');
  assert.equal(t.due(200 + PEER_RECHECK - 1).length, 0);
  assert.equal(t.due(200 + PEER_RECHECK).length, 1);
  t.checkFailed(hex(peer(1)), 30_000);
  assert.equal(st.path, 'direct');
  t.due(st.nextAt);
  t.checkFailed(hex(peer(1)), 31_000);
  assert.equal(st.path, 'searching');
  assert.equal(t.located(hex(peer(1)), { host: '192.0.2.9', port: 1 }, 32_000), true, 'new endpoint');
});

test('setPeers reports added, removed and changed peers and keeps the state of the others', () => {
  const t = new PeerTracker([peer(1), peer(2)], 0);
  t.located(hex(peer(1)), a, 10);
  const diff = t.setPeers([peer(1), peer(2, '10.0.0.99'), peer(3)], 20);
  assert.deepEqual(diff.added.map((p) => p.hostname), ['p3']);
  assert.deepEqual(diff.removed, []);
  assert.deepEqual(diff.changed.map((c) => c.after.ipv4), ['10.0.0.99']);
  assert.equal(t.get(hex(peer(1)))?.path, 'direct', 'kept');
  const diff2 = t.setPeers([peer(3)], 30);
  assert.deepEqual(diff2.removed.map((p) => p.hostname).sort(), ['p1', 'p2']);
  assert.equal(t.all().length, 1);
});

test('a search that fails after the peer was located meanwhile changes nothing', () => {
  const t = new PeerTracker([peer(1)], 0);
  t.due(0);
  t.located(hex(peer(1)), a, 10);
  for (let i = 0; i < PEER_OFFLINE_AFTER + 2; i++) t.searchFailed(hex(peer(1)), 20 + i);
  const st = t.get(hex(peer(1)))!;
  assert.equal(st.path, 'direct');
  assert.equal(st.failures, 0);
  assert.equal(st.busy, false);
});

// ---- crossed handshakes (src/daemon/handshake.ts) -------------------------------------------------

test('HandshakeWatch: the smaller key looks first, the other later; each expectation is due once', () => {
  const low = new HandshakeWatch('10'), high = new HandshakeWatch('90');
  low.expect('90', 0);
  high.expect('10', 0);
  assert.deepEqual(low.due(HANDSHAKE_REPAIR_FIRST - 1), []);
  assert.deepEqual(low.due(HANDSHAKE_REPAIR_FIRST), ['90']);
  assert.deepEqual(low.due(HANDSHAKE_REPAIR_FIRST + 10_000), [], 'due once');
  assert.ok(HANDSHAKE_REPAIR_SECOND > HANDSHAKE_REPAIR_FIRST);
  assert.deepEqual(high.due(HANDSHAKE_REPAIR_FIRST), []);
  assert.deepEqual(high.due(HANDSHAKE_REPAIR_SECOND), ['10']);
  // A newer expectation replaces the older one; forget() drops it.
  low.expect('90', 0);
  low.expect('90', 500);
  assert.deepEqual(low.due(HANDSHAKE_REPAIR_FIRST), []);
  assert.deepEqual(low.due(500 + HANDSHAKE_REPAIR_FIRST), ['90']);
  low.expect('90', 0);
  low.forget('90');
  assert.equal(low.size, 0);
});

test('hasSession: a handshake less than 180 s old', () => {
  assert.equal(hasSession(0, 1_000_000), false);
  assert.equal(hasSession(1000, 1_000_000), true);
  assert.equal(hasSession(1000, 1_179_999), true);
  assert.equal(hasSession(1000, 1_180_000), false);
});

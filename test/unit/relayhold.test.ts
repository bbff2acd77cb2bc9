// A relay holds the latest WireGuard datagram a member sent into a session the other member has
// not opened yet, and forwards it when that member opens (src/relay/server.ts): the first
// initiation through a new relay link usually arrives before the peer's half, and wireguard-go
// sends no other for 5 s. Real DhtNodes and a real relay (Traversal) over fake transports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import type { Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { Traversal } from '../../src/nat/traversal.js';
import { RELAY_PENDING_HOLD } from '../../src/params.js';
import { advance, collectRelayed, FakeNet, initiation, openRelaySession, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const NS = 'relayhold-test';
const R_ADDR: Addr = { host: '192.0.2.1', port: 62096 };

function world() {
  const clock = new VirtualClock(), net = new FakeNet();
  const node = (addr: Addr) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NS, transport: net.bind(addr), clock, refresh: false });
  const R = node(R_ADDR), A = node({ host: '198.51.100.1', port: 51820 }), B = node({ host: '198.51.100.2', port: 51820 });
  const relay = new Traversal({
    dht: R, clock, log: quietLog(), isTrusted: () => false, canRelay: () => true, wgPort: undefined, relayReady: () => undefined,
    announceAddr: () => undefined, isDirect: () => false, isRendezvous: () => false, relayCandidates: () => [],
  });
  const got = collectRelayed(B);
  const open = (from: DhtNode, to: DhtNode) => openRelaySession(clock, R_ADDR, R, from, to);
  const send = (d: Uint8Array) => A.rpc.send(R_ADDR, R.id, { t: 'relay', k: B.id, d });
  const close = async () => { await relay.close(); for (const n of [R, A, B]) n.close(); };
  return { clock, R, A, B, got, open, send, close };
}

test('a datagram into a session its peer has not opened yet is held, and the latest one is forwarded when the peer opens', async () => {
  const w = world();
  try {
    await w.open(w.A, w.B);
    w.send(initiation(1));
    w.send(initiation(2));
    await advance(w.clock, 300);
    assert.equal(w.got.length, 0, 'nothing reaches B before it opened');
    assert.equal(w.R.counters.get('relay-held'), 2);
    await w.open(w.B, w.A);
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [2], 'B gets the latest datagram once');
    assert.deepEqual([...w.got[0]!.k], [...w.A.id], 'from A');
    w.send(initiation(3));
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [2, 3], 'then forwarded as usual');
  } finally {
    await w.close();
  }
});

test('a held datagram older than RELAY_PENDING_HOLD is not forwarded; nothing is held for a sender that opened no session', async () => {
  const w = world();
  try {
    w.send(initiation(9)); // A opened nothing
    await advance(w.clock, 50);
    assert.equal(w.R.counters.get('relay-held') ?? 0, 0, 'not held without a session');
    assert.equal(w.R.counters.get('relay-no-session'), 1);
    await w.open(w.A, w.B);
    w.send(initiation(1));
    await advance(w.clock, RELAY_PENDING_HOLD + 100);
    await w.open(w.B, w.A);
    await advance(w.clock, 50);
    assert.equal(w.got.length, 0, 'too old: dropped');
  } finally {
    await w.close();
  }
});

test('one datagram held per half-open session: repeated sends replace it (sessions are bounded by RELAY_MAX_SESSIONS)', async () => {
  const w = world();
  try {
    await w.open(w.A, w.B);
    for (let i = 0; i < 50; i++) w.send(initiation(i));
    await advance(w.clock, 100);
    assert.equal(w.R.counters.get('relay-held'), 50);
    await w.open(w.B, w.A);
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [49], 'one datagram for the session, the latest');
  } finally {
    await w.close();
  }
});

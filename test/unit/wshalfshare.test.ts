// The relay's daemon-path budget (src/relay/server.ts `budget`, src/relay/fair.ts) over sessions
// half in the kernel (src/relay/kernel.ts forwardToWs: a UDP member bound to the session's port,
// the other member over WebSocket), each member's datagrams on the port taken by the relay's
// daemon. Real RelayServer and DhtNode over the fake net, one virtual clock.
// 1. Attack: K sessions flooding their ports at one instant. Before, the port-to-WebSocket
//    direction was limited by the kernel path's own fair share, counted over the sessions the
//    kernel forwards (none of these: they are half), so each session got the whole
//    RELAY_SESSION_PPS and together K times it, past RELAY_GLOBAL_PPS. Now both directions take
//    from the daemon path's budget: the session's fair share, and the global rate.
// 2. An idle session does not take a busy one's share: the rate is divided among the sessions
//    that relayed through the daemon in the last RELAY_SHARE_ACTIVE (before, among all
//    established ones: one busy session among 4 got RELAY_GLOBAL_PPS / 4).
// 3. Sessions that all flood share the global rate evenly, and one that wakes up gets its share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { RELAY_GLOBAL_PPS, RELAY_SESSION_PPS, RELAY_SHARE_ACTIVE, RELAY_SHARE_RECOUNT } from '../../src/params.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const hex = () => Buffer.from(generateSecret(sodium).subarray(0, 32)).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

/** A relay with K sessions half in the kernel; `toWs[k]` counts what session k's WebSocket member got. */
async function world(K: number) {
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'wshalfshare', transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
  const ports = new Map<number, FakeTransport>();
  let nextPort = 41000;
  const ws = new Map<string, number>();
  const toWs = new Array<number>(K).fill(0);
  const server = new RelayServer({
    dht: R, log: quietLog(), clock, canRelay: () => true,
    forward: {
      install: async () => undefined, remove: async () => undefined, route: async () => ({ dev: 'eth0', via: '10.0.0.1' }),
      openPort: async () => { const port = nextPort++; const transport = net.bind({ host: '192.0.2.1', port }); ports.set(port, transport); return { port, transport }; },
    },
    wsFrom: (to) => { const k = ws.get(addrKey(to)); if (k === undefined) return false; toWs[k]!++; return true; },
    wsCarries: (a) => ws.has(addrKey(a)),
  });
  const bound: { port: number; from: Addr }[] = [];
  for (let k = 0; k < K; k++) {
    // A UDP member U (bound to the port from its own address) and a WebSocket member W.
    const u = hex(), w = hex(), uAddr = { host: `203.0.113.${10 + k}`, port: 51820 }, wAddr = { host: `198.51.100.${10 + k}`, port: 40000 + k };
    ws.set(addrKey(wAddr), k);
    assert.equal(server.sessions.open(u, w, uAddr, 0), 'ok');
    assert.equal(server.sessions.open(w, u, wAddr, 0), 'ok');
    const port = (await server.kernel!.portFor(u, w))!;
    assert.ok(server.sessions.bind(u, w, port, uAddr, 0));
    bound.push({ port, from: uAddr });
  }
  /** `n` datagrams on session k's port from its bound member, now. */
  const send = (k: number, n: number) => { const b = bound[k]!; for (let i = 0; i < n; i++) ports.get(b.port)!.receiver!(wg(), b.from); };
  /** For `ms` of the clock, every 10 ms: `perStep` datagrams on each port of `ks`. */
  const flood = async (ks: number[], ms: number, perStep: number) => {
    for (let t = 0; t < ms; t += 10) {
      for (const k of ks) send(k, perStep);
      await clock.run(10);
    }
  };
  const close = async () => { await server.close(); R.close(); };
  return { clock, R, send, flood, toWs, close };
}

test('attack: K sessions half in the kernel flooding their ports get the relay\'s budget between them, not K times a session\'s', async () => {
  const K = 4, N = 6000;
  const w = await world(K);
  try {
    // N datagrams on each port at one instant (the burst).
    for (let k = 0; k < K; k++) w.send(k, N);
    const total = w.toWs.reduce((a, b) => a + b, 0);
    const share = Math.min(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS / K);
    process.stdout.write(`# ${K} half sessions x ${N} datagrams at once: ${total} to their WebSocket members (a session's burst ${share / 10}; ${w.R.rpc.counters.get('relay-port-rate-limited')} dropped)\n`);
    assert.equal(total, K * (share / 10), 'each session its fair share of the relay\'s budget');
    assert.ok(total <= RELAY_GLOBAL_PPS / 10, `${total}: more than the relay's own burst share`);
  } finally {
    await w.close();
  }
});

test('an idle session does not take a busy one\'s share: one of 4 sessions flooding gets RELAY_SESSION_PPS, not RELAY_GLOBAL_PPS / 4', async () => {
  const K = 4;
  const w = await world(K);
  try {
    // The sessions are made at 0 (counted as used then): past RELAY_SHARE_ACTIVE and a recount.
    await w.clock.run(RELAY_SHARE_ACTIVE + RELAY_SHARE_RECOUNT);
    // 1000 datagrams every 10 ms (100 000/s) for 3 s on session 0; counted over the last 2 s.
    await w.flood([0], 1000, 1000);
    const before = w.toWs[0]!;
    await w.flood([0], 2000, 1000);
    const perSec = (w.toWs[0]! - before) / 2;
    process.stdout.write(`# one busy session of ${K}: ${perSec} datagrams/s relayed (RELAY_SESSION_PPS ${RELAY_SESSION_PPS}, RELAY_GLOBAL_PPS / ${K} = ${RELAY_GLOBAL_PPS / K})\n`);
    assert.ok(perSec >= 0.95 * RELAY_SESSION_PPS && perSec <= RELAY_SESSION_PPS * 1.01, `${perSec}/s`);
    assert.deepEqual(w.toWs.slice(1), [0, 0, 0]);
  } finally {
    await w.close();
  }
});

test('sessions that all flood share the global rate evenly; one that wakes up while others flood gets its share within a recount', async () => {
  const K = 4;
  const w = await world(K);
  try {
    await w.clock.run(RELAY_SHARE_ACTIVE + RELAY_SHARE_RECOUNT);
    // Sessions 0..2 flood for 2 s: three active, each min(RELAY_SESSION_PPS, global / 3).
    await w.flood([0, 1, 2], 2000, 1000);
    // Then all four, for 3 s: counted over the last 2 s, each RELAY_GLOBAL_PPS / 4.
    await w.flood([0, 1, 2, 3], 1000, 1000);
    const before = [...w.toWs];
    await w.flood([0, 1, 2, 3], 2000, 1000);
    const perSec = w.toWs.map((n, k) => (n - before[k]!) / 2);
    const share = Math.min(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS / K);
    process.stdout.write(`# ${K} busy sessions: ${perSec.join(', ')} datagrams/s each (share ${share})\n`);
    for (const p of perSec) assert.ok(p >= 0.95 * share && p <= share * 1.01, `${p}/s of a ${share}/s share`);
    assert.ok(perSec.reduce((a, b) => a + b, 0) <= RELAY_GLOBAL_PPS * 1.01, 'within the global rate');
  } finally {
    await w.close();
  }
});

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
import { RELAY_GLOBAL_PPS, RELAY_SESSION_PPS, RELAY_SHARE_ACTIVE, RELAY_SHARE_RECOUNT } from '../../src/params.js';
import { halfWorld } from './halfworld.js';

/** The relay of halfWorld; `flood` sends, every 10 ms of the clock for `ms`, `perStep` datagrams on each port of `ks`. */
async function world(K: number) {
  const w = await halfWorld(K, 'wshalfshare');
  const flood = async (ks: number[], ms: number, perStep: number) => {
    for (let t = 0; t < ms; t += 10) {
      for (const k of ks) w.send(k, perStep);
      await w.clock.run(10);
    }
  };
  return { ...w, flood };
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

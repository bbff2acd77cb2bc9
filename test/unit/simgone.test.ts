// A peer that goes away (its daemon stopped, no goodbye), with whole daemons in the simulator
// (src/sim/daemons.ts, as test/unit/simnodes.test.ts). The boot nodes keep its DHT entries, so
// a lookup still "finds" it and a rendezvous still answers punch-ok and opens a relay session
// to it; yet the node left behind must show it `searching` once its path was judged dead, then
// `offline`, within the bounds below, never `relay` again (no packet of the peer comes through
// any relay) and without the round-trip time of its last direct pong. Watched for WATCH, past
// the first relay holds' end (RELAY_HOLD_MIN), when the stale entries are tried again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { done, logs, pingUntil, untilPath, world, type Kind } from './simpair.js';
import {
  NAT_KEEPALIVE_SECONDS, PATH_RELAY_HEARD_TIMEOUT, PATH_SEARCH_JITTER, PEER_OFFLINE_AFTER, PEER_SEARCH_MIN, PEER_TICK, RELAY_HOLD_MIN, WG_SILENT_DEAD,
} from '../../src/params.js';

/** How often `wh show` is read. */
const POLL = 250;
/** The path is left once WireGuard's sends went unanswered WG_SILENT_DEAD: the first of them
 *  comes within a keepalive interval (the relay's and a NAT'd node's: NAT_KEEPALIVE_SECONDS),
 *  and the guard samples every PEER_TICK. */
const LEFT_BOUND = NAT_KEEPALIVE_SECONDS * 1000 + WG_SILENT_DEAD + 2 * PEER_TICK + POLL;
/** One attempt (lookup, the pings' PATH_PUNCH_AFTER, the punch's probes, a relay opened from the
 *  stale entry) takes at most this long in the simulator before the relay is waited on. */
const ATTEMPT = 5000;
/** Offline after PEER_OFFLINE_AFTER failed attempts, each waiting PATH_RELAY_HEARD_TIMEOUT on
 *  its relay, with the back-offs between them (jittered). */
let backoffs = 0;
for (let i = 1; i < PEER_OFFLINE_AFTER; i++) backoffs += PEER_SEARCH_MIN * 2 ** (i - 1) * (1 + PATH_SEARCH_JITTER);
const OFFLINE_BOUND = PEER_OFFLINE_AFTER * (PATH_RELAY_HEARD_TIMEOUT + ATTEMPT) + backoffs;
const WATCH = LEFT_BOUND + RELAY_HOLD_MIN + 30_000;

interface Seen { at: number; path: string; rttMs: number | null; relay: string | null }

/** One run; the changes of a's view of b after b stopped, one line. */
async function goneRun(a: Kind, b: Kind, expected: 'direct' | 'relay', seed: number): Promise<string> {
  const x = await world(a, b, seed);
  const { w, A, B } = x;
  try {
    assert.ok((await pingUntil(w, A, B, 20_000)) !== undefined, `the first ping\n${logs(x)}`);
    assert.ok((await untilPath(w, [A, B], expected, 20_000)) !== undefined, `both ${expected}\n${logs(x)}`);
    await w.stop(B);
    const t0 = w.clock.now();
    const seen: Seen[] = [];
    while (w.clock.now() - t0 < WATCH) {
      const p = (await A.show()).peers[0]!;
      seen.push({ at: w.clock.now() - t0, path: p.path, rttMs: p.rttMs, relay: p.relay });
      await w.clock.run(POLL);
    }
    const changes = seen.filter((s, i) => i === 0 || s.path !== seen[i - 1]!.path || s.rttMs !== seen[i - 1]!.rttMs || s.relay !== seen[i - 1]!.relay);
    const line = `${a} ↔ ${b} (seed ${seed}): ${changes.map((s) => `${(s.at / 1000).toFixed(2)} s ${s.path}${s.rttMs !== null ? ` rtt ${s.rttMs}` : ''}${s.relay !== null ? ' (relay key)' : ''}`).join(', ')}`;
    const story = `${line}\n${logs(x)}`;
    const left = seen.findIndex((s) => s.path !== expected);
    assert.ok(left >= 0 && seen[left]!.at <= LEFT_BOUND, `b leaves ${expected} within ${LEFT_BOUND} ms\n${story}`);
    const after = seen.slice(left);
    assert.deepEqual(after.filter((s) => s.path !== 'searching' && s.path !== 'offline'), [], `only searching or offline once the path was lost\n${story}`);
    assert.deepEqual(after.filter((s) => s.rttMs !== null || s.relay !== null), [], `no round-trip time and no relay shown once the path was lost\n${story}`);
    const offline = after.findIndex((s) => s.path === 'offline');
    assert.ok(offline >= 0 && after[offline]!.at - after[0]!.at <= OFFLINE_BOUND, `offline within ${OFFLINE_BOUND} ms of leaving ${expected}\n${story}`);
    assert.ok(after.slice(offline).every((s) => s.path === 'offline'), `and offline from then on\n${story}`);
    // The case this test is about: relays were opened to b from the boot nodes' stale entries.
    const opened = A.log.filter((l) => Number(l.split(' ')[0]) * 1000 > t0 && /relay: \w+ via /.test(l));
    assert.ok(opened.length > 0, `a relay was opened to b after it stopped (the stale DHT entries)\n${story}`);
    return line;
  } finally {
    await done(x);
  }
}

for (const [a, b, expected] of [['port-restricted', 'port-restricted', 'direct'], ['symmetric', 'symmetric', 'relay'], ['port-restricted', 'symmetric', 'relay']] as const) {
  test(`a ${expected} peer (${a} ↔ ${b}) stops: searching within the bound, then offline, never relay again, no stale round-trip time`, async (t) => {
    for (const seed of [1, 2]) t.diagnostic(await goneRun(a, b, expected, seed));
  });
}

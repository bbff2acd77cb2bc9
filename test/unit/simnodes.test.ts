// The NAT grid with whole daemons, without root (src/sim/daemons.ts): real Daemons (the real
// DHT, NAT monitor, path finding, punch and relay code) behind simulated routers of each kind
// (src/sim/nat.ts) with two public boot nodes, a fake WireGuard as the data plane
// (src/sim/dataplane.ts), on the virtual clock. As bench:connect does in micronet with real
// NATs and WireGuard: the boot nodes are up, both nodes start at the same moment, then one
// pings the other over the overlay until an echo comes back (within 1 s of its request, as
// `ping -W1`), then the other way. Times are virtual seconds after both nodes started.
// (a) the 21 pairs: each ends on the path test/e2e/natgrid.ts expects (relay for
//     port-restricted × symmetric and symmetric × symmetric, direct for the others), and its
//     first ping comes within FIRST_PING_BOUND;
// (b) failover: the relay of a relayed pair dies; the pair moves to the other boot node and
//     pings pass again;
// (c) upgrade: a relayed pair goes direct once it can: the port-restricted NAT's filtering
//     relaxes (to endpoint-independent), or the symmetric NAT starts answering UPnP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { done, logs, pairs, pathOf, pingUntil, runPair, untilPath, world, type Kind, type Row, type World } from './simpair.js';
import { DIRECT_RETRY_MAX, NAT_CHECK_INTERVAL, PEER_TICK, PORTMAP_RETRY, RELAY_RENEW, RELAY_RENEW_RETRIES, RELAY_RENEW_TIMEOUT } from '../../src/params.js';

/** Every pair's first ping within this many virtual ms of the later node's start (bench:connect's
 *  target). Measured with bench/simconnect.ts (first pings, virtual s): with lookup, punch and
 *  relay one after the other, 0.2-0.9 s direct, 4.7-4.9 s for the pairs with a UPnP-mapped
 *  symmetric node, 7.1-7.2 s relayed; with relay and punch racing (the path machine), at most
 *  1.13 s in 167 runs of this grid and 2.84 s in one, 12.0 s in one of 1260 staggered runs:
 *  initiations arriving out of order, which the fake WireGuard took and wireguard-go drops.
 *  With that modelled, and wireguard-go's 5 s without initiations after a failed attempt, and
 *  issue 10's follow-up (a throttled punch-notify still followed, the relay holding a half-open
 *  session's datagram, the repeated handshake repair): at most 1.26 s in 2100 runs started
 *  together, 1.91 s in 1260 runs started up to 1 s apart (and in 400 more of the relayed
 *  pairs); this grid: 1.80 s. See docs/NAT.md "Issue 10's follow-up". */
const FIRST_PING_BOUND = 2000;
/** The rounds' starts: the ms between the two nodes' starts (a first when positive), as two
 *  `wh up` in micronet that never return at the same moment. */
const STAGGERS = [0, 0, 300, -300, 700, -700, 1000, -1000];
/** A dead relay is noticed at the next renewal (every RELAY_RENEW, each try RELAY_RENEW_TIMEOUT),
 *  and the link moves at once; WireGuard's next datagrams go through the new relay. */
const FAILOVER_BOUND = RELAY_RENEW + (1 + RELAY_RENEW_RETRIES) * RELAY_RENEW_TIMEOUT + 1000;
/** A relayed peer is searched for a direct path again within DIRECT_RETRY_MAX (± 50 %); the
 *  punch then takes a second or two. */
const UPGRADE_BOUND = 1.5 * DIRECT_RETRY_MAX + 5000;
/** A node without a gateway asks again every PORTMAP_RETRY, at its NAT check (every
 *  NAT_CHECK_INTERVAL); then the upgrade as above. */
const UPNP_UPGRADE_BOUND = PORTMAP_RETRY + NAT_CHECK_INTERVAL + UPGRADE_BOUND;
/** The grid is run this many times, each with other seeds (other keys, delays and random
 *  ports): a race between the two sides (which rendezvous answers first, whose handshake
 *  crosses whose) shows up in some runs only. */
const GRID_ROUNDS = STAGGERS.length;

test(`the 21-pair grid with whole daemons, ${GRID_ROUNDS} times with other seeds and starts: every pair ends on its expected path and has its first ping within the bound`, async (t) => {
  const rounds: Row[][] = [];
  const wrong: string[] = [];
  for (let round = 0; round < GRID_ROUNDS; round++) {
    const rows: Row[] = [];
    let i = 0;
    for (const [a, b] of pairs()) {
      const seed = 1000 * round + ++i;
      const { row, log } = await runPair(a, b, seed, { stagger: STAGGERS[round]! });
      rows.push(row);
      const bad = row.seen !== row.expected || row.first === undefined || row.back === undefined || row.first * 1000 > FIRST_PING_BOUND;
      if (bad) wrong.push(`${a} ↔ ${b} (seed ${seed}, stagger ${STAGGERS[round]}): ${JSON.stringify(row)}\n${log}`);
    }
    rounds.push(rows);
  }
  const worst = (k: number) => Math.max(...rounds.map((rows) => rows[k]!.first ?? Infinity));
  const table = ['| pair | expected | seen (first run) | first ping (s), first run | back (s) | first ping (s), worst of all runs |', '|---|---|---|---|---|---|',
    ...rounds[0]!.map((r, k) => `| ${r.a} ↔ ${r.b} | ${r.expected} | ${r.seen} | ${r.first ?? '—'} | ${r.back ?? '—'} | ${worst(k) === Infinity ? '—' : worst(k)} |`)].join('\n');
  t.diagnostic(`\n${table}`);
  const firsts = rounds.flat().map((r) => r.first ?? Infinity).sort((x, y) => x - y);
  t.diagnostic(JSON.stringify({ runs: firsts.length, median_seconds: firsts[Math.floor(firsts.length / 2)], max_seconds: firsts.at(-1) }));
  assert.equal(rounds.flat().length, 21 * GRID_ROUNDS);
  assert.deepEqual(wrong, [], table);
});

/** How soon the notified side of a relayed pair must follow its peer onto the relay (WireGuard
 *  given the link). */
const FOLLOW_BOUND = 300;
/** `wh show` prints `relay` once the peer is heard through the link: at a WireGuard sample
 *  (every PEER_TICK) after the peer's first datagram came through. */
const HEARD_BOUND = 2 * PEER_TICK;

test('a relayed pair whose two sides start 300 ms apart: the side notified through both rendezvous follows its peer onto the relay at once, not at its own next search', async () => {
  // (Seeds where b's punch-notify through the relay a chose was throttled, the first having come
  // through the other rendezvous. Before the fix b opened no half there, the relay dropped a's
  // datagrams, and b relayed only at its own next search: seed 166 took 1000 ms. In other seeds,
  // e.g. 91, a's first initiation reaches the relay just before b's half and is lost; a's
  // handshake repair 0.5 s later is carried: 600 ms.)
  for (const seed of [166, 37]) {
    const x = await world('port-restricted', 'symmetric', seed, { stagger: -300 });
    try {
      const { w, A, B } = x;
      const first = await untilLink(w, [A, B], 'some', 10_000);
      assert.ok(first !== undefined, `seed ${seed}: a side relays\n${logs(x)}`);
      const throttled = [A, B].map((n) => n.daemon!.dht.counters.get('punch-notify-throttled') ?? 0);
      assert.ok(throttled.some((n) => n > 0), `seed ${seed}: a punch-notify was throttled (the case this test is about)`);
      const follow = await untilLink(w, [A, B], 'every', 5000);
      assert.ok(follow !== undefined && follow <= FOLLOW_BOUND, `seed ${seed}: both relayed within ${FOLLOW_BOUND} ms of the first (${follow})\n${logs(x)}`);
      const shown = await untilPath(w, [A, B], 'relay', 5000);
      assert.ok(shown !== undefined && shown <= HEARD_BOUND, `seed ${seed}: both shown relay within ${HEARD_BOUND} ms of that (${shown})\n${logs(x)}`);
    } finally {
      await done(x);
    }
  }
});

/** Runs the clock, 10 ms at a time, until some (every) one of `nodes` has WireGuard on a relay
 *  link (its endpoint the link's loopback socket); the virtual ms that took. */
async function untilLink(w: World['w'], nodes: World['A'][], which: 'some' | 'every', limit: number): Promise<number | undefined> {
  const t0 = w.clock.now();
  while (w.clock.now() - t0 < limit) {
    const shows = await Promise.all(nodes.map((n) => n.show()));
    if (shows[which]((s) => s.peers[0]?.wgEndpoint?.startsWith('127.0.0.1:') ?? false)) return w.clock.now() - t0;
    await w.clock.run(10);
  }
  return undefined;
}

/** Failover and upgrades run this many times each, with other seeds. */
const SCENARIO_RUNS = 6;
/** The two relayed pairs, in turn. */
const relayedPair = (i: number): [Kind, Kind] => (i % 2 === 0 ? ['symmetric', 'symmetric'] : ['port-restricted', 'symmetric']);
const secs = (ms: number | undefined) => (ms === undefined ? '—' : (ms / 1000).toFixed(3));

/** A relayed pair of kinds a, b with its first ping passed and both sides relayed. */
async function relayedWorld(a: Kind, b: Kind, seed: number): Promise<World> {
  const x = await world(a, b, seed);
  try {
    assert.ok((await pingUntil(x.w, x.A, x.B, 20_000)) !== undefined, `${a} ↔ ${b} (seed ${seed}): the first ping\n${logs(x)}`);
    assert.ok((await untilPath(x.w, [x.A, x.B], 'relay', 10_000)) !== undefined, `${a} ↔ ${b} (seed ${seed}): relayed\n${logs(x)}`);
  } catch (e) {
    await x.w.close();
    throw e;
  }
  return x;
}

test(`failover, ${SCENARIO_RUNS} runs: the relay of a relayed pair dies; the pair moves to the other boot node and its pings pass again`, async (t) => {
  const seen: string[] = [];
  for (let i = 0; i < SCENARIO_RUNS; i++) {
    const [a, b] = relayedPair(i), seed = 100 + i;
    const x = await relayedWorld(a, b, seed);
    const { w, A, B, boots } = x;
    try {
      const relayKey = (await A.show()).peers[0]!.relay;
      const dying = boots.find((n) => n.pub === relayKey);
      assert.ok(dying !== undefined, `a relays through a boot node (${relayKey})`);
      const other = boots.find((n) => n !== dying)!;
      await w.stop(dying); // silently: its sessions are gone, nobody is told
      const back = await pingUntil(w, A, B, 30_000);
      const moved = await untilPath(w, [A, B], 'relay', 10_000, other.pub);
      seen.push(`${a} ↔ ${b}: ${secs(back)}`);
      assert.ok(back !== undefined && back <= FAILOVER_BOUND, `${a} ↔ ${b} (seed ${seed}): pings pass again within ${FAILOVER_BOUND} ms (${back})\n${logs(x)}`);
      assert.ok(moved !== undefined, `${a} ↔ ${b} (seed ${seed}): both relay through the other boot node\n${logs(x)}`);
      assert.ok((await pingUntil(w, B, A, 3000)) !== undefined, 'and the other way');
    } finally {
      await done(x);
    }
  }
  t.diagnostic(`relay died: pings pass again after (s) ${seen.join('; ')}`);
});

test(`upgrade, ${SCENARIO_RUNS} runs: a relayed pair goes direct once its NAT allows it: the port-restricted NAT starts filtering by nothing`, async (t) => {
  const seen: string[] = [];
  for (let i = 0; i < SCENARIO_RUNS; i++) {
    const seed = 200 + i;
    const x = await relayedWorld('port-restricted', 'symmetric', seed);
    const { w, A, B } = x;
    try {
      await w.clock.run(5000); // relayed a while: more than one search for a direct path failed
      assert.equal(pathOf(await A.show()), 'relay', 'still relayed while the NAT filters');
      A.router!.opts.filtering = 'endpoint-independent'; // a full cone now
      const direct = await untilPath(w, [A, B], 'direct', UPGRADE_BOUND);
      seen.push(secs(direct));
      assert.ok(direct !== undefined, `seed ${seed}: both go direct within ${UPGRADE_BOUND} ms\n${logs(x)}`);
      assert.ok((await pingUntil(w, A, B, 3000)) !== undefined, 'and pings pass on the direct path');
      assert.ok(!(await A.show()).peers[0]!.wgEndpoint!.startsWith('127.0.0.1:'), 'WireGuard left the relay link');
    } finally {
      await done(x);
    }
  }
  t.diagnostic(`filtering relaxed: both direct after (s) ${seen.join(', ')}`);
});

test(`upgrade, ${SCENARIO_RUNS} runs: a relayed pair goes direct once its NAT allows it: the symmetric NAT starts answering UPnP, and the node maps its port`, async (t) => {
  const seen: string[] = [];
  for (let i = 0; i < SCENARIO_RUNS; i++) {
    const [a, b] = relayedPair(i), seed = 300 + i;
    const x = await relayedWorld(a, b, seed);
    const { w, A, B } = x;
    try {
      B.router!.opts.upnp = true;
      const direct = await untilPath(w, [A, B], 'direct', UPNP_UPGRADE_BOUND);
      const mapped = (await B.show()).portMapping;
      seen.push(`${a} ↔ ${b}: ${secs(direct)}`);
      assert.ok(mapped !== null, `${a} ↔ ${b} (seed ${seed}): b got a port mapping\n${logs(x)}`);
      assert.ok(direct !== undefined, `${a} ↔ ${b} (seed ${seed}): both go direct within ${UPNP_UPGRADE_BOUND} ms\n${logs(x)}`);
      assert.ok((await pingUntil(w, A, B, 3000)) !== undefined, 'and pings pass on the direct path');
      assert.ok(!(await B.show()).peers[0]!.wgEndpoint!.startsWith('127.0.0.1:'), 'WireGuard left the relay link');
    } finally {
      await done(x);
    }
  }
  t.diagnostic(`UPnP appeared: both direct after (s) ${seen.join('; ')}`);
});

// One pair of whole daemons on simulated NATs (src/sim/daemons.ts), for test/unit/simnodes.test.ts
// and bench/simconnect.ts: two public boot nodes up, then nodes of two NAT kinds started at the
// same moment; one pings the other over the overlay until an echo comes back (within 1 s of its
// request, as `ping -W1`), then the other way. Times are virtual ms after both nodes started.
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import type { ShowResult } from '../../src/control/show.js';
import { SimDaemonWorld, type SimDaemon } from '../../src/sim/daemons.js';
import { NAT_KINDS } from '../../src/sim/nat.js';

const sodium = await sodiumReady();
/** WireGuard's handshake times are reported on a wall clock starting here: a fixed one (a run is
 *  then the same on every replay of its seed), years before the real clock, so that
 *  src/wg/session.ts's hasSession (which reads the real clock) never takes a simulated
 *  handshake for a session: the repair relies on the handshakes seen since the endpoint was set. */
const WALL = Date.UTC(2020, 0, 1);

export type Kind = (typeof NAT_KINDS)[number];

/** test/e2e/natgrid.ts's expectation, restated (a test must not take it from the code under test). */
export function expectedPath(a: Kind, b: Kind): 'direct' | 'relay' {
  const pair = [a, b].sort().join(' ');
  return pair === 'port-restricted symmetric' || pair === 'symmetric symmetric' ? 'relay' : 'direct';
}

export function pairs(): [Kind, Kind][] {
  const out: [Kind, Kind][] = [];
  NAT_KINDS.forEach((a, i) => NAT_KINDS.slice(i).forEach((b) => out.push([a, b])));
  return out;
}

/** The pings' cadence, and how long a ping waits for its echo (ping -W1). */
export const PING_EVERY = 200;
export const PING_WAIT = 1000;

/** Pings `to` from `from` every PING_EVERY until an echo comes within PING_WAIT; the virtual ms
 *  that took, or undefined after `limit`. */
export async function pingUntil(w: SimDaemonWorld, from: SimDaemon, to: SimDaemon, limit: number): Promise<number | undefined> {
  const t0 = w.clock.now();
  const sent = new Map<number, number>();
  let got: number | undefined, seq = 0, next = t0;
  const wg = from.wg!;
  wg.onEcho = (ip, id) => {
    const at = sent.get(id);
    if (got === undefined && ip === to.ip && at !== undefined && w.clock.now() - at <= PING_WAIT) got = w.clock.now();
  };
  try {
    while (got === undefined && w.clock.now() - t0 < limit) {
      if (w.clock.now() >= next) { sent.set(++seq, w.clock.now()); from.ping(to.ip!, seq); next += PING_EVERY; }
      await w.clock.run(10);
    }
  } finally {
    wg.onEcho = undefined;
  }
  return got === undefined ? undefined : got - t0;
}

export const pathOf = (s: ShowResult) => s.peers[0]?.path ?? 'none';

/** Runs the clock until both nodes show `path` (and, for a relay, through `relay` if given);
 *  the virtual ms that took, or undefined after `limit`. */
export async function untilPath(w: SimDaemonWorld, nodes: SimDaemon[], path: string, limit: number, relay?: string): Promise<number | undefined> {
  const t0 = w.clock.now();
  for (;;) {
    const shows = await Promise.all(nodes.map((n) => n.show()));
    if (shows.every((s) => pathOf(s) === path && (relay === undefined || s.peers[0]?.relay === relay))) return w.clock.now() - t0;
    if (w.clock.now() - t0 >= limit) return undefined;
    await w.clock.run(100);
  }
}

export interface World { w: SimDaemonWorld; A: SimDaemon; B: SimDaemon; boots: SimDaemon[] }

/** Two boot nodes up, then nodes of kinds a and b started together. */
/** How a pair is started: `stagger` ms between the two nodes' starts (a first when positive, b
 *  first when negative; `wh up` of two nodes never returns at the same moment in micronet);
 *  `debug` keeps the debug lines in the logs. */
export interface PairOptions { stagger?: number; debug?: boolean }

/** Two boot nodes up, then nodes of kinds a and b started together (or `stagger` ms apart);
 *  the clock then stands at the later start. */
export async function world(a: Kind, b: Kind, seed: number, o: PairOptions = {}): Promise<World> {
  const w = new SimDaemonWorld(sodium, { seed, wallBase: WALL, debug: o.debug ?? false });
  const boots = [w.addBoot(), w.addBoot()];
  const A = w.addNode('a', a), B = w.addNode('b', b);
  await w.start(...boots);
  await w.clock.run(2000);
  const stagger = o.stagger ?? 0;
  if (stagger === 0) {
    await w.start(A, B);
  } else {
    await w.start(stagger > 0 ? A : B);
    await w.clock.run(Math.abs(stagger));
    await w.start(stagger > 0 ? B : A);
  }
  return { w, A, B, boots };
}

export const logs = ({ A, B }: World) => `--- a's log\n${A.log.join('\n')}\n--- b's log\n${B.log.join('\n')}`;

export async function done(x: World): Promise<void> {
  await x.w.close();
  assert.deepEqual(x.w.clock.errors, [], 'no timer callback threw');
}

export interface Row { a: Kind; b: Kind; expected: string; seen: string; first?: number; back?: number; settled?: number }

export async function runPair(a: Kind, b: Kind, seed: number, o: PairOptions = {}): Promise<{ row: Row; log: string }> {
  const x = await world(a, b, seed, o);
  const { w, A, B } = x;
  const first = await pingUntil(w, A, B, 20_000);
  const back = first === undefined ? undefined : await pingUntil(w, B, A, 5000);
  const expected = expectedPath(a, b);
  // The path they end on (a relayed start may still go direct): at most 20 s more.
  const settled = await untilPath(w, [A, B], expected, 20_000);
  const [sa, sb] = [await A.show(), await B.show()];
  const seen = pathOf(sa) === pathOf(sb) ? pathOf(sa) : `${pathOf(sa)}/${pathOf(sb)}`;
  // And the final path carries the overlay: WireGuard's endpoint is the peer's direct address,
  // or the relay link's loopback socket.
  const wgEp = [sa, sb].map((s) => s.peers[0]?.wgEndpoint ?? '');
  const viaLoopback = wgEp.map((e) => e.startsWith('127.0.0.1:'));
  const carried = seen === expected && viaLoopback.every((l) => l === (expected === 'relay')) && (await pingUntil(w, A, B, 3000)) !== undefined;
  const log = logs(x);
  await done(x);
  const r = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms) / 1000);
  const note = seen !== expected || carried ? '' : ` (but WireGuard at ${wgEp.join(' / ')}${first === undefined ? ', no ping' : ''})`;
  return { row: { a, b, expected, seen: seen + note, first: r(first), back: r(back), settled: r(settled) }, log };
}


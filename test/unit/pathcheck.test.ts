// Path acceptance (src/daemon/pathcheck.ts, selfview.ts) and WireGuard liveness
// (src/daemon/liveness.ts), driven with a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/sim/clock.js';
import { SelfView } from '../../src/daemon/selfview.js';
import { BadEndpoints, judgeAnswer, type AcceptInput } from '../../src/daemon/pathcheck.js';
import { WgLiveness, type LivenessAction } from '../../src/daemon/liveness.js';
import {
  BAD_ENDPOINT_KEEP, PEER_TICK, RELAY_HOLD_MAX, RELAY_HOLD_MIN, SELF_VIEW_KEEP, WG_FRESH_REPAIR, WG_SILENT_DEAD, WG_SILENT_POKE, WG_SILENT_REPAIR, WG_WORKING_WINDOW,
} from '../../src/params.js';

const HEX = 'ab'.repeat(32);
const bob = { host: '203.0.113.7', port: 62096 };
const proxy = { host: '198.51.100.66', port: 40000 };

test('self view: interface addresses, what boot nodes saw (for a while), the port mapping; IPv4-mapped IPv6 compares as IPv4', async () => {
  const clock = new VirtualClock();
  let mapped: string | undefined;
  const v = new SelfView(() => ['127.0.0.1', '192.168.1.10', 'fe80::1'], () => mapped);
  assert.ok(v.isOwn('192.168.1.10', clock.now()));
  assert.ok(v.isOwn('::ffff:192.168.1.10', clock.now()));
  assert.ok(v.isOwn('FE80::1', clock.now()));
  assert.ok(!v.isOwn('20.0.0.5', clock.now()), 'the NAT\'s public address is not ours before a boot node says so');
  v.observed('20.0.0.5', clock.now());
  assert.ok(v.isOwn('20.0.0.5', clock.now()));
  await clock.run(SELF_VIEW_KEEP);
  assert.ok(v.isOwn('20.0.0.5', clock.now()), 'still within SELF_VIEW_KEEP');
  await clock.run(1);
  assert.ok(!v.isOwn('20.0.0.5', clock.now()), 'forgotten once no boot node said so for SELF_VIEW_KEEP');
  mapped = '20.0.0.9';
  assert.ok(v.isOwn('20.0.0.9', clock.now()), 'the port mapping\'s external IP');
});

test('path check: a pong through a proxy (the peer saw the proxy, not us) locates nothing; a symmetric NAT\'s other port does', () => {
  const bad = new BadEndpoints();
  const own = (ip: string) => ip === '20.0.0.5' || ip === '192.168.1.10';
  const base: AcceptInput = { addr: proxy, seenAs: { host: '198.51.100.66', port: 40001 }, isOwn: own, current: undefined, working: false };
  assert.equal(judgeAnswer(HEX, base, bad, 0), 'foreign-view');
  assert.equal(judgeAnswer(HEX, { ...base, addr: bob, seenAs: { host: '20.0.0.5', port: 1024 } }, bad, 0), undefined, 'our public IP, any port (symmetric NAT)');
  assert.equal(judgeAnswer(HEX, { ...base, addr: bob, seenAs: { host: '192.168.1.10', port: 62096 } }, bad, 0), undefined, 'our LAN address (same LAN)');
  assert.equal(judgeAnswer(HEX, { ...base, addr: bob, seenAs: undefined }, bad, 0), 'no-view', 'an answer without the peer\'s view (a lookup\'s nodes)');
});

test('path check: a new address never replaces a working direct path; it may once the path stops working', () => {
  const bad = new BadEndpoints();
  const i: AcceptInput = { addr: { host: '20.0.0.5', port: 5000 }, seenAs: { host: '20.0.0.7', port: 62096 }, isOwn: () => true, current: bob, working: true };
  assert.equal(judgeAnswer(HEX, i, bad, 0), 'working-path');
  assert.equal(judgeAnswer(HEX, { ...i, addr: bob }, bad, 0), undefined, 'the current endpoint itself (the re-check)');
  assert.equal(judgeAnswer(HEX, { ...i, working: false }, bad, 0), undefined);
  assert.equal(judgeAnswer(HEX, { ...i, current: undefined }, bad, 0), undefined, 'no direct path (searching, relayed)');
});

test('bad endpoints: refused for BAD_ENDPOINT_KEEP, per peer, then accepted again', () => {
  const bad = new BadEndpoints();
  const i: AcceptInput = { addr: bob, seenAs: { host: '20.0.0.7', port: 62096 }, isOwn: () => true, current: undefined, working: false };
  bad.add(HEX, bob, 1000);
  assert.equal(judgeAnswer(HEX, i, bad, 1000 + BAD_ENDPOINT_KEEP - 1), 'bad-endpoint');
  assert.equal(judgeAnswer('cd'.repeat(32), i, bad, 1000), undefined, 'another peer at that address');
  assert.equal(judgeAnswer(HEX, i, bad, 1000 + BAD_ENDPOINT_KEEP), undefined);
});

/** Drives a liveness judgement: WireGuard sends every tick, receives when `answer(t)` says so. */
async function drive(live: WgLiveness, clock: VirtualClock, ms: number, answer: (t: number) => boolean, counters = { tx: 0, rx: 0 }): Promise<{ t: number; a: LivenessAction }[]> {
  const out: { t: number; a: LivenessAction }[] = [];
  const end = clock.now() + ms;
  while (clock.now() < end) {
    await clock.run(PEER_TICK);
    counters.tx += 32;
    if (answer(clock.now())) counters.rx += 32;
    const a = live.observe(HEX, { txBytes: counters.tx, rxBytes: counters.rx, latestHandshake: 0 }, clock.now());
    if (a !== 'none') out.push({ t: clock.now(), a });
  }
  return out;
}

test('liveness: WireGuard sends unanswered: poke at once and every WG_SILENT_POKE, repair after WG_SILENT_REPAIR, dead after WG_SILENT_DEAD', async () => {
  const clock = new VirtualClock();
  const live = new WgLiveness();
  const c = { tx: 0, rx: 0 };
  live.observe(HEX, { txBytes: 0, rxBytes: 0, latestHandshake: 0 }, clock.now());
  const start = clock.now() + PEER_TICK; // the first tick's sends start the silence
  const acts = await drive(live, clock, WG_SILENT_DEAD + 2 * PEER_TICK, () => false, c);
  const at = (a: LivenessAction) => acts.filter((x) => x.a === a).map((x) => x.t - start);
  assert.deepEqual(at('repair'), [WG_SILENT_REPAIR]);
  assert.deepEqual(at('dead'), [WG_SILENT_DEAD]);
  const pokes = at('poke');
  assert.equal(pokes[0], 0);
  for (let i = 1; i < pokes.length; i++) assert.ok(pokes[i]! - pokes[i - 1]! >= WG_SILENT_POKE);
  assert.ok(!live.working(HEX, clock.now()));
});

test('liveness: an answer ends the suspicion; an idle tunnel is never judged; the path works while WireGuard heard the peer lately', async () => {
  const clock = new VirtualClock();
  const live = new WgLiveness();
  const c = { tx: 0, rx: 0 };
  live.observe(HEX, { txBytes: 0, rxBytes: 0, latestHandshake: 0 }, 0);
  // The peer answers every 10 s (its passive keepalive): never repaired, never dead.
  const acts = await drive(live, clock, 60_000, (t) => t % 10_000 === 0, c);
  assert.ok(!acts.some((x) => x.a === 'dead' || x.a === 'repair'), JSON.stringify(acts));
  assert.ok(live.working(HEX, clock.now()));
  // Idle: neither counter moves, for long.
  for (let i = 0; i < 200; i++) {
    await clock.run(PEER_TICK);
    assert.equal(live.observe(HEX, { txBytes: c.tx, rxBytes: c.rx, latestHandshake: 0 }, clock.now()), 'none');
  }
  assert.ok(!live.working(HEX, clock.now()), `not working once nothing was heard for WG_WORKING_WINDOW (${WG_WORKING_WINDOW} ms)`);
});

test('liveness: a new endpoint is judged afresh, from its own sends', async () => {
  const clock = new VirtualClock();
  const live = new WgLiveness();
  const c = { tx: 0, rx: 0 };
  live.observe(HEX, { txBytes: 0, rxBytes: 0, latestHandshake: 100 }, 0);
  await drive(live, clock, WG_SILENT_DEAD - 2 * PEER_TICK, () => false, c);
  live.endpointSet(HEX);
  assert.ok(!live.handshakeSinceSet(HEX) && !live.heardSinceSet(HEX));
  const acts = await drive(live, clock, 4 * PEER_TICK, () => false, c);
  assert.ok(!acts.some((x) => x.a === 'dead'), 'the old endpoint\'s silence does not count against the new one');
  live.observe(HEX, { txBytes: c.tx, rxBytes: c.rx + 148, latestHandshake: 160 }, clock.now());
  assert.ok(live.handshakeSinceSet(HEX) && live.heardSinceSet(HEX));
});

test('liveness: right after a handshake on this endpoint, sends unanswered for WG_FRESH_REPAIR re-create the peer, once per endpoint', async () => {
  const clock = new VirtualClock();
  const live = new WgLiveness();
  const c = { tx: 0, rx: 0 };
  live.observe(HEX, { txBytes: 0, rxBytes: 0, latestHandshake: 0 }, 0);
  live.endpointSet(HEX);
  // The handshake completes (its response counts as received), then nothing the peer sends decrypts.
  await clock.run(PEER_TICK);
  c.rx += 92; c.tx += 148;
  live.observe(HEX, { txBytes: c.tx, rxBytes: c.rx, latestHandshake: 1000 }, clock.now());
  const start = clock.now() + PEER_TICK;
  const acts: { t: number; a: LivenessAction }[] = [];
  for (let i = 0; i < (WG_SILENT_REPAIR + PEER_TICK) / PEER_TICK; i++) {
    await clock.run(PEER_TICK);
    c.tx += 32;
    const a = live.observe(HEX, { txBytes: c.tx, rxBytes: c.rx, latestHandshake: 1000 }, clock.now());
    if (a !== 'none') acts.push({ t: clock.now() - start, a });
  }
  assert.deepEqual(acts.filter((x) => x.a === 'repair').map((x) => x.t), [WG_FRESH_REPAIR, WG_SILENT_REPAIR], JSON.stringify(acts));
  // The repair's handshake is heard, then silence again: no second fresh repair on this endpoint.
  c.rx += 92;
  live.observe(HEX, { txBytes: c.tx, rxBytes: c.rx, latestHandshake: 1012 }, clock.now());
  const again = await drive(live, clock, WG_FRESH_REPAIR + 2 * PEER_TICK, () => false, c);
  assert.ok(!again.some((x) => x.a === 'repair'), JSON.stringify(again));
  // Without a handshake on the endpoint (an old session): only the WG_SILENT_REPAIR one.
  const old = new WgLiveness();
  const d = { tx: 0, rx: 0 };
  old.observe(HEX, { txBytes: 0, rxBytes: 0, latestHandshake: 900 }, clock.now());
  old.endpointSet(HEX);
  const first = clock.now() + PEER_TICK;
  const late = (await drive(old, clock, WG_SILENT_REPAIR + PEER_TICK, () => false, d)).filter((x) => x.a === 'repair').map((x) => x.t - first);
  assert.deepEqual(late, [WG_SILENT_REPAIR]);
});

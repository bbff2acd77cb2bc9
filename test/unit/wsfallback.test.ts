// The UDP/WebSocket fallback machine (src/nat/wsfallback.ts) on a virtual clock: it probes the
// boot nodes' UDP addresses every WS_UDP_PROBE_INTERVAL, moves to WebSocket after
// WS_FALLBACK_AFTER without a UDP answer (at start and later), and back at the first answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WsFallback, type FallbackAction } from '../../src/nat/wsfallback.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { WS_FALLBACK_AFTER, WS_UDP_PROBE_INTERVAL } from '../../src/params.js';

/** Drives the machine on the clock as the daemon does: a tick at each deadline. */
function drive(clock: VirtualClock, m: WsFallback, log: { at: number; a: FallbackAction }[]): () => void {
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    clock.setTimeout(() => { for (const a of m.tick(clock.now())) log.push({ at: clock.now(), a }); arm(); }, Math.max(0, m.nextDeadline() - clock.now()));
  };
  arm();
  return () => { stopped = true; };
}

test('no UDP answer at start: probes every interval, then WebSocket after WS_FALLBACK_AFTER', async () => {
  const clock = new VirtualClock(), m = new WsFallback(clock.now()), log: { at: number; a: FallbackAction }[] = [];
  const stop = drive(clock, m, log);
  await clock.run(WS_FALLBACK_AFTER - 1);
  assert.equal(m.state, 'udp');
  assert.ok(log.every((l) => l.a.a === 'probe'));
  assert.equal(log.length, Math.floor((WS_FALLBACK_AFTER - 1) / WS_UDP_PROBE_INTERVAL));
  await clock.run(1);
  assert.equal(m.state, 'ws');
  const ws = log.find((l) => l.a.a === 'useWs')!;
  assert.equal(ws.at, WS_FALLBACK_AFTER);
  // Probing goes on while on WebSocket.
  const before = log.filter((l) => l.a.a === 'probe').length;
  await clock.run(3 * WS_UDP_PROBE_INTERVAL);
  assert.equal(log.filter((l) => l.a.a === 'probe').length, before + 3);
  assert.equal(log.filter((l) => l.a.a === 'useWs').length, 1, 'moved once');
  stop();
});

test('UDP answers keep it on UDP; when they stop, WebSocket after WS_FALLBACK_AFTER; the first answer moves it back', async () => {
  const clock = new VirtualClock(), m = new WsFallback(clock.now()), log: { at: number; a: FallbackAction }[] = [];
  const stop = drive(clock, m, log);
  // Answers to every probe for a minute.
  for (let t = 0; t < 60_000; t += WS_UDP_PROBE_INTERVAL) {
    await clock.run(WS_UDP_PROBE_INTERVAL);
    assert.deepEqual(m.udpAnswered(clock.now()), []);
  }
  assert.equal(m.state, 'udp');
  assert.equal(log.filter((l) => l.a.a === 'useWs').length, 0);
  const lost = clock.now();
  await clock.run(WS_FALLBACK_AFTER);
  assert.equal(m.state, 'ws');
  assert.equal(log.find((l) => l.a.a === 'useWs')!.at, lost + WS_FALLBACK_AFTER);
  await clock.run(10_000);
  assert.equal(m.state, 'ws');
  assert.deepEqual(m.udpAnswered(clock.now()), [{ a: 'useUdp' }]);
  assert.equal(m.state, 'udp');
  assert.equal(m.changedAt, clock.now());
  assert.deepEqual(m.udpAnswered(clock.now()), [], 'once');
  // And falls back again when UDP goes away again.
  await clock.run(WS_FALLBACK_AFTER);
  assert.equal(m.state, 'ws');
  stop();
});

test('a late answer (an earlier time) does not move the deadline back', () => {
  const m = new WsFallback(10_000);
  m.udpAnswered(5_000);
  assert.equal(m.nextDeadline(), 10_000 + WS_UDP_PROBE_INTERVAL);
  assert.deepEqual(m.tick(10_000 + WS_FALLBACK_AFTER - 1).map((a) => a.a), ['probe']);
  assert.equal(m.state, 'udp');
});

// The per-peer path machine (src/path/machine.ts), driven on a virtual clock with seeded
// randomness, as the daemon drives it: events in, actions out, a tick at nextDeadline().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PathMachine, type PathAction, type PathEvent, type RelayId } from '../../src/path/machine.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { seededRandom } from '../../src/sim/network.js';
import type { Addr } from '../../src/proto/addr.js';
import {
  BAD_ENDPOINT_KEEP, DIRECT_RETRY_MAX, DIRECT_RETRY_MIN, HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_SECOND, NAT_KEEPALIVE_SECONDS,
  PATH_CHECK_FAILURES, PATH_OP_TIMEOUT, PATH_PUNCH_AFTER, PATH_RELAY_TRIES, PATH_SEARCH_JITTER, PEER_OFFLINE_AFTER, PEER_RECHECK,
  PEER_SEARCH_MAX, PEER_SEARCH_MIN, RELAY_HOLD_MAX, RELAY_HOLD_MIN,
} from '../../src/params.js';

const relay = (n: number): RelayId => ({ hex: `${n}`.repeat(8), addr: { host: `198.51.100.${n}`, port: 62096 } });
const R1 = relay(1), R2 = relay(2), R3 = relay(3), R4 = relay(4);
const A: Addr = { host: '192.0.2.10', port: 40000 };
const B: Addr = { host: '192.0.2.11', port: 40001 };
const HINT: Addr = { host: '203.0.113.5', port: 62096 };

/** A driver as the daemon's: it performs nothing, records the actions, and ticks the machine at
 *  its deadline through the virtual clock's timers. */
class Driver {
  readonly clock = new VirtualClock();
  readonly m: PathMachine;
  log: PathAction[] = [];
  /** When each action of `log` was asked for. */
  times: number[] = [];
  private timer: ReturnType<VirtualClock['setTimeout']> | undefined;

  constructor(opts: { initiator?: boolean; hint?: Addr; keepalive?: number; candidates?: RelayId[]; seed?: number } = {}) {
    const candidates = opts.candidates ?? [R1, R2, R3, R4];
    this.m = new PathMachine({ now: 0, random: seededRandom(opts.seed ?? 7), rendezvous: () => candidates, initiator: opts.initiator ?? true,
      keepalive: opts.keepalive ?? 0, ...(opts.hint ? { hint: opts.hint } : {}) });
    this.take(this.m.start(0));
  }

  get now(): number { return this.clock.now(); }

  private take(actions: PathAction[]): PathAction[] {
    this.log.push(...actions);
    for (const _ of actions) this.times.push(this.clock.now());
    if (this.timer) this.clock.clearTimeout(this.timer);
    const at = this.m.nextDeadline();
    if (Number.isFinite(at)) this.timer = this.clock.setTimeout(() => this.take(this.m.step({ t: 'tick' }, this.clock.now())), at - this.clock.now());
    return actions;
  }

  send(ev: PathEvent): PathAction[] {
    return this.take(this.m.step(ev, this.clock.now()));
  }

  /** Lets `ms` of virtual time pass; the actions taken meanwhile. */
  async run(ms: number): Promise<PathAction[]> {
    const from = this.log.length;
    await this.clock.run(ms);
    return this.log.slice(from);
  }

  /** Runs until an action of kind `a` is asked for; its time and the action. */
  async until(a: PathAction['a'], limit = 60 * 60_000): Promise<{ at: number; act: PathAction }> {
    const start = this.log.length;
    const ok = await this.clock.runUntil(() => this.log.slice(start).some((x) => x.a === a), limit, 10);
    assert.ok(ok, `no ${a} within ${limit} ms (state ${this.m.state})`);
    const i = start + this.log.slice(start).findIndex((x) => x.a === a);
    return { at: this.times[i]!, act: this.log[i]! };
  }
}

const kinds = (acts: PathAction[]) => acts.filter((x) => x.a !== 'log').map((x) => x.a);
const has = (acts: PathAction[], a: PathAction['a']) => acts.some((x) => x.a === a);

/** From start to the race: lookup found A (unanswered), punch, punch-ok via R1. */
async function toRace(d: Driver): Promise<PathAction[]> {
  d.send({ t: 'lookupResult', found: A });
  await d.until('punch');
  return d.send({ t: 'punchAccepted', via: R1 });
}

test('a new peer is looked up at once and its config endpoint pinged; an answer there makes it direct without a punch', async () => {
  const d = new Driver({ hint: HINT });
  assert.equal(d.m.state, 'searching');
  assert.deepEqual(kinds(d.log), ['lookup', 'ping']);
  assert.deepEqual(d.log[1], { a: 'ping', addr: HINT, why: 'hint' });
  d.send({ t: 'lookupResult', found: HINT }); // the same address: not pinged twice
  assert.equal(d.m.state, 'punching');
  const acts = d.send({ t: 'answered', addr: HINT, rtt: 3 });
  assert.equal(d.m.state, 'direct');
  assert.deepEqual(acts.find((x) => x.a === 'setEndpoint'), { a: 'setEndpoint', endpoint: { kind: 'direct', addr: HINT }, keepalive: 0 });
  assert.ok(!has(await d.run(PATH_PUNCH_AFTER * 3), 'punch'), 'a peer that answered is never punched');
  assert.deepEqual(d.m.view(), { state: 'direct', shown: 'direct', since: 0, endpoint: HINT, rtt: 3 });
});

test('the lookup\'s address gets PATH_PUNCH_AFTER to answer, then the punch starts; with no address the punch starts at once', async () => {
  const d = new Driver();
  const acts = d.send({ t: 'lookupResult', found: A });
  assert.deepEqual(kinds(acts), ['ping']);
  const p = await d.until('punch');
  assert.equal(p.at, PATH_PUNCH_AFTER);
  assert.deepEqual(p.act, { a: 'punch', rendezvous: [R1, R2, R3, R4] });
  const e = new Driver();
  assert.deepEqual(kinds(e.send({ t: 'lookupResult' })), ['punch']);
  assert.equal(e.m.state, 'punching');
});

test('relay and punch race: punch-ok asks for the relay in the same step, traffic takes it when ready, a direct answer upgrades and closes it after', async () => {
  const d = new Driver();
  const race = await toRace(d);
  assert.deepEqual(kinds(race), ['openRelay'], 'the relay is asked for at once, through the rendezvous that knew the peer');
  assert.deepEqual(race[0], { a: 'openRelay', relay: R1 });
  assert.equal(d.m.state, 'punching', 'the punch goes on');
  const ready = d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  assert.equal(d.m.state, 'relayed');
  assert.deepEqual(ready.find((x) => x.a === 'setEndpoint'), { a: 'setEndpoint', endpoint: { kind: 'relay', relay: R1, endpoint: '127.0.0.1:5555', kernel: false }, keepalive: NAT_KEEPALIVE_SECONDS });
  // The relay's kernel path: WireGuard moves to relay:port.
  const kernel = d.send({ t: 'relayReady', relay: R1, endpoint: '198.51.100.1:41000', kernel: true });
  assert.ok(has(kernel, 'setEndpoint'));
  assert.equal(d.m.view().kernel, true);
  // A probe is answered: direct, and only then is the relay closed.
  const up = d.send({ t: 'answered', addr: A, rtt: 12 });
  assert.equal(d.m.state, 'direct');
  const set = up.findIndex((x) => x.a === 'setEndpoint'), close = up.findIndex((x) => x.a === 'closeRelay');
  assert.ok(set >= 0 && close > set, `setEndpoint(direct) before closeRelay: ${kinds(up).join(',')}`);
  assert.deepEqual(up[close], { a: 'closeRelay', relay: R1 });
  assert.ok(!has(d.send({ t: 'punchEnded' }), 'setEndpoint'), 'the punch ending changes nothing');
  // A relay link that comes late (the peer's follow) is closed, never used.
  const late = d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:6666', kernel: false });
  assert.deepEqual(kinds(late), ['closeRelay']);
  assert.equal(d.m.state, 'direct');
});

test('a direct answer while the relay is still opening cancels it: the open relay is closed', async () => {
  const d = new Driver();
  await toRace(d);
  const up = d.send({ t: 'answered', addr: A });
  assert.deepEqual(kinds(up).filter((k) => k !== 'poke'), ['setEndpoint', 'closeRelay']);
  assert.ok(!has(d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:1', kernel: false }).filter((x) => x.a === 'setEndpoint'), 'setEndpoint'));
});

test('a failed relay-open moves to the next candidate, at most PATH_RELAY_TRIES; then, the punch over, the search backs off', async () => {
  const d = new Driver();
  await toRace(d);
  const opened: string[] = [R1.hex];
  for (let i = 1; i < PATH_RELAY_TRIES; i++) {
    const next = d.send({ t: 'relayFailed', relay: relay(i) });
    assert.equal(next.find((x) => x.a === 'openRelay')?.a, 'openRelay');
    opened.push((next.find((x) => x.a === 'openRelay') as { relay: RelayId }).relay.hex);
  }
  assert.deepEqual(opened, [R1.hex, R2.hex, R3.hex]);
  assert.ok(!has(d.send({ t: 'relayFailed', relay: R3 }), 'openRelay'), 'no fourth relay');
  assert.equal(d.m.state, 'punching', 'the punch still decides');
  d.send({ t: 'punchEnded' });
  assert.equal(d.m.state, 'backoff');
  assert.equal(d.m.view().shown, 'searching');
});

test('a peer nobody knows backs off within the jitter bounds, up to PEER_SEARCH_MAX, is offline after PEER_OFFLINE_AFTER failures, and is never given up', async () => {
  const d = new Driver({ seed: 3 });
  for (let i = 1; i <= 12; i++) {
    d.send({ t: 'lookupResult' });
    d.send({ t: 'punchEnded' }); // no rendezvous knew it
    const failedAt = d.now;
    const delay = PEER_SEARCH_MIN * 2 ** (i - 1) > PEER_SEARCH_MAX ? PEER_SEARCH_MAX : PEER_SEARCH_MIN * 2 ** (i - 1);
    assert.equal(d.m.state, i >= PEER_OFFLINE_AFTER ? 'offline' : 'backoff');
    assert.equal(d.m.view().shown, i >= PEER_OFFLINE_AFTER ? 'offline' : 'searching');
    const next = await d.until('lookup');
    const waited = next.at - failedAt;
    assert.ok(waited >= Math.floor(delay * (1 - PATH_SEARCH_JITTER)) && waited <= Math.ceil(delay * (1 + PATH_SEARCH_JITTER)), `search ${i}: waited ${waited}, base ${delay}`);
  }
});

test('a relayed peer retries the direct path with jittered back-off between DIRECT_RETRY_MIN/2 and 1.5 DIRECT_RETRY_MAX', async () => {
  const d = new Driver();
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  d.send({ t: 'punchEnded' });
  const gaps: number[] = [];
  for (let i = 0; i < 8; i++) {
    const from = d.now;
    const l = await d.until('lookup');
    gaps.push(l.at - from);
    assert.equal(d.m.state, 'relayed', 'traffic stays on the relay while direct is retried');
    d.send({ t: 'lookupResult', found: A });
    await d.until('punch');
    d.send({ t: 'punchEnded' });
  }
  for (const g of gaps) assert.ok(g >= DIRECT_RETRY_MIN / 2 && g <= DIRECT_RETRY_MAX * 1.5 + 1, `gap ${g}`);
  assert.ok(gaps.slice(3).every((g) => g >= DIRECT_RETRY_MAX / 2), `backs off to the max: ${gaps.join(' ')}`);
});

test('a direct path is re-checked every PEER_RECHECK; PATH_CHECK_FAILURES unanswered checks in a row send the peer back to searching', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A });
  const c1 = await d.until('ping');
  assert.equal(c1.at, PEER_RECHECK);
  assert.deepEqual(c1.act, { a: 'ping', addr: A, why: 'check' });
  d.send({ t: 'answered', addr: A, rtt: 5 });
  assert.equal((await d.until('ping')).at, 2 * PEER_RECHECK);
  for (let i = 1; i < PATH_CHECK_FAILURES; i++) {
    d.send({ t: 'unanswered', addr: A });
    const again = await d.until('ping');
    assert.equal(again.at, 2 * PEER_RECHECK + i * PEER_SEARCH_MIN);
    assert.equal(d.m.state, 'direct');
  }
  const gone = d.send({ t: 'unanswered', addr: A });
  assert.equal(d.m.state, 'searching');
  assert.ok(has(gone, 'lookup'));
});

test('no flapping: a dead direct path goes back to searching, and its endpoint is not taken again for BAD_ENDPOINT_KEEP; the relay keeps the traffic', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A });
  const dead = d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' });
  assert.equal(d.m.state, 'searching');
  assert.ok(has(dead, 'lookup') && dead.some((x) => x.a === 'log' && x.level === 'warn'));
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  let switches = 0;
  for (let i = 0; i < 20; i++) {
    switches += d.send({ t: 'answered', addr: A }).filter((x) => x.a === 'setEndpoint').length;
    await d.run(1000);
  }
  assert.equal(switches, 0, 'the dead endpoint answering again does not pull the path off the relay');
  assert.equal(d.m.state, 'relayed');
  const other = d.send({ t: 'answered', addr: B });
  assert.equal(d.m.state, 'direct', 'another endpoint is taken');
  assert.ok(has(other, 'closeRelay'));
  d.send({ t: 'pathDead', why: 'x' });
  await d.run(BAD_ENDPOINT_KEEP);
  d.send({ t: 'answered', addr: A });
  assert.equal(d.m.state, 'direct', 'after BAD_ENDPOINT_KEEP the old endpoint may come back');
});

test('the relay hold is per relay: a relay path that died holds that relay (doubling), others stay open, WireGuard hearing the peer resets the length', async () => {
  const d = new Driver();
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  const t1 = d.now;
  const dead = d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' });
  assert.deepEqual(dead.find((x) => x.a === 'closeRelay'), { a: 'closeRelay', relay: R1 });
  assert.equal(d.m.state, 'searching');
  assert.ok(!d.m.mayRelay(R1.hex, t1 + RELAY_HOLD_MIN - 1) && d.m.mayRelay(R1.hex, t1 + RELAY_HOLD_MIN), 'R1 held RELAY_HOLD_MIN');
  assert.equal(d.m.mayRelay(R2.hex, d.now), true);
  // The next race: punch-ok again through R1, but R1 is held: R2 opens at once (the old code
  // held every relay for this peer).
  const race = await toRace(d);
  assert.deepEqual(race.find((x) => x.a === 'openRelay'), { a: 'openRelay', relay: R2 });
  // R2 dies twice: its hold doubles.
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false });
  let t0 = d.now;
  d.send({ t: 'pathDead', why: 'x' });
  assert.ok(!d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN - 1) && d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN));
  await d.run(RELAY_HOLD_MIN);
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false });
  t0 = d.now;
  d.send({ t: 'pathDead', why: 'x' });
  assert.ok(!d.m.mayRelay(R2.hex, t0 + 2 * RELAY_HOLD_MIN - 1) && d.m.mayRelay(R2.hex, t0 + 2 * RELAY_HOLD_MIN));
  for (let i = 0; i < 10; i++) { await d.run(RELAY_HOLD_MAX); d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false }); t0 = d.now; d.send({ t: 'pathDead', why: 'x' }); }
  assert.ok(!d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MAX - 1) && d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MAX), 'capped at RELAY_HOLD_MAX');
  // Heard: the next hold is the minimum again.
  await d.run(RELAY_HOLD_MAX);
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false });
  d.send({ t: 'heard' });
  t0 = d.now;
  d.send({ t: 'pathDead', why: 'x' });
  assert.ok(!d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN - 1) && d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN));
});

test('WireGuard silence on a path: suspect pokes, silent re-creates, only while a path is in use', () => {
  const d = new Driver();
  assert.deepEqual(kinds(d.send({ t: 'pathSuspect' })), [], 'a peer being searched has no path to judge');
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A });
  assert.deepEqual(kinds(d.send({ t: 'pathSuspect' })), ['poke']);
  assert.deepEqual(kinds(d.send({ t: 'pathSilent' })), ['recreate']);
});

test('handshake repair: the initiator pokes at once and re-creates after HANDSHAKE_REPAIR_FIRST without a session; the other waits HANDSHAKE_REPAIR_SECOND; a session seen cancels it', async () => {
  const d = new Driver({ initiator: true });
  d.send({ t: 'lookupResult', found: A });
  assert.deepEqual(kinds(d.send({ t: 'answered', addr: A })), ['setEndpoint', 'poke']);
  const r = await d.until('recreate');
  assert.equal(r.at, HANDSHAKE_REPAIR_FIRST);
  const e = new Driver({ initiator: false });
  e.send({ t: 'lookupResult', found: A });
  assert.deepEqual(kinds(e.send({ t: 'answered', addr: A })), ['setEndpoint'], 'the other side waits for the initiation');
  assert.equal((await e.until('recreate')).at, HANDSHAKE_REPAIR_SECOND);
  const f = new Driver({ initiator: false });
  f.send({ t: 'lookupResult', found: A });
  f.send({ t: 'answered', addr: A });
  f.send({ t: 'handshakeSeen' });
  assert.ok(!has(await f.run(PEER_RECHECK - 1), 'recreate'));
});

test('offline after long silence: a peer that goes away is dropped by WireGuard\'s silence and shown offline after PEER_OFFLINE_AFTER searches', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A });
  await d.run(30_000);
  d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' });
  const goneAt = d.now;
  for (let i = 0; i < PEER_OFFLINE_AFTER; i++) {
    if (i > 0) await d.until('lookup');
    d.send({ t: 'lookupResult' });
    d.send({ t: 'punchEnded' });
  }
  assert.equal(d.m.view().shown, 'offline');
  const since = d.m.view().since;
  assert.ok(since > goneAt);
  await d.until('lookup');
  d.send({ t: 'lookupResult' });
  d.send({ t: 'punchEnded' });
  assert.equal(d.m.view().since, since, 'an offline peer\'s further searches do not reset since');
});

test('removal closes the relay (and one opening) and cancels every timer', async () => {
  const d = new Driver();
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  const gone = d.send({ t: 'removed' });
  assert.deepEqual(kinds(gone), ['closeRelay']);
  assert.equal(d.m.state, 'removed');
  assert.equal(d.m.nextDeadline(), Infinity);
  assert.equal(d.clock.pending, 0, 'the driver has no timer left for it');
  assert.deepEqual(await d.run(PATH_OP_TIMEOUT * 2), []);
  assert.deepEqual(d.send({ t: 'answered', addr: A }), [], 'events after removal do nothing');
});

test('a keepalive change re-sets a direct endpoint; a new config endpoint is pinged while searching', () => {
  const d = new Driver({ keepalive: 0 });
  d.send({ t: 'configChanged', endpoint: HINT });
  assert.deepEqual(d.log.at(-1), { a: 'ping', addr: HINT, why: 'hint' });
  d.send({ t: 'answered', addr: A });
  const k = d.send({ t: 'keepalive', seconds: 20 });
  assert.deepEqual(k.find((x) => x.a === 'setEndpoint'), { a: 'setEndpoint', endpoint: { kind: 'direct', addr: A }, keepalive: 20 });
  assert.deepEqual(kinds(d.send({ t: 'keepalive', seconds: 20 })), []);
});

test('a relay link the peer opened first is followed from any state, and lost links send the peer back to searching', () => {
  const d = new Driver();
  d.send({ t: 'lookupResult' });
  d.send({ t: 'punchEnded' });
  assert.equal(d.m.state, 'backoff');
  d.send({ t: 'relayReady', relay: R3, endpoint: '127.0.0.1:7', kernel: false });
  assert.equal(d.m.state, 'relayed');
  const lost = d.send({ t: 'relayLost', relay: R3 });
  assert.equal(d.m.state, 'searching');
  assert.ok(has(lost, 'lookup'));
  assert.ok(d.m.mayRelay(R3.hex, d.now), 'a lost link (not a dead path) holds nothing');
});

// ---- property: any event sequence ------------------------------------------------------------

const addrs = [A, B, HINT];
const relays = [R1, R2, R3];
const eventArb: fc.Arbitrary<PathEvent> = fc.oneof(
  fc.constant<PathEvent>({ t: 'tick' }),
  fc.option(fc.constantFrom(...addrs), { nil: undefined }).map((found): PathEvent => (found ? { t: 'lookupResult', found } : { t: 'lookupResult' })),
  fc.constantFrom(...addrs).map((addr): PathEvent => ({ t: 'answered', addr, rtt: 1 })),
  fc.constantFrom(...addrs).map((addr): PathEvent => ({ t: 'unanswered', addr })),
  fc.constantFrom(...relays).map((via): PathEvent => ({ t: 'punchAccepted', via })),
  fc.constant<PathEvent>({ t: 'punchEnded' }),
  fc.tuple(fc.constantFrom(...relays), fc.boolean()).map(([r, kernel]): PathEvent => ({ t: 'relayReady', relay: r, endpoint: kernel ? `${r.addr.host}:4000` : '127.0.0.1:9', kernel })),
  fc.constantFrom(...relays).map((r): PathEvent => ({ t: 'relayFailed', relay: r })),
  fc.constantFrom(...relays).map((r): PathEvent => ({ t: 'relayLost', relay: r })),
  fc.constantFrom<PathEvent>({ t: 'pathSuspect' }, { t: 'pathSilent' }, { t: 'pathDead', why: 'p' }, { t: 'heard' }, { t: 'handshakeSeen' }),
  fc.option(fc.constantFrom(...addrs), { nil: undefined }).map((e): PathEvent => (e ? { t: 'configChanged', endpoint: e } : { t: 'configChanged' })),
  fc.constantFrom(0, 20).map((seconds): PathEvent => ({ t: 'keepalive', seconds })),
);
const stepArb = fc.tuple(fc.nat({ max: 40_000 }), fc.oneof({ weight: 30, arbitrary: eventArb }, { weight: 1, arbitrary: fc.constant<PathEvent>({ t: 'removed' }) }));

test('property: from any event sequence, no relay endpoint while direct, the relay closes after the direct endpoint, and the machine always has a future deadline', () => {
  fc.assert(fc.property(fc.array(stepArb, { maxLength: 120 }), fc.integer(), (steps, seed) => {
    const m = new PathMachine({ now: 0, random: seededRandom(seed), rendezvous: () => relays, initiator: (seed & 1) === 0, keepalive: 0 });
    let now = 0;
    let before = m.state;
    let acts = m.start(0);
    let last: 'direct' | 'relay' | undefined;
    // The driver's side: the peer's one relay link (it moves from relay to relay), and the
    // relay-opens under way.
    let link: string | undefined;
    const opening = new Set<string>();
    for (const [dt, ev] of steps) {
      let directSet = before === 'direct';
      for (const x of acts) {
        if (x.a === 'log') assert.doesNotMatch(x.msg, /had no timer/);
        if (x.a === 'setEndpoint') {
          last = x.endpoint.kind;
          if (x.endpoint.kind === 'direct') directSet = true;
          else assert.ok(!directSet, 'setEndpoint(relay) while direct is confirmed');
        }
        if (x.a === 'openRelay') { assert.ok(m.mayRelay(x.relay.hex, now), 'a held relay opened'); opening.add(x.relay.hex); }
        if (x.a === 'closeRelay') { opening.delete(x.relay.hex); if (link === x.relay.hex) link = undefined; }
      }
      if (m.state === 'direct') assert.equal(last, 'direct', 'WireGuard is left on a relay while the state is direct');
      if (m.state === 'relayed') assert.equal(last, 'relay');
      if (m.state === 'removed') {
        assert.equal(m.nextDeadline(), Infinity);
        assert.equal(link, undefined, 'relay link left open after removal');
        assert.equal(opening.size, 0, `relay-opens left wanted after removal: ${[...opening].join(' ')}`);
        return;
      }
      const next = m.nextDeadline();
      assert.ok(Number.isFinite(next) && next >= now, `deadline ${next} at ${now} in ${m.state}`);
      // The driver ticks at the deadline if it comes first (sometimes late), else the event comes.
      now = Math.min(now + dt, Math.max(now, next) + (dt % 700));
      before = m.state;
      const e = now >= next && dt % 3 === 0 ? { t: 'tick' as const } : ev;
      if (e.t === 'relayReady') { link = e.relay.hex; opening.delete(e.relay.hex); }
      if (e.t === 'relayFailed') opening.delete(e.relay.hex);
      if (e.t === 'relayLost' && link === e.relay.hex) link = undefined;
      acts = m.step(e, now);
    }
  }), { numRuns: 3000, seed: 10 });
});

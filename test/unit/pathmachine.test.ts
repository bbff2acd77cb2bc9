// The per-peer path machine (src/path/machine.ts), driven on a virtual clock with seeded
// randomness, as the daemon drives it: events in, actions out, a tick at nextDeadline().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PathAction, RelayId } from '../../src/path/machine.js';
import {
  BAD_ENDPOINT_KEEP, DIRECT_RETRY_MAX, DIRECT_RETRY_MIN, HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_REPEATS, HANDSHAKE_REPAIR_SECOND, NAT_KEEPALIVE_SECONDS,
  PATH_CHECK_FAILURES, PATH_OP_TIMEOUT, PATH_PUNCH_AFTER, PATH_RELAY_TRIES, PATH_SEARCH_JITTER, PEER_OFFLINE_AFTER, PEER_RECHECK,
  PEER_SEARCH_MAX, PEER_SEARCH_MIN, RELAY_HOLD_MAX, RELAY_HOLD_MIN, RELAY_POKE_DELAY,
} from '../../src/params.js';
import { A, B, Driver, HINT, R1, R2, R3, R4, has, kinds, relay, toRace } from './pathdriver.js';

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
  d.send({ t: 'pathHeard' }); // the peer's packets come through it (test/unit/pathheard.test.ts)
  assert.deepEqual(ready.find((x) => x.a === 'setEndpoint'), { a: 'setEndpoint', endpoint: { kind: 'relay', relay: R1, endpoint: '127.0.0.1:5555', kernel: false }, keepalive: 0 }, 'the keepalive follows the first session');
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
  d.send({ t: 'pathHeard' });
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
  d.send({ t: 'pathHeard' });
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
  await toRace(d); // (each relay below is heard through, then dies)
  d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false }); d.send({ t: 'pathHeard' });
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
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false }); d.send({ t: 'pathHeard' });
  let t0 = d.now;
  d.send({ t: 'pathDead', why: 'x' });
  assert.ok(!d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN - 1) && d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MIN));
  await d.run(RELAY_HOLD_MIN);
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false }); d.send({ t: 'pathHeard' });
  t0 = d.now;
  d.send({ t: 'pathDead', why: 'x' });
  assert.ok(!d.m.mayRelay(R2.hex, t0 + 2 * RELAY_HOLD_MIN - 1) && d.m.mayRelay(R2.hex, t0 + 2 * RELAY_HOLD_MIN));
  for (let i = 0; i < 10; i++) { await d.run(RELAY_HOLD_MAX); d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false }); d.send({ t: 'pathHeard' }); t0 = d.now; d.send({ t: 'pathDead', why: 'x' }); }
  assert.ok(!d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MAX - 1) && d.m.mayRelay(R2.hex, t0 + RELAY_HOLD_MAX), 'capped at RELAY_HOLD_MAX');
  // Heard: the next hold is the minimum again.
  await d.run(RELAY_HOLD_MAX);
  d.send({ t: 'relayReady', relay: R2, endpoint: '127.0.0.1:1', kernel: false }); d.send({ t: 'pathHeard' });
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

test('handshake repair: the initiator pokes at once; without a session the other side re-creates after HANDSHAKE_REPAIR_FIRST, the initiator after HANDSHAKE_REPAIR_SECOND; a session seen cancels it', async () => {
  assert.ok(HANDSHAKE_REPAIR_FIRST < HANDSHAKE_REPAIR_SECOND);
  const d = new Driver({ initiator: true });
  d.send({ t: 'lookupResult', found: A });
  assert.deepEqual(kinds(d.send({ t: 'answered', addr: A })), ['setEndpoint', 'poke']);
  const r = await d.until('recreate');
  assert.equal(r.at, HANDSHAKE_REPAIR_SECOND);
  const e = new Driver({ initiator: false });
  e.send({ t: 'lookupResult', found: A });
  assert.deepEqual(kinds(e.send({ t: 'answered', addr: A })), ['setEndpoint'], 'the other side waits for the initiation');
  assert.equal((await e.until('recreate')).at, HANDSHAKE_REPAIR_FIRST);
  const f = new Driver({ initiator: false });
  f.send({ t: 'lookupResult', found: A });
  f.send({ t: 'answered', addr: A });
  f.send({ t: 'handshakeSeen' });
  assert.ok(!has(await f.run(PEER_RECHECK - 1), 'recreate'));
});

test('handshake repair repeats on the side that repairs first: HANDSHAKE_REPAIR_REPEATS more checks, each twice as late; the initiator repairs once; a session seen stops them', async () => {
  const at: number[] = [];
  const f = new Driver({ initiator: false });
  f.send({ t: 'lookupResult', found: A });
  f.send({ t: 'answered', addr: A });
  const t0 = f.now;
  for (let i = 0; i <= HANDSHAKE_REPAIR_REPEATS; i++) at.push((await f.until('recreate')).at - t0);
  const expected = [HANDSHAKE_REPAIR_FIRST];
  for (let i = 1; i <= HANDSHAKE_REPAIR_REPEATS; i++) expected.push(expected[i - 1]! + HANDSHAKE_REPAIR_FIRST * 2 ** i);
  assert.deepEqual(at, expected);
  assert.ok(!has(await f.run(PEER_RECHECK - 1), 'recreate'), 'no more after HANDSHAKE_REPAIR_REPEATS');
  const g = new Driver({ initiator: true });
  g.send({ t: 'lookupResult', found: A });
  const g0 = g.now;
  g.send({ t: 'answered', addr: A });
  assert.equal((await g.until('recreate')).at - g0, HANDSHAKE_REPAIR_SECOND);
  assert.ok(!has(await g.run(PEER_RECHECK - 1), 'recreate'), 'the initiator repairs once (its WireGuard retries by itself)');
  const h = new Driver({ initiator: false });
  h.send({ t: 'lookupResult', found: A });
  h.send({ t: 'answered', addr: A });
  await h.until('recreate');
  h.send({ t: 'handshakeSeen' });
  assert.ok(!has(await h.run(PEER_RECHECK - 1), 'recreate'), 'a session seen after the first repair stops the repeats');
});

test('a relay endpoint, or any on the side that does not initiate, is set without the keepalive (turning it on would initiate), which follows once a session is seen; the initiator pokes a relay endpoint RELAY_POKE_DELAY late', async () => {
  // Relayed (NAT_KEEPALIVE_SECONDS) on the side that waits for the initiation.
  const e = new Driver({ initiator: false });
  await toRace(e);
  const ready = e.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  assert.deepEqual(ready.filter((x) => x.a === 'setEndpoint' || x.a === 'poke' || x.a === 'keepalive'),
    [{ a: 'setEndpoint', endpoint: { kind: 'relay', relay: R1, endpoint: '127.0.0.1:5555', kernel: false }, keepalive: 0 }]);
  const seen = e.send({ t: 'handshakeSeen' });
  assert.deepEqual(seen.filter((x) => x.a === 'keepalive'), [{ a: 'keepalive', seconds: NAT_KEEPALIVE_SECONDS }]);
  assert.ok(!has(e.send({ t: 'handshakeSeen' }), 'keepalive'), 'once per endpoint');
  // Moved to the relay's kernel path before any session: held again, given once a session is seen.
  const kernel = e.send({ t: 'relayReady', relay: R1, endpoint: '198.51.100.1:41000', kernel: true });
  assert.equal(kernel.find((x) => x.a === 'setEndpoint')?.keepalive, 0);
  assert.ok(has(e.send({ t: 'handshakeSeen' }), 'keepalive'));
  // The initiator holds a relay endpoint's keepalive too, and pokes it RELAY_POKE_DELAY later (the
  // peer's held initiation is answered first); a direct endpoint gets both at once.
  const d = new Driver({ initiator: true });
  await toRace(d);
  const dready = d.send({ t: 'relayReady', relay: R1, endpoint: '127.0.0.1:5555', kernel: false });
  assert.equal(dready.find((x) => x.a === 'setEndpoint')?.keepalive, 0, 'a relay endpoint: held on the initiator too');
  assert.ok(!has(dready, 'poke'), 'no poke as the relay link comes up');
  const at = d.now;
  assert.equal((await d.until('poke')).at - at, RELAY_POKE_DELAY);
  assert.deepEqual(d.send({ t: 'handshakeSeen' }).filter((x) => x.a === 'keepalive'), [{ a: 'keepalive', seconds: NAT_KEEPALIVE_SECONDS }]);
  const i = new Driver({ initiator: true, keepalive: 25 });
  i.send({ t: 'lookupResult', found: A });
  const direct = i.send({ t: 'answered', addr: A });
  assert.equal(direct.find((x) => x.a === 'setEndpoint')?.keepalive, 25, 'the initiator, direct: at once, with its poke');
  assert.ok(has(direct, 'poke'));
  const n = new Driver({ initiator: false, keepalive: 25 });
  n.send({ t: 'lookupResult', found: A });
  assert.equal(n.send({ t: 'answered', addr: A }).find((x) => x.a === 'setEndpoint')?.keepalive, 0, 'behind a NAT, direct: held too');
  assert.deepEqual(n.send({ t: 'handshakeSeen' }).filter((x) => x.a === 'keepalive'), [{ a: 'keepalive', seconds: 25 }]);
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


test('only re-check pings count against a direct path: a lookup ping that timed out after a probe got through changes nothing', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  await d.until('punch');
  d.send({ t: 'answered', addr: A }); // a probe's pong
  for (let i = 0; i < PATH_CHECK_FAILURES + 1; i++) d.send({ t: 'unanswered', addr: A }); // the lookup ping's late silence
  assert.equal(d.m.state, 'direct');
  assert.ok(!has(await d.run(PEER_RECHECK - 1), 'ping'), 'the next check is PEER_RECHECK after the answer, not sooner');
});

test('a re-created data plane: a peer on a path is poked and its handshake watched again', async () => {
  const d = new Driver({ initiator: false });
  assert.deepEqual(kinds(d.send({ t: 'restored' })), [], 'nothing while searching');
  d.send({ t: 'answered', addr: A });
  d.send({ t: 'handshakeSeen' });
  await d.run(HANDSHAKE_REPAIR_SECOND);
  const at = d.now;
  assert.deepEqual(kinds(d.send({ t: 'restored' })), ['poke']);
  const r = await d.until('recreate');
  assert.equal(r.at, at + HANDSHAKE_REPAIR_FIRST);
});

test('a punch that ends after its path died and a new search began leaves the new search alone', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  await d.until('punch');
  d.send({ t: 'answered', addr: A }); // a probe won; the probes go on
  d.send({ t: 'pathDead', why: 'x' });
  assert.equal(d.m.state, 'searching');
  d.send({ t: 'punchEnded' }); // the old punch
  assert.equal(d.m.state, 'searching', 'not counted as a failed search');
  const t = d.now;
  d.send({ t: 'lookupResult', found: B });
  assert.equal(d.m.state, 'punching');
  assert.equal((await d.until('punch')).at, t + PATH_PUNCH_AFTER);
});

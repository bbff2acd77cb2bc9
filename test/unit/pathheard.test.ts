// The path machine's `pathHeard` (src/path/machine.ts, heard.ts): a relayed path counts, and
// `wh show` prints `relay`, only once WireGuard received the peer's packets through the relay
// link; a relay not heard through within PATH_RELAY_HEARD_TIMEOUT (a session opened from a
// stale DHT entry of a peer that is gone) is dropped and held, and the attempt failed: back-off,
// then offline. The round-trip time of the last direct pong is shown only while direct.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PATH_PUNCH_AFTER, PATH_RELAY_HEARD_TIMEOUT, PEER_OFFLINE_AFTER, PEER_SEARCH_MAX, RELAY_HOLD_MIN } from '../../src/params.js';
import { A, Driver, R1, R2, has, toRace } from './pathdriver.js';

const LINK = '127.0.0.1:5555';

test('pathHeard: a ready relay link is not shown as relay until the peer is heard through it; then it is, since then', async () => {
  const d = new Driver();
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: LINK, kernel: false });
  assert.equal(d.m.state, 'relayed', 'WireGuard is given the link at once');
  assert.deepEqual(d.log.filter((x) => x.a === 'setEndpoint').at(-1), { a: 'setEndpoint', endpoint: { kind: 'relay', relay: R1, endpoint: LINK, kernel: false }, keepalive: 0 }, "the keepalive follows the first session (src/path/handshake.ts)");
  let v = d.m.view();
  assert.equal(v.shown, 'searching', 'not relay without evidence');
  assert.equal(v.relay, undefined);
  assert.deepEqual(v.via, { relay: R1, endpoint: LINK }, 'the link in use, for the guard');
  await d.run(1000);
  d.send({ t: 'pathHeard' });
  v = d.m.view();
  assert.equal(v.shown, 'relay');
  assert.deepEqual(v.relay, R1);
  assert.equal(v.since, d.now, 'since: when it was first heard through');
  assert.ok(!has(await d.run(PATH_RELAY_HEARD_TIMEOUT * 2), 'closeRelay'), 'a heard relay is kept');
  assert.equal(d.m.view().shown, 'relay');
});

/** The punch's probes take this long (src/nat/punch.ts). */
const PROBES = 2300;

/** A world where the peer is gone but the boot nodes keep its DHT entries: every lookup finds
 *  its old address (which never answers), every punch gets a punch-ok, every relay-open a
 *  ready link; nothing of the peer ever comes through. Runs `ms`; what `wh show` printed (at
 *  every 10 ms), when offline came first, and the relays opened (with when). */
async function staleWorld(d: Driver, ms: number) {
  const shown = new Set<string>();
  const opened: { hex: string; at: number }[] = [];
  const closed: { hex: string; at: number }[] = [];
  let offlineAt: number | undefined, notOffline = 0, seen = d.log.length;
  const punchEnds: number[] = [];
  const end = d.now + ms;
  while (d.now < end) {
    while (seen < d.log.length) {
      const a = d.log[seen++]!;
      if (a.a === 'lookup') d.send({ t: 'lookupResult', found: A });
      else if (a.a === 'punch') { d.send({ t: 'punchAccepted', via: a.rendezvous[0]! }); punchEnds.push(d.now + PROBES); }
      else if (a.a === 'openRelay') { opened.push({ hex: a.relay.hex, at: d.now }); d.send({ t: 'relayReady', relay: a.relay, endpoint: LINK, kernel: false }); }
      else if (a.a === 'closeRelay') closed.push({ hex: a.relay.hex, at: d.now });
    }
    while (punchEnds.length > 0 && punchEnds[0]! <= d.now) { punchEnds.shift(); d.send({ t: 'punchEnded' }); }
    const v = d.m.view().shown;
    shown.add(v);
    if (v === 'offline') offlineAt ??= d.now;
    else if (offlineAt !== undefined) notOffline++;
    await d.clock.run(10);
  }
  return { shown, offlineAt, notOffline, opened, closed };
}

test('pathHeard: a peer gone, its DHT entries stale: each relay opened to it is closed and held after PATH_RELAY_HEARD_TIMEOUT unheard; offline within the bound, never shown relay', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A, rtt: 32 });
  d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' }); // the peer went away
  const t0 = d.now;
  const w = await staleWorld(d, 5 * 60_000);
  assert.ok(!w.shown.has('relay') && !w.shown.has('direct'), `shown: ${[...w.shown].join(', ')}`);
  // Each attempt: lookup, PATH_PUNCH_AFTER, punch-ok, the relay waited on; then the back-off
  // (at most PEER_SEARCH_MAX × 1.2). Offline after PEER_OFFLINE_AFTER of them.
  const bound = PEER_OFFLINE_AFTER * (PATH_PUNCH_AFTER + PATH_RELAY_HEARD_TIMEOUT + PROBES + PEER_SEARCH_MAX * 1.2);
  assert.ok(w.offlineAt !== undefined && w.offlineAt - t0 <= bound, `offline after ${w.offlineAt === undefined ? 'never' : w.offlineAt - t0} ms (bound ${bound})`);
  assert.equal(w.notOffline, 0, 'offline from then on');
  assert.ok(w.opened.length >= 2, `relays were opened from the stale entries: ${JSON.stringify(w.opened)}`);
  for (const o of w.opened) {
    const c = w.closed.find((x) => x.hex === o.hex && x.at >= o.at);
    assert.ok(c !== undefined && c.at - o.at <= PATH_RELAY_HEARD_TIMEOUT + 10, `relay ${o.hex} opened at ${o.at} closed within PATH_RELAY_HEARD_TIMEOUT (${c?.at})`);
    const again = w.opened.find((x) => x.hex === o.hex && x.at > o.at);
    assert.ok(again === undefined || again.at - c.at >= RELAY_HOLD_MIN, `relay ${o.hex} held at least RELAY_HOLD_MIN after it was dropped (again at ${again?.at})`);
  }
});

test('pathHeard: a relay path that dies before the peer was heard through it fails the attempt (no fresh search), and is held', async () => {
  const d = new Driver();
  for (let i = 0; i < PEER_OFFLINE_AFTER; i++) {
    if (i > 0) await d.until('lookup');
    const race = await toRace(d);
    const open = race.find((x) => x.a === 'openRelay')!;
    assert.equal(open.a, 'openRelay');
    d.send({ t: 'relayReady', relay: open.relay, endpoint: LINK, kernel: false });
    d.send({ t: 'punchEnded' });
    const dead = d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' });
    assert.ok(has(dead, 'closeRelay'));
    assert.ok(!d.m.mayRelay(open.relay.hex, d.now));
  }
  assert.equal(d.m.view().shown, 'offline', 'the failures counted');
});

test('pathHeard: a heard relay that dies, or moves to another relay, is to be heard through again', async () => {
  const d = new Driver();
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: LINK, kernel: false });
  d.send({ t: 'pathHeard' });
  // The kernel path of the same relay: still that relay, still heard.
  d.send({ t: 'relayReady', relay: R1, endpoint: '198.51.100.1:41000', kernel: true });
  assert.equal(d.m.view().shown, 'relay');
  assert.equal(d.m.view().kernel, true);
  // A failover to R2: not relay until heard through R2.
  await d.run(500);
  d.send({ t: 'relayReady', relay: R2, endpoint: LINK, kernel: false });
  assert.equal(d.m.view().shown, 'searching');
  assert.equal(d.m.view().since, d.now);
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.view().shown, 'relay');
  assert.deepEqual(d.m.view().relay, R2);
  // A heard relay path that dies: searching afresh (as before), the relay held.
  const dead = d.send({ t: 'pathDead', why: 'x' });
  assert.equal(d.m.state, 'searching');
  assert.ok(has(dead, 'lookup') && has(dead, 'closeRelay'));
  assert.ok(!d.m.mayRelay(R2.hex, d.now));
});

test('pathHeard: ignored unless relayed (searching, punching, direct)', async () => {
  const d = new Driver();
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.view().shown, 'searching');
  await toRace(d);
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.state, 'punching');
  d.send({ t: 'answered', addr: A, rtt: 9 });
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.view().shown, 'direct');
  d.send({ t: 'relayReady', relay: R2, endpoint: LINK, kernel: false }); // closed at once while direct
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.state, 'direct');
});

test('rtt: the last direct pong\'s round trip is shown while direct only, not after the path died, nor on a relay', async () => {
  const d = new Driver();
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A, rtt: 32 });
  assert.equal(d.m.view().rtt, 32);
  d.send({ t: 'pathDead', why: 'WireGuard got no answer on it' });
  assert.equal(d.m.view().shown, 'searching');
  assert.equal(d.m.view().rtt, undefined, 'no round trip once the direct path is gone');
  await toRace(d);
  d.send({ t: 'relayReady', relay: R1, endpoint: LINK, kernel: false });
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.view().shown, 'relay');
  assert.equal(d.m.view().rtt, undefined, 'nor on the relay');
  d.send({ t: 'answered', addr: { host: '192.0.2.99', port: 1 } }); // direct again, no rtt measured
  assert.equal(d.m.view().shown, 'direct');
  assert.equal(d.m.view().rtt, undefined, 'the old round trip does not come back');
});

test('pathHeard: the side that does not initiate, with a session, sends one packet through a relay it was just given (the peer, still direct, follows only once something comes through); once per relay, not once heard', async () => {
  const d = new Driver({ initiator: false });
  d.send({ t: 'lookupResult', found: A });
  d.send({ t: 'answered', addr: A, rtt: 5 });
  d.send({ t: 'handshakeSeen' });
  // UDP blocked (the WebSocket fallback's udpLost): the direct path is dead; a relay over WebSocket.
  d.send({ t: 'pathDead', why: 'UDP to the boot nodes is blocked' });
  await d.until('punch');
  d.send({ t: 'punchAccepted', via: R1 });
  const ready = d.send({ t: 'relayReady', relay: R1, endpoint: LINK, kernel: false, transport: 'ws' });
  assert.ok(has(ready, 'setEndpoint') && !has(ready, 'poke'), 'no poke at once: without a session it would start a handshake that may cross the peer\'s');
  // The daemon reports the session at every WireGuard sample (the one from the direct path is still valid).
  const pokes: number[] = [];
  for (let i = 0; i < 5; i++) { await d.run(1000); if (has(d.send({ t: 'handshakeSeen' }), 'poke')) pokes.push(i); }
  assert.deepEqual(pokes, [0], 'one poke through the relay, at the first session report');
  d.send({ t: 'pathHeard' });
  assert.equal(d.m.view().shown, 'relay');
  await d.run(1000);
  assert.ok(!has(d.send({ t: 'handshakeSeen' }), 'poke'), 'heard: no more');
});

// Attacks on a relay from the public DHT (issue 8, items 3 and 4), against the real relay server
// code: a Traversal on a real DhtNode, clients that are real DhtNodes, over an in-memory network
// of fake transports (test/unit/fakenet.ts), real sealed messages and the real clock; and the
// session table (src/relay/sessions.ts) under a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import type { Addr } from '../../src/proto/addr.js';
import { realClock, type TimerHandle } from '../../src/util/clock.js';
import { randomBytes } from '../../src/util/random.js';
import { Traversal, type TraversalHost } from '../../src/nat/traversal.js';
import { RelaySessions } from '../../src/relay/sessions.js';
import { RELAY_HALF_OPEN_SECONDS, RELAY_MAX_SESSIONS, RELAY_SESSIONS_PER_KEY, RELAY_SESSIONS_PER_SOURCE, SOURCE_PACKETS_BURST, SOURCE_PACKETS_PER_SEC } from '../../src/params.js';
import { FakeNet, FakeTransport, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const NAMESPACE = 'relay-abuse-test';
const R_ADDR: Addr = { host: '192.0.2.1', port: 62096 };

interface Client { dht: DhtNode; transport: FakeTransport; addr: Addr }

/** A relay R (daemon path only: no kernel forwarding) and a way to make clients. */
function relayWorld() {
  const net = new FakeNet();
  const clients: Client[] = [];
  const rt = net.bind(R_ADDR);
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE, transport: rt, clock: realClock, refresh: false });
  const host: TraversalHost = {
    dht: R, log: quietLog(), clock: realClock, isTrusted: () => false, canRelay: () => true, wgPort: undefined,
    relayReady: () => { throw new Error('the relay has no links'); },
    announceAddr: () => undefined, isDirect: () => false, isRendezvous: () => true, relayCandidates: () => [],
  };
  const traversal = new Traversal(host);
  realClock.clearTimeout((traversal as unknown as { renewTimer: TimerHandle }).renewTimer);
  return {
    net, R, traversal,
    client(addr: Addr): Client {
      const transport = net.bind(addr);
      const dht = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE, transport, clock: realClock, refresh: false });
      const c = { dht, transport, addr };
      clients.push(c);
      return c;
    },
    async close() {
      await traversal.close();
      R.close();
      for (const c of clients) c.dht.close();
    },
  };
}

/** relay-open from `c` naming `peer`: the reply's type ('relay-ok', 'error') or 'none'. */
async function relayOpen(c: Client, peer: Uint8Array): Promise<string> {
  const r = await c.dht.rpc.request(R_ADDR, relayKey, (x) => ({ t: 'relay-open', x, k: peer }), { timeout: 500, retries: 0 });
  return r?.msg.t ?? 'none';
}
let relayKey: Uint8Array;

const settle = async (n = 50) => { for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r)); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 32-byte WireGuard transport-data datagram (type 4, (32 - 16) % 16 == 0). */
const WG_DATA = new Uint8Array(32).fill(7);
WG_DATA.set([4, 0, 0, 0]);

test('item 3: a relay session does not exempt its members\' IP from the per-source limit: forged frames from that IP are limited, the session\'s own relay data is not', async () => {
  const w = relayWorld();
  relayKey = w.R.id;
  try {
    // The attacker holds a session (two keys of its own, one IP) on the relay.
    const m1 = w.client({ host: '198.51.100.66', port: 40000 });
    const m2 = w.client({ host: '198.51.100.66', port: 40001 });
    assert.equal(await relayOpen(m1, m2.dht.id), 'relay-ok');
    assert.equal(await relayOpen(m2, m1.dht.id), 'relay-ok');
    // Then floods the relay from that IP with frames under fresh keys: each would cost the relay
    // an X25519 (the key is new) before it fails authentication.
    const flood = 3000, t0 = performance.now();
    for (let i = 0; i < flood; i++) {
      const p = randomBytes(52 + 16 + 40);
      p.set([0xf7, 1, 2, 0]); // magic, version, kind 2 (relay data), reserved
      m1.transport.send(R_ADDR, p);
    }
    await settle(200);
    const seconds = (performance.now() - t0) / 1000;
    const limited = w.R.rpc.counters.get('drop:rate-limited');
    process.stdout.write(`forged frames from a member's IP: ${limited}/${flood} rate-limited before any crypto (${seconds.toFixed(2)} s)\n`);
    // What passed is the source's burst plus its refill meanwhile, nothing more.
    const allowed = SOURCE_PACKETS_BURST + SOURCE_PACKETS_PER_SEC * seconds + 20;
    assert.ok(flood - limited <= allowed, `rate-limited ${limited} of ${flood}: ${flood - limited} reached the crypto (at most ${allowed.toFixed(0)} may)`);

    // The session's own relay data, from the member's own address and key, still passes (more
    // than the per-source burst).
    await sleep(2100); // the source's bucket refills
    const before = w.R.counters.get('relay-forwarded');
    const own = 1500;
    for (let i = 0; i < own; i++) m1.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: m2.dht.id, d: WG_DATA });
    await settle(200);
    assert.equal(w.R.counters.get('relay-forwarded') - before, own, 'every relayed datagram of the session was forwarded');
  } finally {
    await w.close();
  }
});

test('item 4: one key from one IP cannot fill the relay\'s session table with made-up peers; legitimate members still get relay-ok', { timeout: 30_000 }, async () => {
  const w = relayWorld();
  relayKey = w.R.id;
  try {
    const m = w.client({ host: '198.51.100.66', port: 40000 });
    // 300 relay-opens naming made-up keys, paced under the per-source request limit (50/s).
    const attempts = RELAY_MAX_SESSIONS + 44;
    let ok = 0, held = 0;
    for (let i = 0; i < attempts; i += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, attempts - i) }, () => relayOpen(m, randomBytes(32))));
      ok += batch.filter((t) => t === 'relay-ok').length;
      held = Math.max(held, w.traversal.sessions.size);
      await sleep(420);
    }
    process.stdout.write(`attacker: ${ok}/${attempts} relay-opens accepted, at most ${held} sessions held at once\n`);
    // Two legitimate clients open their session.
    const a = w.client({ host: '203.0.113.5', port: 62096 });
    const b = w.client({ host: '203.0.113.6', port: 62096 });
    assert.equal(await relayOpen(a, b.dht.id), 'relay-ok', 'a legitimate relay-open is served');
    assert.equal(await relayOpen(b, a.dht.id), 'relay-ok');
    assert.ok(held <= RELAY_SESSIONS_PER_KEY, `the attacker held ${held} sessions at once (quota ${RELAY_SESSIONS_PER_KEY})`);
  } finally {
    await w.close();
  }
});

// ---- the session table, virtual time ---------------------------------------------------------------

const hex = (n: number) => n.toString(16).padStart(64, '0');
const at = (host: string, port = 62096): Addr => ({ host, port });

test('item 4: a half-open session ends RELAY_HALF_OPEN_SECONDS after it was made, however often its one member renews it', () => {
  const s = new RelaySessions();
  assert.equal(s.open(hex(1), hex(2), at('198.51.100.1'), 0), 'ok');
  for (let t = 1000; t < RELAY_HALF_OPEN_SECONDS * 1000; t += 1000) assert.equal(s.open(hex(1), hex(2), at('198.51.100.1'), t), 'ok');
  s.ports(RELAY_HALF_OPEN_SECONDS * 1000 + 1);
  assert.equal(s.size, 0, 'gone, renewals or not');
  // Joined in time by the other member: it lives on (RELAY_SESSION_SECONDS per renewal).
  assert.equal(s.open(hex(1), hex(2), at('198.51.100.1'), 10_000), 'ok');
  assert.equal(s.open(hex(2), hex(1), at('198.51.100.2'), 11_000), 'ok');
  s.ports(10_000 + RELAY_HALF_OPEN_SECONDS * 1000 + 1);
  assert.equal(s.size, 1);
});

test('item 4: per-key and per-source quotas', () => {
  const s = new RelaySessions();
  let ok = 0;
  for (let i = 0; i < RELAY_SESSIONS_PER_KEY + 10; i++) if (s.open(hex(1), hex(1000 + i), at('198.51.100.1'), 0) === 'ok') ok++;
  assert.equal(ok, RELAY_SESSIONS_PER_KEY, 'one key');
  // Renewing a membership it has is always fine.
  assert.equal(s.open(hex(1), hex(1000), at('198.51.100.1'), 1), 'ok');
  // Many keys, one IP.
  let fromIp = RELAY_SESSIONS_PER_KEY;
  for (let k = 2; k < 10; k++) for (let i = 0; i < RELAY_SESSIONS_PER_KEY; i++) if (s.open(hex(k), hex(5000 + k * 100 + i), at('198.51.100.1', 1000 + k), 0) === 'ok') fromIp++;
  assert.equal(fromIp, RELAY_SESSIONS_PER_SOURCE, 'one source IP');
  // Someone else is served.
  assert.equal(s.open(hex(77), hex(78), at('203.0.113.1'), 0), 'ok');
});

test('item 4: renewing memberships from another IP does not carry them past that IP\'s quota', () => {
  const s = new RelaySessions();
  const X = '198.51.100.1', Y = '198.51.100.2';
  const keysPerBatch = RELAY_SESSIONS_PER_SOURCE / RELAY_SESSIONS_PER_KEY;
  /** Batch `b`: its keys open a full IP's worth of (half-open) sessions from X. */
  const batch = (b: number) => {
    const out: [string, string][] = [];
    for (let k = 0; k < keysPerBatch; k++) for (let i = 0; i < RELAY_SESSIONS_PER_KEY; i++) out.push([hex(100 * (b + 1) + k), hex(10_000 * (b + 1) + 100 * k + i)]);
    return out;
  };
  let movedToY = 0;
  for (let b = 0; b < 3; b++) {
    const sessions = batch(b);
    const opened = sessions.filter(([k, peer]) => s.open(k, peer, at(X, 4000 + b), b) === 'ok');
    if (b === 0) assert.equal(opened.length, RELAY_SESSIONS_PER_SOURCE, 'X opens its quota');
    // The same keys renew from Y (which would free X's quota for the next batch).
    for (const [k, peer] of opened) if (s.open(k, peer, at(Y, 5000), b + 0.5) === 'ok') movedToY++;
  }
  assert.equal(movedToY, RELAY_SESSIONS_PER_SOURCE, `Y holds ${movedToY} sessions (quota ${RELAY_SESSIONS_PER_SOURCE})`);
});

test('item 4: a full table evicts half-open, then idle sessions, never sessions bound by both members', () => {
  const s = new RelaySessions(4, 30_000);
  // One session bound by both members (forwarded in the kernel).
  s.open(hex(1), hex(2), at('198.51.100.1'), 0);
  s.open(hex(2), hex(1), at('198.51.100.2'), 0);
  s.setPort(hex(1), hex(2), 40001);
  assert.ok(s.bind(hex(1), hex(2), 40001, at('198.51.100.1', 5001), 0));
  assert.ok(s.bind(hex(2), hex(1), 40001, at('198.51.100.2', 5002), 0));
  // Three half-open sessions from strangers fill the table.
  for (let i = 0; i < 3; i++) assert.equal(s.open(hex(100 + i), hex(200 + i), at(`192.0.2.${10 + i}`), 100 + i), 'ok');
  // New sessions push the half-open ones out, oldest first.
  assert.equal(s.open(hex(3), hex(4), at('203.0.113.3'), 1000), 'ok');
  assert.equal(s.open(hex(4), hex(3), at('203.0.113.4'), 1000), 'ok');
  assert.equal(s.size, 4);
  assert.equal(s.route(hex(200), hex(100), 1000), undefined);
  assert.equal(s.open(hex(5), hex(6), at('203.0.113.5'), 1000), 'ok');
  assert.equal(s.open(hex(6), hex(5), at('203.0.113.6'), 1000), 'ok');
  assert.equal(s.open(hex(7), hex(8), at('203.0.113.7'), 1000), 'ok');
  assert.equal(s.open(hex(8), hex(7), at('203.0.113.8'), 1000), 'ok');
  // The table now holds the bound session and three established ones that carry traffic.
  for (const [a, b] of [[3, 4], [5, 6], [7, 8]] as const) assert.ok(s.route(hex(a), hex(b), 1500));
  assert.equal(s.open(hex(9), hex(10), at('203.0.113.9'), 2000), 'full', 'every session is protected');
  // Idle for RELAY_ACTIVE: the oldest idle one goes, the bound one stays.
  assert.ok(s.route(hex(5), hex(6), 12_000));
  assert.ok(s.route(hex(7), hex(8), 12_000));
  assert.equal(s.open(hex(9), hex(10), at('203.0.113.9'), 12_000), 'ok');
  assert.equal(s.route(hex(3), hex(4), 12_000), undefined, 'the idle one was evicted');
  assert.deepEqual(s.boundSessions(12_000).map((b) => b.port), [40001], 'the bound session stays');
  assert.equal(s.open(hex(11), hex(12), at('203.0.113.11'), 12_001), 'ok', 'the half-open one made last goes first');
  assert.equal(s.open(hex(13), hex(14), at('203.0.113.13'), 12_002), 'ok');
  assert.equal(s.open(hex(15), hex(16), at('203.0.113.15'), 12_002), 'ok');
  assert.deepEqual(s.boundSessions(12_002).map((b) => b.port), [40001]);
});

// ---- item 5: only WireGuard, shared fairly --------------------------------------------------------

test('item 5: the daemon path relays only what is shaped like WireGuard', async () => {
  const w = relayWorld();
  relayKey = w.R.id;
  try {
    const a = w.client({ host: '203.0.113.5', port: 62096 });
    const b = w.client({ host: '203.0.113.6', port: 62096 });
    assert.equal(await relayOpen(a, b.dht.id), 'relay-ok');
    assert.equal(await relayOpen(b, a.dht.id), 'relay-ok');
    const msg = (type: number, n: number) => { const d = new Uint8Array(n).fill(0x55); d.set([type, 0, 0, 0]); return d; };
    // (A 1000-byte transport message: 984 bytes of plaintext, as capped at a 984-byte tunnel MTU.)
    const good = [msg(1, 148), msg(2, 92), msg(3, 64), msg(4, 32), msg(4, 1280), msg(4, 1000)];
    const bad = [msg(1, 149), msg(2, 148), msg(3, 92), msg(4, 31), msg(4, 33), msg(4, 540), msg(5, 148), new Uint8Array(200).fill(0x41)];
    for (const d of [...good, ...bad]) a.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: b.dht.id, d });
    // A split datagram: only transport data is ever split, so its first fragment is type 4.
    a.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: b.dht.id, d: msg(4, 700), g: 1, i: 0, c: 2 });
    a.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: b.dht.id, d: new Uint8Array(700), g: 1, i: 1, c: 2 });
    a.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: b.dht.id, d: new Uint8Array(700).fill(0x41), g: 2, i: 0, c: 2 });
    await settle(100);
    assert.equal(w.R.counters.get('relay-forwarded'), good.length + 2);
    assert.equal(w.R.counters.get('relay-malformed'), bad.length + 1);
  } finally {
    await w.close();
  }
});

test('item 5: two flooding sessions cannot take the daemon path\'s budget from a third', { timeout: 60_000 }, async () => {
  const w = relayWorld();
  relayKey = w.R.id;
  try {
    const pairs: [Client, Client][] = [];
    for (let i = 0; i < 3; i++) {
      const a = w.client({ host: `203.0.113.${10 + 2 * i}`, port: 62096 });
      const b = w.client({ host: `203.0.113.${11 + 2 * i}`, port: 62096 });
      assert.equal(await relayOpen(a, b.dht.id), 'relay-ok');
      assert.equal(await relayOpen(b, a.dht.id), 'relay-ok');
      pairs.push([a, b]);
    }
    // Two sessions each send 55 000 datagrams at once (more than the global budget of one second,
    // RELAY_GLOBAL_PPS, between them); then the third sends 100.
    const [la, lb] = pairs[2]!;
    const before = lb.dht.rpc.counters.get('rx-ok');
    for (const [a, b] of pairs.slice(0, 2)) for (let i = 0; i < 55_000; i++) a.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: b.dht.id, d: WG_DATA });
    for (let i = 0; i < 100; i++) la.dht.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: lb.dht.id, d: WG_DATA });
    await settle(400);
    const got = lb.dht.rpc.counters.get('rx-ok') - before;
    process.stdout.write(`daemon path: third session got ${got}/100 through two floods (${w.R.counters.get('relay-rate-limited')} flood datagrams limited)\n`);
    assert.equal(got, 100, 'the third session\'s datagrams all got through');
  } finally {
    await w.close();
  }
});

// Floods of forged packets (issue 8 item 2): a forger needs no private key, so every packet it
// sends under a key we have not cached used to cost us one X25519. These tests drive real DhtNodes
// over the in-memory network, count the attacked node's X25519 calls, and check that
// legitimate clients (an old one, and a new one joining during the flood) are still answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady, type Sodium } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { workbit } from '../../src/crypto/workbit.js';
import { DhtNode } from '../../src/dht/node.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork, seededRandom } from '../../src/sim/network.js';
import type { Addr } from '../../src/proto/addr.js';
import { cookieMac, parseCookieReply } from '../../src/proto/cookie.js';

const sodium = await sodiumReady();
const NS = 'dos';
const BOOT: Addr = { host: '10.0.0.1', port: 62096 };
/** The goal of issue 8: under 50 % of one core at ~9,300 X25519/s. We allow a tenth of that to
 *  forged traffic: at most 1,000 X25519 per second of flood, whatever the flood. */
const MAX_X25519_PER_SEC = 1000;

/** The sodium object with crypto_scalarmult (X25519) counted. */
function counting(): { sodium: Sodium; calls: () => number } {
  let n = 0;
  const s = Object.create(sodium) as Sodium;
  s.crypto_scalarmult = ((a: Uint8Array, b: Uint8Array) => { n++; return sodium.crypto_scalarmult(a, b); }) as Sodium['crypto_scalarmult'];
  return { sodium: s, calls: () => n };
}

function secretWithWorkbit(wb: number): Uint8Array {
  for (;;) {
    const s = generateSecret(sodium);
    if (workbit(sodium, sodium.crypto_scalarmult_base(s), NS) >= wb) return s;
  }
}

/** A public key (no private key known to anyone) ground to `wb`, as the forger of issue 8. */
function groundKey(wb: number, rnd: () => number): Uint8Array {
  for (;;) {
    const k = Uint8Array.from({ length: 32 }, () => Math.floor(rnd() * 256));
    if (workbit(sodium, k, NS) >= wb) return k;
  }
}

function forged(key: Uint8Array, counter: number, rnd: () => number, size = 160): Uint8Array {
  const p = Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256));
  p.set([0xf7, 1, 1, 0], 0);
  p.set(key, 4);
  new DataView(p.buffer).setBigUint64(44, BigInt(counter));
  return p;
}

interface World { clock: VirtualClock; net: SimNetwork; boot: DhtNode; calls: () => number }

function world(wb: number): World {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 7, minDelay: 1, maxDelay: 5 });
  const c = counting();
  const boot = new DhtNode({ sodium: c.sodium, secret: secretWithWorkbit(wb), workbit: wb, namespace: NS, transport: net.bind(BOOT), clock, direct: true, refresh: false });
  return { clock, net, boot, calls: c.calls };
}

function client(w: World, wb: number, i: number): DhtNode {
  return new DhtNode({ sodium, secret: secretWithWorkbit(wb), workbit: wb, namespace: NS, transport: w.net.bind({ host: `10.0.9.${i}`, port: 5000 }), clock: w.clock, refresh: false });
}

/** Sends `rate` forged packets per virtual second for `ms` from `sources` spoofed addresses (no
 *  endpoint is bound there: what the node sends back is lost, as for a real spoofer). */
function flood(w: World, o: { rate: number; ms: number; sources: number; key: (i: number) => Uint8Array; rnd: () => number }): void {
  const perMs = o.rate / 1000;
  let n = 0;
  for (let t = 0; t < o.ms; t++) {
    w.clock.setTimeout(() => {
      for (let j = 0; j < perMs; j++, n++) {
        w.net.deliver({ host: `10.1.0.${(n % o.sources) + 1}`, port: 40000 }, BOOT, forged(o.key(n), n, o.rnd));
      }
    }, t);
  }
}

/** Pings the boot node `perSec` times a second for `ms`; resolves the share answered. */
async function pingFor(w: World, c: DhtNode, perSec: number, ms: number): Promise<{ asked: number; answered: number }> {
  let asked = 0, answered = 0, done = 0;
  for (let t = 0; t < ms; t += 1000 / perSec) {
    w.clock.setTimeout(() => { asked++; void c.ping(w.boot.id, BOOT).then((r) => { done++; if (r !== undefined) answered++; }); }, t);
  }
  await w.clock.runUntil(() => asked > 0 && done === asked, ms + 10_000);
  return { asked, answered };
}

async function join(w: World, c: DhtNode, startAt: number): Promise<boolean> {
  let answered: boolean | undefined;
  w.clock.setTimeout(() => { void c.ping(w.boot.id, BOOT).then((r) => { answered = r !== undefined; }); }, startAt);
  await w.clock.runUntil(() => answered !== undefined, startAt + 10_000);
  return answered === true;
}

test('a flood under one reused ground key costs the node one X25519, not one per packet; clients are still answered', async () => {
  const wb = 8, rnd = seededRandom(1);
  const w = world(wb);
  const old = client(w, wb, 1);
  assert.ok(await join(w, old, 0), 'the old client joins before the flood');
  const before = w.calls();
  const key = groundKey(wb, rnd);
  flood(w, { rate: 20_000, ms: 1000, sources: 100, key: () => key, rnd });
  const newcomer = client(w, wb, 2);
  const [pings, joined] = await Promise.all([pingFor(w, old, 20, 1000), join(w, newcomer, 300)]);
  const spent = w.calls() - before;
  assert.ok(spent <= 4, `X25519 calls during a 20,000-packet flood under one key: ${spent} (expected at most 4)`);
  assert.equal(pings.answered, pings.asked, 'every ping of the old client is answered');
  assert.ok(joined, 'a new client joins during the flood');
  w.boot.close(); old.close(); newcomer.close();
});

test('a flood under a fresh random key per packet is held to a bounded X25519 rate; a new client still joins', async () => {
  const wb = 0, rnd = seededRandom(2);
  const w = world(wb);
  const old = client(w, wb, 1);
  assert.ok(await join(w, old, 0));
  const before = w.calls();
  flood(w, { rate: 20_000, ms: 2000, sources: 100, key: () => groundKey(0, rnd), rnd });
  const newcomer = client(w, wb, 2);
  const [pings, joined] = await Promise.all([pingFor(w, old, 20, 2000), join(w, newcomer, 1500)]);
  const spent = w.calls() - before;
  assert.ok(spent <= 2 * MAX_X25519_PER_SEC, `X25519 calls during 2 s of 20,000 random-key packets/s: ${spent} (expected at most ${2 * MAX_X25519_PER_SEC})`);
  assert.equal(pings.answered, pings.asked, 'every ping of the old client is answered');
  assert.ok(joined, 'a new client joins while the budget for new keys is exhausted');
  assert.ok(newcomer.rpc.counters.get('cookie-received') >= 1, 'the newcomer got through by proving its address with a cookie');
  console.log(`# X25519 ${spent}; boot counters ${JSON.stringify(w.boot.rpc.counters.toJSON())}`);
  w.boot.close(); old.close(); newcomer.close();
});

test('one source sending random keys that never authenticate is soon refused X25519 even with budget left', async () => {
  const wb = 0, rnd = seededRandom(3);
  const w = world(wb);
  const before = w.calls();
  flood(w, { rate: 1000, ms: 1000, sources: 1, key: () => groundKey(0, rnd), rnd });
  await w.clock.run(1100);
  const spent = w.calls() - before;
  assert.ok(spent <= 20, `X25519 calls for 1,000 failing keys from one source: ${spent} (expected at most 20)`);
  w.boot.close();
});

test('cookie replies are never larger than the datagram they answer, and few per source', async () => {
  const wb = 0, rnd = seededRandom(4);
  const w = world(wb);
  const attacker = w.net.bind({ host: '10.1.0.1', port: 40000 });
  const replies: number[] = [];
  attacker.setReceiver((d) => replies.push(d.length));
  for (let t = 0; t < 1000; t++) w.clock.setTimeout(() => { for (let j = 0; j < 2; j++) attacker.send(BOOT, forged(groundKey(0, rnd), t, rnd, 70)); }, t);
  await w.clock.run(1100);
  assert.ok(replies.length > 0, 'the source gets cookie replies');
  assert.ok(replies.every((n) => n <= 70), `reply sizes ${[...new Set(replies)].join(',')} within the 70-byte datagrams`);
  assert.ok(replies.length <= 20, `${replies.length} cookie replies to one source in 1 s (at most 20)`);
  w.boot.close();
});

test('an attacker that receives its cookies and uses them is still held to a bounded X25519 rate; a newcomer joins', async () => {
  const wb = 0, rnd = seededRandom(5);
  const w = world(wb);
  const before = w.calls();
  // 100 attacking addresses that read their cookie replies and resend under the same key with
  // the cookie's MAC (what a non-spoofing attacker can do), on top of a random-key flood.
  const ends = Array.from({ length: 100 }, (_, i) => w.net.bind({ host: `10.2.0.${i + 1}`, port: 40000 }));
  const keyOf = new Map<bigint, Uint8Array>(); // the key each counter was sent under
  for (const e of ends) {
    e.setReceiver((d) => {
      const r = parseCookieReply(d);
      const key = r === undefined ? undefined : keyOf.get(r.counter);
      if (r === undefined || key === undefined) return;
      const p = forged(key, Number(r.counter), rnd, 176);
      p[3] = 1; // FLAG_COOKIE, then the MAC over the 160 bytes before it
      p.set(cookieMac(sodium, r.cookie, p.subarray(0, 160)), 160);
      e.send(BOOT, p);
    });
  }
  let n = 0;
  for (let t = 0; t < 2000; t++) {
    w.clock.setTimeout(() => {
      for (let j = 0; j < 20; j++, n++) {
        const k = groundKey(0, rnd);
        keyOf.set(BigInt(n), k);
        ends[n % ends.length]!.send(BOOT, forged(k, n, rnd));
      }
    }, t);
  }
  const newcomer = client(w, wb, 2);
  const joined = await join(w, newcomer, 1500);
  await w.clock.run(1000);
  const spent = w.calls() - before;
  assert.ok(w.boot.rpc.counters.get('cookie-invalid') === 0, "the attacker's cookies are valid");
  assert.ok(spent <= 2 * MAX_X25519_PER_SEC,
    `X25519 calls during 2 s with cookie-using attackers: ${spent} (expected at most ${2 * MAX_X25519_PER_SEC})`);
  assert.ok(joined, 'a new client joins');
  console.log(`# X25519 ${spent}; boot counters ${JSON.stringify(w.boot.rpc.counters.toJSON())}`);
  w.boot.close(); newcomer.close();
});

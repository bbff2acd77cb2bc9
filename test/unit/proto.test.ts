// Wire format: frame, secure channel, replay window, bodies, and a fuzz run of >= 100,000
// malformed, truncated, oversized and forged packets, each rejected and counted by reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { workbit } from '../../src/crypto/workbit.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { ReplayWindow } from '../../src/proto/replay.js';
import { decodeBody, decodeRelayBody, encodeBody, encodeRelayBody, MAX_RELAY_DATA, type Message } from '../../src/proto/messages.js';
import { HEADER_BYTES, looksLikeWireGuard, MAGIC } from '../../src/proto/packet.js';
import { decodeCompactAddr, encodeCompactAddr } from '../../src/proto/addr.js';
import { MAX_PACKET, REPLAY_WINDOW } from '../../src/params.js';
import { Rpc } from '../../src/dht/rpc.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { seededRandom } from '../../src/sim/network.js';
import type { Transport } from '../../src/net/transport.js';

const sodium = await sodiumReady();
const x = new Uint8Array(8).fill(9);

function pair(opts: { workbit?: number; namespace?: string } = {}) {
  const a = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: opts.workbit ?? 0, namespace: opts.namespace ?? 't' });
  const b = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: opts.workbit ?? 0, namespace: opts.namespace ?? 't' });
  return { a, b };
}

test('a sealed packet opens at the receiver, with the sender identified', () => {
  const { a, b } = pair();
  const body = encodeBody({ t: 'ping', x });
  const p = a.seal(b.publicKey, body);
  assert.equal(p[0], MAGIC);
  assert.equal(looksLikeWireGuard(p), false);
  const r = b.open(p);
  assert.ok(r.ok);
  assert.deepEqual(r.sender, a.publicKey);
  assert.deepEqual(r.body, body);
});

test('the body is encrypted: its bytes do not appear in the packet', () => {
  const { a, b } = pair();
  const marker = Buffer.from('find-me-in-the-clear');
  const p = a.seal(b.publicKey, encodeBody({ t: 'error', x, c: 1, m: marker.toString() }));
  assert.equal(Buffer.from(p).indexOf(marker), -1);
});

test('a packet opens only at its intended receiver', () => {
  const { a, b } = pair();
  const c = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 't' });
  const p = a.seal(b.publicKey, encodeBody({ t: 'ping', x }));
  const r = c.open(p);
  assert.deepEqual(r, { ok: false, reason: 'auth' });
});

test('replays are rejected, reordering within the window is accepted', () => {
  const { a, b } = pair();
  const ps = Array.from({ length: 5 }, () => a.seal(b.publicKey, encodeBody({ t: 'ping', x })));
  assert.ok(b.open(ps[0]!).ok);
  assert.deepEqual(b.open(ps[0]!), { ok: false, reason: 'replay' });
  assert.ok(b.open(ps[3]!).ok);
  assert.ok(b.open(ps[1]!).ok); // late but inside the window
  assert.deepEqual(b.open(ps[3]!), { ok: false, reason: 'replay' });
});

test('a restarted sender (newer epoch) is accepted; its old packets are not', () => {
  const secret = generateSecret(sodium);
  const b = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 't' });
  const old = new SecureChannel(sodium, { secret, workbit: 0, namespace: 't', epoch: 1000n });
  const oldPacket = old.seal(b.publicKey, encodeBody({ t: 'ping', x }));
  const unused = old.seal(b.publicKey, encodeBody({ t: 'ping', x }));
  assert.ok(b.open(oldPacket).ok);
  const restarted = new SecureChannel(sodium, { secret, workbit: 0, namespace: 't', epoch: 2000n });
  assert.ok(b.open(restarted.seal(b.publicKey, encodeBody({ t: 'ping', x }))).ok);
  assert.deepEqual(b.open(unused), { ok: false, reason: 'replay' });
});

test('replay window: counters far behind are refused, all others exactly once', () => {
  const w = new ReplayWindow();
  const rnd = seededRandom(3);
  const seen = new Set<bigint>();
  let highest = -1n;
  for (let i = 0; i < 20000; i++) {
    const c = BigInt(Math.floor(rnd() * 6000));
    const expected = !seen.has(c) && (c > highest || highest - c < BigInt(REPLAY_WINDOW));
    assert.equal(w.check(5n, c), expected, `counter ${c} (highest ${highest})`);
    if (expected) {
      w.accept(5n, c);
      seen.add(c);
      if (c > highest) highest = c;
    }
  }
  assert.equal(w.check(4n, 999999n), false, 'older epoch');
});

test('a key below the network workbit is dropped before any crypto', () => {
  // Find a sender whose workbit is 0 under namespace "wb", and a network requiring 1 bit.
  let secret: Uint8Array;
  do secret = generateSecret(sodium); while (workbit(sodium, sodium.crypto_scalarmult_base(secret), 'wb') !== 0);
  const sender = new SecureChannel(sodium, { secret, workbit: 0, namespace: 'wb' });
  const receiver = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 1, namespace: 'wb' });
  assert.deepEqual(receiver.open(sender.seal(receiver.publicKey, encodeBody({ t: 'ping', x }))), { ok: false, reason: 'workbit' });
});

test('every message type survives encode/decode; unknown fields are ignored', () => {
  const k = new Uint8Array(32).fill(1);
  const a4 = { host: '203.0.113.7', port: 4000 }, a6 = { host: '2001:db8::1', port: 5 };
  const msgs: Message[] = [
    { t: 'ping', x }, { t: 'pong', x, a: a4, f: 1 }, { t: 'find', x, k },
    { t: 'nodes', x, n: [{ key: k, addr: a4, direct: true }, { key: k, addr: a6, direct: false, relay: k }] },
    { t: 'punch-req', x, k, a: a4 }, { t: 'punch-ok', x, a: a4, e: a6 }, { t: 'punch-notify', x, k, a: a6 },
    { t: 'punch', x }, { t: 'punch-ack', x, a: a4 }, { t: 'relay-open', x, k }, { t: 'relay-ok', x, l: 60 }, { t: 'relay-ok', x, l: 30, p: 40000 },
    { t: 'relay-bind', x, k }, { t: 'relay-bound', x, a: a4, r: 1 }, { t: 'relay-close', x, k }, { t: 'reach', x, k, a: a6 }, { t: 'reach-ok', x, r: 0 },
    { t: 'relay', k, d: new Uint8Array(1000), g: 7, i: 1, c: 2 }, { t: 'relayed', k, d: new Uint8Array(3) },
    { t: 'alias', x, k, m: k }, { t: 'alias', x, k, m: k, i: 3 }, { t: 'alias-ok', x, c: 2, i: 1, d: new Uint8Array(1024) }, { t: 'ack', x }, { t: 'error', x, c: 3, m: 'busy' },
  ];
  for (const m of msgs) {
    const r = decodeBody(encodeBody(m));
    assert.ok(r.ok, m.t);
    assert.deepEqual(r.msg, m);
  }
  // An extra field from a future minor revision is ignored.
  const withExtra = new TextEncoder().encode('d1:ti1e1:t4:ping1:vi1e1:x8:' + 'A'.repeat(8) + 'e');
  assert.equal(decodeBody(withExtra).ok, false); // not canonical: keys out of order
  const canonical = new TextEncoder().encode('d1:t4:ping1:vi1e1:x8:AAAAAAAA1:zi7ee');
  const r = decodeBody(canonical);
  assert.ok(r.ok && r.msg.t === 'ping');
});

test('bodies: unknown types, wrong versions, bad fields and non-canonical bencode are rejected by reason', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.deepEqual(decodeBody(enc('d1:t4:zzzz1:vi1e1:x8:AAAAAAAAe')), { ok: false, reason: 'unknown-type' });
  assert.deepEqual(decodeBody(enc('d1:t4:ping1:vi2e1:x8:AAAAAAAAe')), { ok: false, reason: 'body-version' });
  assert.deepEqual(decodeBody(enc('d1:t4:ping1:vi1e1:x7:AAAAAAAe')), { ok: false, reason: 'body' });
  assert.deepEqual(decodeBody(enc('d1:t4:ping1:vi1e1:x8:AAAAAAAAejunk')), { ok: false, reason: 'bencode' });
  assert.deepEqual(decodeBody(enc('d1:t4:ping1:vi01e1:x8:AAAAAAAAe')), { ok: false, reason: 'bencode' });
  assert.deepEqual(decodeBody(enc('li1ee')), { ok: false, reason: 'body' });
  assert.deepEqual(decodeBody(enc('')), { ok: false, reason: 'bencode' });
  assert.equal(decodeBody(enc('d9:__proto__d1:ai1eee')).ok, false);
  assert.equal(({} as Record<string, unknown>)['a'], undefined, 'no prototype pollution');
});

test('compact addresses round-trip, IPv4-mapped IPv6 becomes IPv4', () => {
  for (const a of [{ host: '1.2.3.4', port: 1 }, { host: 'fe80::1', port: 65535 }, { host: '2001:db8:0:1:2:3:4:5', port: 80 }]) {
    assert.deepEqual(decodeCompactAddr(encodeCompactAddr(a)), a);
  }
  assert.deepEqual(decodeCompactAddr(encodeCompactAddr({ host: '::ffff:9.8.7.6', port: 3 })), { host: '9.8.7.6', port: 3 });
  assert.equal(decodeCompactAddr(new Uint8Array(6)), undefined, 'port 0');
  assert.equal(decodeCompactAddr(new Uint8Array(7)), undefined);
});

test('fuzz: 100,000+ hostile packets never throw, are all rejected and counted by reason', () => {
  const rnd = seededRandom(20261122);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = int(256); return b; };
  const receiverSecret = generateSecret(sodium);
  const mk = (workbit: number) => new SecureChannel(sodium, { secret: receiverSecret, workbit, namespace: 'fuzz' });
  const receiver = mk(0);
  const senders = Array.from({ length: 8 }, () => new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'fuzz' }));
  const valid = () => senders[int(senders.length)]!.seal(receiver.publicKey, encodeBody({ t: 'find', x: bytes(8), k: bytes(32) }, int(300)));
  const replayPool = Array.from({ length: 64 }, valid);
  for (const p of replayPool) assert.ok(receiver.open(p).ok); // accepted once ...

  // Feed everything through the RPC layer (as the daemon does) with a fake transport.
  const clock = new VirtualClock();
  const transport: Transport = { send() {}, setReceiver() {}, close() {} };
  const rpc = new Rpc(receiver, transport, clock, (n) => bytes(n), { onRequest: () => assert.fail('a hostile packet reached the handler'), onOneWay: () => assert.fail('a hostile packet reached the handler') });
  const from = () => ({ host: `192.0.2.${int(250) + 1}`, port: 1 + int(65535) });
  const strategies: [string, () => Uint8Array][] = [
    ['random', () => bytes(int(1600))],
    ['truncated', () => { const p = valid(); return p.subarray(0, int(p.length)); }],
    ['oversized', () => { const p = new Uint8Array(MAX_PACKET + 1 + int(8000)); p.set(valid()); return p; }],
    ['bitflip', () => { const p = valid(); p[int(p.length)]! ^= 1 << int(8); return p; }],
    ['forged-tag', () => { const p = valid(); p.set(bytes(16), p.length - 16); return p; }],
    ['wrong-header', () => { const p = valid(); const i = int(4); p[i] = (p[i]! + 1 + int(255)) & 255; return p; }],
    ['replay', () => replayPool[int(replayPool.length)]!],
    ['random-sender', () => { const p = valid(); p.set(bytes(32), 4); return p; }],
    ['wireguard-like', () => { const p = bytes(32 + int(200)); p[0] = 1 + int(4); p[1] = p[2] = p[3] = 0; return p; }],
    ['garbage-body', () => senders[0]!.seal(receiver.publicKey, bytes(1 + int(400)))],
    ['bad-fields', () => senders[1]!.seal(receiver.publicKey, new TextEncoder().encode(`d1:t${['4:ping', '4:find', '5:nodes', '4:pong', '5:relay'][int(5)]}1:vi1e1:x${int(12)}:${'A'.repeat(0)}e`))],
    ['unknown-type', () => senders[2]!.seal(receiver.publicKey, new TextEncoder().encode('d1:t5:hello1:vi1e1:x8:AAAAAAAAe'))],
    ['unexpected-response', () => senders[3]!.seal(receiver.publicKey, encodeBody({ t: 'pong', x: bytes(8), a: { host: '192.0.2.1', port: 9 }, f: 0 }))],
  ];
  const N = 104_000;
  for (let i = 0; i < N; i++) {
    const [name, gen] = strategies[i % strategies.length]!;
    let p: Uint8Array;
    try { p = gen(); } catch (err) { assert.fail(`generator ${name} threw: ${String(err)}`); }
    rpc.receive(p, from());
  }
  const c = rpc.counters.toJSON();
  const drops = Object.entries(c).filter(([k]) => k.startsWith('drop:')).reduce((s, [, v]) => s + v, 0);
  assert.equal(c['rx'], N);
  assert.equal(drops, N, `every packet dropped: ${JSON.stringify(c)}`);
  assert.equal(c['rx-ok'] ?? 0, 0);
  assert.equal(c['drop:handler-error'] ?? 0, 0);
  for (const reason of ['magic', 'short', 'oversize', 'auth', 'replay', 'bencode', 'body', 'unknown-type', 'unexpected-response']) {
    assert.ok((c['drop:' + reason] ?? 0) > 0, `reason ${reason} seen: ${JSON.stringify(c)}`);
  }
  // The per-IP limiter must not have hidden the decoder from the fuzz: most got through to it.
  assert.ok((c['drop:rate-limited'] ?? 0) < N / 10);
});

test('fast-check: decodeBody and open never throw on arbitrary bytes', () => {
  const { b } = pair();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1600 }), (data) => {
    const r1 = decodeBody(data);
    const r2 = b.open(data);
    return r1.ok === false && r2.ok === false;
  }), { numRuns: 5000, seed: 42 });
  fc.assert(fc.property(fc.uint8Array({ minLength: HEADER_BYTES, maxLength: 400 }), (tail) => {
    const p = new Uint8Array(tail);
    p[0] = MAGIC; p[1] = 1; p[2] = 1; p[3] = 0;
    return b.open(p).ok === false;
  }), { numRuns: 5000, seed: 43 });
});

test('relay data (frame kind 2): binary bodies round-trip; malformed ones are rejected, never thrown', () => {
  const k = new Uint8Array(32).fill(7);
  for (const m of [
    { t: 'relay', k, d: new Uint8Array(100).fill(1) },
    { t: 'relayed', k, d: new Uint8Array(MAX_RELAY_DATA).fill(2), g: 0xfffffffe, i: 1, c: 2 },
  ] as Message[]) {
    const r = decodeRelayBody(encodeRelayBody(m as Extract<Message, { t: 'relay' | 'relayed' }>));
    assert.ok(r.ok);
    assert.deepEqual(r.msg, m);
  }
  const good = encodeRelayBody({ t: 'relay', k, d: new Uint8Array(10), g: 1, i: 0, c: 2 });
  const bad = (f: (b: Uint8Array) => void) => { const b = new Uint8Array(good); f(b); return decodeRelayBody(b).ok; };
  assert.equal(bad((b) => { b[0] = 3; }), false, 'type');
  assert.equal(bad((b) => { b[37] = 2; }), false, 'index >= count');
  assert.equal(bad((b) => { b[38] = 0; }), false, 'count 0');
  assert.equal(bad((b) => { b[38] = 9; }), false, 'count too large');
  assert.equal(decodeRelayBody(good.subarray(0, 39)).ok, false, 'no data');
  assert.equal(decodeRelayBody(new Uint8Array(39 + MAX_RELAY_DATA + 1)).ok, false, 'too much data');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 1500 }), (data) => { decodeRelayBody(data); return true; }), { numRuns: 5000, seed: 44 });
});

test('a kind-2 frame must carry relay data, and relay data must travel in kind-2 frames', () => {
  const { a, b } = pair();
  const clock = new VirtualClock();
  const transport: Transport = { send() {}, setReceiver() {}, close() {} };
  const seen: string[] = [];
  const rpc = new Rpc(b, transport, clock, (n) => new Uint8Array(n), { onRequest: (r) => seen.push(r.msg.t), onOneWay: (m) => seen.push(m.msg.t) });
  const from = { host: '192.0.2.1', port: 1 };
  const relay = encodeRelayBody({ t: 'relay', k: a.publicKey, d: new Uint8Array(5) });
  rpc.receive(a.seal(b.publicKey, relay, 2), from);
  rpc.receive(a.seal(b.publicKey, encodeBody({ t: 'ping', x }), 2), from);
  rpc.receive(a.seal(b.publicKey, encodeBody({ t: 'relay', k: a.publicKey, d: new Uint8Array(5) })), from);
  assert.deepEqual(seen, ['relay']);
  assert.equal(rpc.counters.get('drop:body'), 2);
});

test('replay window: the same counters are accepted whether few or many arrive per window', () => {
  // Counters close together (the bitmap), far apart (the short list), and runs that switch
  // between the two, checked against a plain set of every counter accepted so far.
  for (const [seed, spread] of [[11, 40], [12, 600], [13, 5000], [14, 90]] as const) {
    const w = new ReplayWindow();
    const rnd = seededRandom(seed);
    const seen = new Set<bigint>();
    let highest = -1n, base = 0n;
    for (let i = 0; i < 8000; i++) {
      if (rnd() < 0.01) base += BigInt(Math.floor(rnd() * 3 * REPLAY_WINDOW)); // a jump ahead
      const c = base + BigInt(Math.floor(rnd() * spread));
      const expected = !seen.has(c) && (c > highest || highest - c < BigInt(REPLAY_WINDOW));
      assert.equal(w.check(7n, c), expected, `seed ${seed}: counter ${c} (highest ${highest})`);
      if (expected) {
        w.accept(7n, c);
        seen.add(c);
        if (c > highest) highest = c;
      }
    }
  }
});

test('a channel that forgets peers past its limits still seals and opens right for every peer', () => {
  // Few slots, many peers, in an order that evicts from both caches and reuses their memory:
  // every packet must still open with the right keys, in both directions.
  const hub = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 't', maxPeers: 3, maxUnverified: 2 });
  const peers = Array.from({ length: 9 }, () => new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 't' }));
  const rnd = seededRandom(21);
  const before = hub.derivations;
  for (let i = 0; i < 300; i++) {
    const p = peers[Math.floor(rnd() * peers.length)]!;
    const body = encodeBody({ t: 'ping', x: new Uint8Array(8).fill(i & 255) });
    if (rnd() < 0.5) {
      const r = hub.open(p.seal(hub.publicKey, body));
      assert.ok(r.ok, `packet ${i} from a peer`);
      assert.deepEqual(r.body, body);
    } else if (rnd() < 0.8) {
      const r = p.open(hub.seal(p.publicKey, body));
      assert.ok(r.ok, `packet ${i} to a peer`);
      assert.deepEqual(r.body, body);
    } else {
      // A forged packet under p's key: derived, cached apart, then fails.
      const forged = p.seal(hub.publicKey, body);
      forged[forged.length - 1]! ^= 1;
      assert.deepEqual(hub.open(forged), { ok: false, reason: 'auth' });
    }
    assert.ok(hub.peerCount <= 3);
  }
  assert.ok(hub.derivations - before > 9, 'states were forgotten and derived again');
});

test('IPv4 text is read as node:net reads it (dotted quad, no leading zeros)', async () => {
  const { isIPv4 } = await import('node:net');
  const { ipv4ToBytes } = await import('../../src/proto/addr.js');
  const text = fc.oneof(
    fc.tuple(fc.nat(300), fc.nat(300), fc.nat(300), fc.nat(300)).map((p) => p.join('.')),
    fc.array(fc.constantFrom('0', '1', '9', '25', '255', '256', '00', '01', '.', ' ', 'a', ':'), { maxLength: 9 }).map((p) => p.join('')),
  );
  fc.assert(fc.property(text, (s) => {
    const b = ipv4ToBytes(s);
    assert.equal(b !== undefined, isIPv4(s), JSON.stringify(s));
    if (b !== undefined) assert.equal(Array.from(b).join('.'), s);
  }), { numRuns: 20000 });
});

test('X25519 through node:crypto gives libsodium\'s shared secrets, and refuses the same keys', async () => {
  const { X25519 } = await import('../../src/crypto/x25519.js');
  const rnd = seededRandom(31);
  const bytes = () => new Uint8Array(32).map(() => Math.floor(rnd() * 256));
  // Low-order points of Curve25519 (and their non-canonical forms), where libsodium refuses.
  const p = (2n ** 255n) - 19n;
  const le = (v: bigint) => { const b = new Uint8Array(32); for (let i = 0; i < 32; i++, v >>= 8n) b[i] = Number(v & 0xffn); return b; };
  const lowOrder = [0n, 1n, p - 1n, p, p + 1n,
    0x00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0n, 0x57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5fn]
    .map(le);
  for (let i = 0; i < 60; i++) {
    const secret = i % 3 === 0 ? bytes() : generateSecret(sodium); // unclamped secrets too
    const x = new X25519(secret, sodium.crypto_scalarmult_base(secret));
    const peers = [sodium.crypto_scalarmult_base(generateSecret(sodium)), bytes(), ...lowOrder];
    const high = bytes(); high[31]! |= 0x80; // the top bit is ignored
    peers.push(high, le(p + BigInt(i + 2))); // a non-canonical u (>= p)
    for (const peer of peers) {
      let expected: Uint8Array | undefined;
      try { expected = sodium.crypto_scalarmult(secret, peer); } catch { expected = undefined; }
      assert.deepEqual(x.shared(peer), expected, `peer ${Buffer.from(peer).toString('hex')}`);
    }
  }
});

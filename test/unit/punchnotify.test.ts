// Who trusts whom must not leak through punch-notify (issue 8 item 6). A node M that the target
// B takes for a rendezvous sends B `punch-notify {k = K, a = V}` for a key K that B trusts and
// for one it does not, naming a victim address V. What leaves B must be the same in both cases,
// and B must send nothing to V on M's word. A genuine punch (A asks rendezvous R for B) still
// makes both sides probe, and the probes a notified node sends stay within their bounds.
// Real DhtNodes and Traversals over fake transports, on a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { advance, FakeNet, FakeTransport, quietLog } from './fakenet.js';
import { Traversal, type TraversalHost } from '../../src/nat/traversal.js';
import { sealIntro } from '../../src/nat/intro.js';
import { NOTIFY_MIN_INTERVAL, PING_PAD_TO, PUNCH_NOTIFY_BUDGET, PUNCH_NOTIFY_BURSTS_BURST, PUNCH_NOTIFY_PROBES } from '../../src/params.js';

const sodium = await sodiumReady();
const NAMESPACE = 'punchnotify-test';
const B_ADDR: Addr = { host: '203.0.113.9', port: 62096 };
const M_ADDR: Addr = { host: '192.0.2.66', port: 62096 };
const M2_ADDR: Addr = { host: '192.0.2.67', port: 62096 };
const A_ADDR: Addr = { host: '198.51.100.7', port: 62096 };
const A_MAPPED: Addr = { host: '198.51.100.7', port: 40123 };
const R_ADDR: Addr = { host: '192.0.2.1', port: 62096 };
/** The victim: nobody listens there; whatever B sends there is the attack's yield. */
const VICTIM: Addr = { host: '198.18.0.50', port: 9 };

interface Peer {
  dht: DhtNode;
  transport: FakeTransport;
  traversal?: Traversal;
}

function node(net: FakeNet, clock: VirtualClock, addr: Addr): Peer {
  const transport = net.bind(addr);
  const dht = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE, transport, clock, refresh: false });
  return { dht, transport };
}

function host(self: Peer, clock: VirtualClock, trusted: (hex: string) => boolean, rendezvous: (hex: string) => boolean, canRelay = false): TraversalHost {
  return {
    dht: self.dht,
    clock,
    log: quietLog(),
    isTrusted: trusted,
    canRelay: () => canRelay,
    wgPort: canRelay ? undefined : 51820,
    relayReady: () => undefined,
    announceAddr: () => undefined,
    isDirect: () => false,
    isRendezvous: rendezvous,
    relayCandidates: () => [],
  };
}

/** Moves virtual time on by `ms`, 10 ms at a time, letting the fake network (which delivers one
 *  macrotask later) and promise continuations settle at every step. */
/** A port-restricted cone NAT in front of `p`: datagrams from an address reach it only once it
 *  has sent to that address. */
function behindNat(p: Peer): void {
  const t = p.transport, inner = t.receiver!, opened = new Set<string>();
  const send = t.send.bind(t);
  t.send = (to, data) => { opened.add(addrKey(to)); send(to, data); };
  t.setReceiver((data, from) => { if (opened.has(addrKey(from))) inner(data, from); });
}

type Sent = { to: string; size: number };

/** What `t` sent since `from`: destination and size of each datagram, in order. */
function sentSince(t: FakeTransport, from: number): Sent[] {
  return t.sent.slice(from).map((s) => ({ to: addrKey(s.to), size: s.data.length }));
}
const toVictim = <D extends { to: string }>(s: D[]) => s.filter((d) => d.to === addrKey(VICTIM));
const bytes = (s: Sent[]) => s.reduce((n, d) => n + d.size, 0);

/**
 * A fresh target B that trusts key T and takes M for a rendezvous; M sends it one punch-notify
 * naming VICTIM, for T or for an untrusted key U, without an introduction or with a forged one
 * (M sealed it itself: it cannot seal as the key it names). Returns what B sent in the 3 s that
 * follow (longer than a full burst of probes).
 */
async function attack(which: 'trusted' | 'untrusted', withIntro: boolean): Promise<Sent[]> {
  const clock = new VirtualClock(), net = new FakeNet();
  const B = node(net, clock, B_ADDR), M = node(net, clock, M_ADDR);
  const T = sodium.crypto_scalarmult_base(generateSecret(sodium)), U = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const tHex = Buffer.from(T).toString('hex');
  B.traversal = new Traversal(host(B, clock, (hex) => hex === tHex, (hex) => hex === M.dht.hex));
  try {
    const before = B.transport.sent.length;
    const k = which === 'untrusted' ? U : T;
    const forged = withIntro ? sealIntro(M.dht.channel, B.dht.id, M.dht.id) : undefined;
    const ack = M.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k, a: VICTIM, ...(forged ? { i: forged } : {}) }));
    await advance(clock, 3000);
    assert.equal((await ack)?.msg.t, 'ack', 'B acknowledges the punch-notify');
    return sentSince(B.transport, before);
  } finally {
    await B.traversal.close();
    B.dht.close();
    M.dht.close();
  }
}

test('punch-notify from a rendezvous: B sends the same whether or not it trusts the key, and nothing to the address named', async () => {
  const trusted = await attack('trusted', false), untrusted = await attack('untrusted', false);
  const summary = (s: Sent[]) => `${s.length} datagrams, ${bytes(s)} B, ${toVictim(s).length} to the victim`;
  assert.equal(summary(trusted), summary(untrusted), 'what leaves B does not depend on whether it trusts the key');
  assert.deepEqual(trusted, untrusted, 'the same datagrams, in the same order');
  assert.equal(toVictim(trusted).length, 0,
    `on M's word alone, B sent ${toVictim(trusted).length} datagrams (${bytes(toVictim(trusted))} B) to the victim for a trusted key`);
  assert.equal(toVictim(untrusted).length, 0, 'nothing to the victim for an untrusted key');
  assert.deepEqual(trusted.map((d) => d.to), [addrKey(M_ADDR)], 'one datagram, the ack, to M');
});

test('punch-notify with a forged introduction: the same for a trusted and an untrusted key, nothing to the address named', async () => {
  const trusted = await attack('trusted', true), untrusted = await attack('untrusted', true);
  assert.deepEqual(trusted, untrusted, 'what leaves B does not depend on whether it trusts the key');
  assert.equal(toVictim(trusted).length, 0, 'nothing to the victim');
  // The ack, then (the notify being large enough for it, section 9.4) B's ping to verify M.
  assert.deepEqual(trusted, [{ to: addrKey(M_ADDR), size: 97 }, { to: addrKey(M_ADDR), size: PING_PAD_TO }]);
});

test('a genuine punch between two port-restricted NATs: A asks R for B, both sides probe, and A gets through', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const A = node(net, clock, A_ADDR), B = node(net, clock, B_ADDR), R = node(net, clock, R_ADDR);
  const all = [A, B, R];
  // A's probes reach B only once B has probed A (and B's, A once A has probed B).
  behindNat(A);
  behindNat(B);
  R.traversal = new Traversal(host(R, clock, () => false, () => true, true));
  A.traversal = new Traversal(host(A, clock, (hex) => hex === B.dht.hex, (hex) => hex === R.dht.hex));
  B.traversal = new Traversal(host(B, clock, (hex) => hex === A.dht.hex, (hex) => hex === R.dht.hex));
  try {
    for (const c of [A, B]) {
      const p1 = c.dht.ping(R.dht.id, R_ADDR), p2 = R.dht.ping(c.dht.id, c.transport.addr);
      await advance(clock, 50);
      assert.ok((await p1) && (await p2), 'the clients and R know each other');
    }
    const aBefore = A.transport.sent.length, bBefore = B.transport.sent.length, rBefore = R.transport.sent.length;
    const punched = A.traversal.punch(B.dht.id, [{ key: R.dht.id, hex: R.dht.hex, addr: R_ADDR }], () => false);
    await advance(clock, 3000);
    const r = await punched;
    assert.equal(r.direct, true, 'a probe of A was answered');
    assert.equal(r.via?.hex, R.dht.hex);
    const notify = sentSince(R.transport, rBefore).find((d) => d.to === addrKey(B_ADDR));
    assert.ok(notify, 'R notified B');
    const aProbes = sentSince(A.transport, aBefore).filter((d) => d.to === addrKey(B_ADDR));
    const bProbes = sentSince(B.transport, bBefore).filter((d) => d.to === addrKey(A_ADDR) && d.size === PING_PAD_TO);
    assert.ok(aProbes.length >= 1, 'A probed B');
    assert.ok(bProbes.length >= 1, 'B probed A');
    assert.ok(bProbes.length <= PUNCH_NOTIFY_PROBES, `B sent ${bProbes.length} probes`);
    assert.ok(bytes(bProbes) <= PUNCH_NOTIFY_BUDGET * notify.size, `B's probes: ${bytes(bProbes)} B for a ${notify.size} B notify`);
  } finally {
    for (const n of all) await n.traversal?.close();
    for (const n of all) n.dht.close();
  }
});

test('a rendezvous holding a genuine introduction: a few probes within budget, no replay, not through another rendezvous', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const A = node(net, clock, A_ADDR), B = node(net, clock, B_ADDR), M = node(net, clock, M_ADDR), M2 = node(net, clock, M2_ADDR);
  const all = [A, B, M, M2];
  const rendezvous = new Set([M.dht.hex, M2.dht.hex]);
  B.traversal = new Traversal(host(B, clock, (hex) => hex === A.dht.hex, (hex) => rendezvous.has(hex)));
  let notifySize = 0;
  const notify = async (from: Peer, i: Uint8Array): Promise<Sent[]> => {
    const before = B.transport.sent.length, sent = from.transport.sent.length;
    const ack = from.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k: A.dht.id, a: VICTIM, i }));
    notifySize = from.transport.sent[sent]!.data.length;
    await advance(clock, NOTIFY_MIN_INTERVAL + 1000);
    assert.equal((await ack)?.msg.t, 'ack');
    return sentSince(B.transport, before);
  };
  const count = (what: string) => B.dht.counters.get(`punch-notify-${what}`);
  try {
    // A asked M for B (this is the introduction its punch-req to M carried); M rewrites the
    // address to probe to the victim's.
    const intro = sealIntro(A.dht.channel, B.dht.id, M.dht.id)!;
    const first = await notify(M, intro);
    const hits = toVictim(first);
    assert.ok(hits.length >= 1, 'B acts on a genuine introduction of a trusted key');
    assert.ok(hits.length <= PUNCH_NOTIFY_PROBES, `${hits.length} probes to the address M named`);
    assert.ok(bytes(hits) <= PUNCH_NOTIFY_BUDGET * notifySize, `${bytes(hits)} B of probes for a ${notifySize} B punch-notify`);

    // The same introduction again, after NOTIFY_MIN_INTERVAL: B's replay window refuses it.
    assert.equal(toVictim(await notify(M, intro)).length, 0, 'a replayed introduction causes no probe');
    assert.equal(count('intro-replay'), 1);
    // A fresh introduction that A gave M, passed on by M2: not through the rendezvous it names.
    assert.equal(toVictim(await notify(M2, sealIntro(A.dht.channel, B.dht.id, M.dht.id)!)).length, 0, 'M\'s introduction used by M2');
    assert.equal(count('intro-rendezvous'), 1);
    // A's own mapped address in its introduction is probed rather than the one M named.
    const own = await notify(M, sealIntro(A.dht.channel, B.dht.id, M.dht.id, A_MAPPED)!);
    assert.equal(toVictim(own).length, 0);
    assert.ok(own.some((d) => d.to === addrKey(A_MAPPED)), 'B probes the address A itself gave');
  } finally {
    await B.traversal.close();
    for (const n of all) n.dht.close();
  }
});

test('caps: one burst per peer per NOTIFY_MIN_INTERVAL, and PUNCH_NOTIFY_BURSTS_BURST bursts at once for all peers', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const B = node(net, clock, B_ADDR), M = node(net, clock, M_ADDR);
  const peers = Array.from({ length: PUNCH_NOTIFY_BURSTS_BURST + 4 }, () => new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE }));
  const trusted = new Set(peers.map((p) => p.publicHex));
  B.traversal = new Traversal(host(B, clock, (hex) => trusted.has(hex), (hex) => hex === M.dht.hex));
  // Each peer's probes are aimed at an address of its own, so that they can be told apart.
  const target = (i: number): Addr => ({ host: '198.18.1.' + (i + 1), port: 9 });
  const notify = (i: number) => M.dht.rpc.request(B_ADDR, B.dht.id,
    (x) => ({ t: 'punch-notify', x, k: peers[i]!.publicKey, a: target(i), i: sealIntro(peers[i]!, B.dht.id, M.dht.id)! }));
  const probed = (from: number) => new Set(sentSince(B.transport, from).filter((d) => d.to.startsWith('198.18.1.')).map((d) => d.to));
  try {
    // The same peer twice, with two genuine introductions: one burst.
    let before = B.transport.sent.length;
    void notify(0); void notify(0);
    await advance(clock, NOTIFY_MIN_INTERVAL - 500);
    assert.equal(sentSince(B.transport, before).filter((d) => d.to === addrKey(target(0))).length, PUNCH_NOTIFY_PROBES);
    assert.equal(B.dht.counters.get('punch-notify-throttled'), 1);
    await advance(clock, 60_000); // the global bucket fills up again
    // Every peer at once: bursts for PUNCH_NOTIFY_BURSTS_BURST of them, the others without probes.
    before = B.transport.sent.length;
    for (let i = 0; i < peers.length; i++) void notify(i);
    await advance(clock, 1000);
    assert.equal(probed(before).size, PUNCH_NOTIFY_BURSTS_BURST, 'peers probed at once');
    assert.equal(B.dht.counters.get('punch-notify-busy'), peers.length - PUNCH_NOTIFY_BURSTS_BURST);
  } finally {
    await B.traversal.close();
    B.dht.close();
    M.dht.close();
  }
});

/** A UDP socket on loopback standing in for a node's WireGuard (what a relay link delivers). */
async function fakeWireGuard(): Promise<{ port: number; got: Buffer[]; close: () => void }> {
  const s = dgram.createSocket('udp4'), got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, got, close: () => s.close() };
}

/**
 * M, a rendezvous of B, sends B a `relayed` from key K (trusted by B, or not) that nobody asked
 * to relay. Returns what B sent in the 3 s that follow, and what reached B's WireGuard.
 */
async function relayedAttack(which: 'trusted' | 'untrusted'): Promise<{ sent: Sent[]; delivered: number }> {
  const clock = new VirtualClock(), net = new FakeNet();
  const B = node(net, clock, B_ADDR), M = node(net, clock, M_ADDR);
  const T = sodium.crypto_scalarmult_base(generateSecret(sodium)), U = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const tHex = Buffer.from(T).toString('hex');
  const wg = await fakeWireGuard();
  B.traversal = new Traversal({ ...host(B, clock, (hex) => hex === tHex, (hex) => hex === M.dht.hex), wgPort: wg.port });
  try {
    const before = B.transport.sent.length;
    M.dht.rpc.send(B_ADDR, B.dht.id, { t: 'relayed', k: which === 'trusted' ? T : U, d: new Uint8Array(148).fill(1) });
    await advance(clock, 3000);
    await new Promise((r) => setTimeout(r, 50)); // a delivery to the loopback socket, if any
    return { sent: sentSince(B.transport, before), delivered: wg.got.length };
  } finally {
    await B.traversal.close();
    B.dht.close();
    M.dht.close();
    wg.close();
  }
}

test('relayed from a rendezvous for a key nobody introduced: B sends the same whether or not it trusts the key', async () => {
  const trusted = await relayedAttack('trusted'), untrusted = await relayedAttack('untrusted');
  const opens = (s: Sent[]) => s.filter((d) => d.to === addrKey(M_ADDR)).length;
  assert.deepEqual(trusted.sent, untrusted.sent,
    `what leaves B does not depend on whether it trusts the key (trusted: ${opens(trusted.sent)} datagrams to M, untrusted: ${opens(untrusted.sent)})`);
  assert.equal(trusted.delivered, 0, 'nothing reaches B\'s WireGuard on M\'s word');
});

test('relayed after a genuine introduction through that rendezvous: B follows the peer to it', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const A = node(net, clock, A_ADDR), B = node(net, clock, B_ADDR), R = node(net, clock, R_ADDR);
  const wg = await fakeWireGuard();
  R.traversal = new Traversal(host(R, clock, () => false, () => true, true));
  B.traversal = new Traversal({ ...host(B, clock, (hex) => hex === A.dht.hex, (hex) => hex === R.dht.hex), wgPort: wg.port });
  try {
    const known = B.dht.ping(R.dht.id, R_ADDR);
    await advance(clock, 50);
    assert.ok(await known, 'B and R know each other');
    const ack = R.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k: A.dht.id, a: A_ADDR, i: sealIntro(A.dht.channel, B.dht.id, R.dht.id)! }));
    await advance(clock, 100);
    assert.equal((await ack)?.msg.t, 'ack');
    R.dht.rpc.send(B_ADDR, B.dht.id, { t: 'relayed', k: A.dht.id, d: new Uint8Array(148).fill(2) });
    await advance(clock, 1000);
    for (let i = 0; i < 20 && wg.got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(B.traversal.links.has(A.dht.hex), 'B opened a relay link for A through R');
    assert.equal(wg.got.length, 1, 'the relayed datagram reached B\'s WireGuard');
  } finally {
    await B.traversal.close();
    await R.traversal.close();
    for (const n of [A, B, R]) n.dht.close();
    wg.close();
  }
});

test('a second genuine punch-notify within NOTIFY_MIN_INTERVAL, through another rendezvous: no probes, but B opens its half of a relay session there', async () => {
  // A's first punch went through R1 and its relay link through R2 (the first rendezvous did not
  // know B yet, or answered later): B must be reachable through R2 at once, not only after its
  // own search (a second later) or WireGuard's silence.
  const clock = new VirtualClock(), net = new FakeNet();
  const R2_ADDR: Addr = { host: '192.0.2.2', port: 62096 };
  const A = node(net, clock, A_ADDR), B = node(net, clock, B_ADDR), R1 = node(net, clock, R_ADDR), R2 = node(net, clock, R2_ADDR);
  const relays = [R1, R2];
  for (const r of relays) r.traversal = new Traversal(host(r, clock, () => false, () => true, true));
  B.traversal = new Traversal(host(B, clock, (hex) => hex === A.dht.hex, (hex) => relays.some((r) => r.dht.hex === hex)));
  const notify = (r: Peer) => r.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k: A.dht.id, a: A_ADDR, i: sealIntro(A.dht.channel, B.dht.id, r.dht.id)! }));
  try {
    const before = B.transport.sent.length;
    void notify(R1);
    await advance(clock, 300);
    const opened = A.dht.rpc.request(R2_ADDR, R2.dht.id, (x) => ({ t: 'relay-open', x, k: B.dht.id }));
    await advance(clock, 100);
    assert.equal((await opened)?.msg.t, 'relay-ok', 'A opened its half at R2');
    const probes = () => sentSince(B.transport, before).filter((d) => d.to === addrKey(A_ADDR)).length;
    const first = probes();
    assert.ok(first >= 1, 'B probed A on the first notify');
    void notify(R2);
    await advance(clock, 1000);
    assert.equal(B.dht.counters.get('punch-notify-throttled'), 1, 'the second notify is throttled');
    assert.equal(probes(), first, 'no probes for the second notify');
    assert.ok(R2.traversal!.sessions.route(A.dht.hex, B.dht.hex, clock.now()) !== undefined, 'R2 forwards between A and B: B opened its half there');
  } finally {
    for (const r of [B, ...relays]) await r.traversal?.close();
    for (const n of [A, B, ...relays]) n.dht.close();
  }
});

test('a rendezvous holding a genuine introduction cannot aim B\'s probes at B\'s own loopback or an unspecified address', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const A = node(net, clock, A_ADDR), B = node(net, clock, B_ADDR), M = node(net, clock, M_ADDR);
  B.traversal = new Traversal(host(B, clock, (hex) => hex === A.dht.hex, (hex) => hex === M.dht.hex));
  try {
    for (const a of [{ host: '127.0.0.1', port: 22 }, { host: '0.0.0.0', port: 53 }, { host: '::1', port: 22 }]) {
      const before = B.transport.sent.length;
      const ack = M.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k: A.dht.id, a, i: sealIntro(A.dht.channel, B.dht.id, M.dht.id)! }));
      await advance(clock, NOTIFY_MIN_INTERVAL + 1000);
      assert.equal((await ack)?.msg.t, 'ack');
      const hits = sentSince(B.transport, before).filter((d) => d.to === addrKey(a));
      assert.equal(hits.length, 0, `B sent ${hits.length} probes to ${addrKey(a)} on M's word`);
    }
  } finally {
    await B.traversal.close();
    for (const n of [A, B, M]) n.dht.close();
  }
});

test('a rendezvous answering punch-ok with the initiator\'s own loopback as the peer\'s address gets no probe sent there', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const A = node(net, clock, A_ADDR), M = node(net, clock, M_ADDR);
  const B = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const LOOP: Addr = { host: '127.0.0.1', port: 22 };
  M.dht.extend({
    request: (req, max) => req.msg.t === 'punch-req' ? M.dht.rpc.send(req.from, req.sender, { t: 'punch-ok', x: req.msg.x, a: req.from, e: LOOP }, max) : undefined,
    oneWay: () => false,
  });
  A.traversal = new Traversal(host(A, clock, () => true, (hex) => hex === M.dht.hex));
  try {
    const before = A.transport.sent.length;
    const punched = A.traversal.punch(B, [{ key: M.dht.id, hex: M.dht.hex, addr: M_ADDR }], () => false);
    await advance(clock, 3000);
    assert.equal((await punched).direct, false);
    const hits = sentSince(A.transport, before).filter((d) => d.to === addrKey(LOOP));
    assert.equal(hits.length, 0, `A sent ${hits.length} probes to ${addrKey(LOOP)} on M's word`);
  } finally {
    await A.traversal.close();
    A.dht.close();
    M.dht.close();
  }
});

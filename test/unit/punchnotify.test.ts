// Who trusts whom must not leak through punch-notify (issue 8 item 6). A node M that the target
// B takes for a rendezvous sends B `punch-notify {k = K, a = V}` for a key K that B trusts and
// for one it does not, naming a victim address V. What leaves B must be the same in both cases,
// and B must send nothing to V on M's word. A genuine punch (A asks rendezvous R for B) still
// makes both sides probe. Real DhtNodes and Traversals over fake transports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { realClock } from '../../src/util/clock.js';
import { FakeNet, FakeTransport, quietLog } from './fakenet.js';
import { Traversal, type TraversalHost } from '../../src/nat/traversal.js';

const sodium = await sodiumReady();
const NAMESPACE = 'punchnotify-test';
const B_ADDR: Addr = { host: '203.0.113.9', port: 62096 };
const M_ADDR: Addr = { host: '192.0.2.66', port: 62096 };
const A_ADDR: Addr = { host: '198.51.100.7', port: 62096 };
const R_ADDR: Addr = { host: '192.0.2.1', port: 62096 };
/** The victim: nobody listens there; whatever B sends there is the attack's yield. */
const VICTIM: Addr = { host: '198.18.0.50', port: 9 };

interface Peer {
  dht: DhtNode;
  transport: FakeTransport;
  traversal?: Traversal;
}

function node(net: FakeNet, addr: Addr): Peer {
  const transport = net.bind(addr);
  const dht = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE, transport, clock: realClock, refresh: false });
  return { dht, transport };
}

function host(self: Peer, trusted: (hex: string) => boolean, rendezvous: (hex: string) => boolean, canRelay = false): TraversalHost {
  return {
    dht: self.dht,
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

/** A port-restricted cone NAT in front of `p`: datagrams from an address reach it only once it
 *  has sent to that address. */
function behindNat(p: Peer): void {
  const t = p.transport, inner = t.receiver!, opened = new Set<string>();
  const send = t.send.bind(t);
  t.send = (to, data) => { opened.add(addrKey(to)); send(to, data); };
  t.setReceiver((data, from) => { if (opened.has(addrKey(from))) inner(data, from); });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `t` sent since `from`: destination and size of each datagram, in order. */
function sentSince(t: FakeTransport, from: number): { to: string; size: number }[] {
  return t.sent.slice(from).map((s) => ({ to: addrKey(s.to), size: s.data.length }));
}

/**
 * A fresh target B that trusts `trustedKey` and takes M for a rendezvous; M sends it one
 * punch-notify for `notifyKey` naming VICTIM. Returns what B sent in the 3 s that follow
 * (longer than a full burst of probes).
 */
async function attack(notifyFor: 'trusted' | 'untrusted'): Promise<{ to: string; size: number }[]> {
  const net = new FakeNet();
  const B = node(net, B_ADDR), M = node(net, M_ADDR);
  const trustedKey = generateSecret(sodium), untrustedKey = generateSecret(sodium);
  const T = sodium.crypto_scalarmult_base(trustedKey), U = sodium.crypto_scalarmult_base(untrustedKey);
  const tHex = Buffer.from(T).toString('hex');
  B.traversal = new Traversal(host(B, (hex) => hex === tHex, (hex) => hex === M.dht.hex));
  try {
    const before = B.transport.sent.length;
    const k = notifyFor === 'trusted' ? T : U;
    const ack = await M.dht.rpc.request(B_ADDR, B.dht.id, (x) => ({ t: 'punch-notify', x, k, a: VICTIM }));
    assert.equal(ack?.msg.t, 'ack', 'B acknowledges the punch-notify');
    await sleep(3000);
    return sentSince(B.transport, before);
  } finally {
    await B.traversal.close();
    B.dht.close();
    M.dht.close();
  }
}

test('punch-notify from a rendezvous: B sends the same whether or not it trusts the key, and nothing to the address named', async () => {
  const [trusted, untrusted] = await Promise.all([attack('trusted'), attack('untrusted')]);
  const toVictim = <D extends { to: string }>(s: D[]) => s.filter((d) => d.to === addrKey(VICTIM));
  const bytes = (s: { size: number }[]) => s.reduce((n, d) => n + d.size, 0);
  const summary = (s: { to: string; size: number }[]) => `${s.length} datagrams, ${bytes(s)} B, ${toVictim(s).length} to the victim`;
  assert.equal(summary(trusted), summary(untrusted), 'what leaves B does not depend on whether it trusts the key');
  assert.deepEqual(trusted, untrusted, 'the same datagrams, in the same order');
  assert.equal(toVictim(trusted).length, 0,
    `on M's word alone, B sent ${toVictim(trusted).length} datagrams (${bytes(toVictim(trusted))} B) to the victim for a trusted key`);
  assert.equal(toVictim(untrusted).length, 0, 'nothing to the victim for an untrusted key');
  assert.deepEqual(trusted.map((d) => d.to), [addrKey(M_ADDR)], 'one datagram, the ack, to M');
});

test('a genuine punch between two port-restricted NATs: A asks R for B, both sides probe, and A gets through', async () => {
  const net = new FakeNet();
  const A = node(net, A_ADDR), B = node(net, B_ADDR), R = node(net, R_ADDR);
  const all = [A, B, R];
  // A's probes reach B only once B has probed A (and B's, A once A has probed B).
  behindNat(A);
  behindNat(B);
  R.traversal = new Traversal(host(R, () => false, () => true, true));
  A.traversal = new Traversal(host(A, (hex) => hex === B.dht.hex, (hex) => hex === R.dht.hex));
  B.traversal = new Traversal(host(B, (hex) => hex === A.dht.hex, (hex) => hex === R.dht.hex));
  try {
    for (const c of [A, B]) {
      assert.ok(await c.dht.ping(R.dht.id, R_ADDR));
      assert.ok(await R.dht.ping(c.dht.id, c.transport.addr));
    }
    const aBefore = A.transport.sent.length, bBefore = B.transport.sent.length;
    const r = await A.traversal.punch(B.dht.id, [{ key: R.dht.id, hex: R.dht.hex, addr: R_ADDR }], () => false);
    assert.equal(r.direct, true, 'a probe of A was answered');
    assert.equal(r.via?.hex, R.dht.hex);
    await sleep(1500);
    assert.ok(sentSince(A.transport, aBefore).some((d) => d.to === addrKey(B_ADDR)), 'A probed B');
    assert.ok(sentSince(B.transport, bBefore).some((d) => d.to === addrKey(A_ADDR)), 'B probed A');
  } finally {
    for (const n of all) await n.traversal?.close();
    for (const n of all) n.dht.close();
  }
});

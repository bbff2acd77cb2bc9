// The client side of relaying in the kernel (src/relay/client.ts, through src/nat/traversal.ts:
// openLink, offered, bindKernel, the RELAY_RENEW renewal, closeLink) against a real relay
// (Traversal with a KernelRelay, src/relay/server.ts and src/relay/kernel.ts): three real
// DhtNodes (relay R, clients A and B) over an in-memory network of fake transports; only the
// system is faked (the relay's nftables rules, routes and session ports). Real clock
// (realClock): the relay links open real loopback sockets and the Traversals run on real timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import type { Addr } from '../../src/proto/addr.js';
import { realClock } from '../../src/util/clock.js';
import { FakeNet, FakeTransport, quietLog } from './fakenet.js';
import type { ForwardSession } from '../../src/firewall/relayforward.js';
import type { KernelForwardDeps } from '../../src/relay/kernel.js';
import type { RelayLink, RelayRef } from '../../src/relay/link.js';
import { Traversal, type TraversalHost } from '../../src/nat/traversal.js';
import { RELAY_BIND_BACKOFF, RELAY_BIND_TRIES, RELAY_KERNEL_FAILURES, RELAY_RENEW } from '../../src/params.js';

const sodium = await sodiumReady();
const NAMESPACE = 'traversal-test';
const RELAY_HOST = '192.0.2.1';
const R_ADDR: Addr = { host: RELAY_HOST, port: 62096 };
const A_ADDR: Addr = { host: '198.51.100.7', port: 62096 };
const B_ADDR: Addr = { host: '203.0.113.9', port: 62096 };
const FIRST_SESSION_PORT = 40001;

// ---- world -------------------------------------------------------------------------------------

interface Ready {
  hex: string;
  endpoint: string;
  kernelPort: number | undefined;
}

interface FakeForward extends KernelForwardDeps {
  installs: ForwardSession[][];
  installFails: boolean;
  removes: number;
  opened: { port: number; transport: FakeTransport }[];
  /** Session ports opened from now on drop every datagram sent to them. */
  deafPorts: boolean;
}

interface Node {
  dht: DhtNode;
  traversal: Traversal;
  transport: FakeTransport;
  ref: RelayRef;
  hex: string;
  ready: Ready[];
  /** Ports `offered()` was called with (relay-ok's `p`), in order. */
  offers: (number | undefined)[];
  warns: string[];
}

interface World {
  net: FakeNet;
  R: Node;
  A: Node;
  B: Node;
  fwd: FakeForward;
  /** When the Traversals (and their renewal intervals) were created (realClock.now(), the Traversals' clock). */
  createdAt: number;
  close(): Promise<void>;
}

function fakeForward(net: FakeNet): FakeForward {
  let nextPort = FIRST_SESSION_PORT;
  const f: FakeForward = {
    installs: [], installFails: false, removes: 0, opened: [], deafPorts: false,
    install: async (list) => {
      f.installs.push(structuredClone([...list]));
      if (f.installFails) throw new Error('nft: Operation not supported');
    },
    remove: async () => { f.removes++; },
    route: async (host) => (isIPv4(host) ? { dev: 'eth0', via: host } : undefined),
    openPort: async () => {
      const port = nextPort++;
      const transport = net.bind({ host: RELAY_HOST, port });
      transport.deaf = f.deafPorts;
      f.opened.push({ port, transport });
      return { port, transport };
    },
  };
  return f;
}

/**
 * Relay R and clients A and B, each a real DhtNode with a Traversal; A and B trust each other
 * and know R (and R knows them). The renewal interval is stopped unless `renew` (so that a
 * test decides when renewals happen).
 */
async function world(opts: { renew?: boolean } = {}): Promise<World> {
  const net = new FakeNet();
  const fwd = fakeForward(net);
  const nodes: Node[] = [];
  const make = (addr: Addr): Node => {
    const transport = net.bind(addr);
    const dht = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE, transport, clock: realClock, refresh: false });
    const n = { dht, transport, hex: dht.hex, ref: { key: dht.id, hex: dht.hex, addr }, ready: [], offers: [], warns: [] } as unknown as Node;
    nodes.push(n);
    return n;
  };
  const R = make(R_ADDR), A = make(A_ADDR), B = make(B_ADDR);
  const client = (self: Node, peer: Node, wgPort: number): TraversalHost => ({
    dht: self.dht,
    clock: realClock,
    log: quietLog(self.warns),
    isTrusted: (hex) => hex === peer.hex,
    canRelay: () => false,
    wgPort,
    relayReady: (hex, link) => { self.ready.push({ hex, endpoint: link.endpoint, kernelPort: link.kernelPort }); },
    announceAddr: () => undefined,
    isDirect: () => false,
    isRendezvous: (hex) => hex === R.hex,
    relayCandidates: (exclude) => (exclude.includes(R.hex) ? [] : [R.ref]),
  });
  const relayHost: TraversalHost = {
    dht: R.dht,
    clock: realClock,
    log: quietLog(R.warns),
    isTrusted: () => false,
    canRelay: () => true,
    wgPort: undefined,
    relayReady: () => { throw new Error('the relay has no links'); },
    announceAddr: () => undefined,
    isDirect: () => false,
    isRendezvous: () => true,
    relayCandidates: () => [],
    forward: fwd,
  };
  const createdAt = realClock.now();
  R.traversal = new Traversal(relayHost);
  A.traversal = new Traversal(client(A, B, 51820));
  B.traversal = new Traversal(client(B, A, 51821));
  for (const n of nodes) {
    if (!opts.renew) realClock.clearTimeout((n.traversal as any).renewTimer);
    // Record the ports offered (relay-ok's `p`) without changing what offered() does.
    const t = (n.traversal as any).client; // the relay client (src/relay/client.ts)
    const offered = t.offered.bind(t);
    t.offered = (link: RelayLink, port: number | undefined) => { n.offers.push(port); offered(link, port); };
  }
  const w: World = {
    net, R, A, B, fwd, createdAt,
    async close() {
      for (const n of nodes) await n.traversal.close();
      for (const n of nodes) n.dht.close();
    },
  };
  try {
    // A and B know R, and R knows them (each pings the other: a pong puts its sender in the table).
    for (const c of [A, B]) {
      assert.ok(await c.dht.ping(R.dht.id, R_ADDR), 'client → relay ping');
      assert.ok(await R.dht.ping(c.dht.id, c.ref.addr), 'relay → client ping');
    }
    assert.ok(R.dht.table.get(A.hex) && R.dht.table.get(B.hex) && A.dht.table.get(R.hex) && B.dht.table.get(R.hex));
  } catch (e) {
    await w.close();
    throw e;
  }
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

/** relay-binds (requests on the session port) `from` sent to R:port. */
function bindsTo(from: Node, port: number): number {
  return from.transport.sent.filter((s) => s.to.host === RELAY_HOST && s.to.port === port).length;
}

const loopback = (link: RelayLink) => /^127\.0\.0\.1:\d+$/.test(link.endpoint);

/** A opens its link to B through R, then B its link to A; waits until both are in the kernel path. */
async function bothBound(w: World): Promise<{ la: RelayLink; lb: RelayLink; p: number }> {
  const { R, A, B } = w;
  const la = await A.traversal.openLink(B.dht.id, R.ref);
  assert.ok(la, 'A has a link');
  const lb = await B.traversal.openLink(A.dht.id, R.ref, false);
  assert.ok(lb, 'B has a link');
  const p = R.traversal.sessions.portOf(A.hex, B.hex);
  assert.equal(p, FIRST_SESSION_PORT);
  await until('both links bound', () => la.kernelPort === p && lb.kernelPort === p);
  return { la, lb, p: p! };
}

// ---- tests -------------------------------------------------------------------------------------

test('openLink on both sides: daemon path first, then both bound to the session port; one session installed', async () => {
  const w = await world();
  const { R, A, B, fwd } = w;
  try {
    const la = await A.traversal.openLink(B.dht.id, R.ref);
    assert.ok(la);
    const p = R.traversal.sessions.portOf(A.hex, B.hex);
    assert.equal(p, FIRST_SESSION_PORT, 'R gave the session a port of its own');
    assert.deepEqual(A.offers, [p], 'relay-ok carried the session port');
    // The link starts on the daemon path: WireGuard is pointed at the loopback socket.
    assert.equal(A.ready.length, 1);
    assert.equal(A.ready[0]!.hex, B.hex);
    assert.match(A.ready[0]!.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(A.ready[0]!.kernelPort, undefined);
    assert.equal(A.traversal.links.get(B.hex), la);
    // A alone is bound: nothing to forward yet.
    await until('A sent a relay-bind to the session port', () => bindsTo(A, p!) >= 1);
    await sleep(100);
    assert.equal(la.kernelPort, undefined, 'one member bound is not forwarded');
    assert.equal(fwd.installs.length, 0, 'nothing installed');

    const lb = await B.traversal.openLink(A.dht.id, R.ref, false);
    assert.ok(lb);
    assert.deepEqual(B.offers.at(-1), p);
    await until('both links bound', () => la.kernelPort === p && lb.kernelPort === p);
    const relayEndpoint = `${RELAY_HOST}:${p}`;
    assert.equal(la.endpoint, relayEndpoint);
    assert.equal(lb.endpoint, relayEndpoint);
    for (const [n, peer] of [[A, B], [B, A]] as const) {
      assert.equal(n.ready.length, 2, 'relayReady: loopback, then the kernel path');
      assert.match(n.ready[0]!.endpoint, /^127\.0\.0\.1:\d+$/);
      assert.deepEqual(n.ready[1], { hex: peer.hex, endpoint: relayEndpoint, kernelPort: p });
    }
    // R installed exactly one session: its port, and both members as seen on that port (their
    // relay-binds come from their shared ports), each with its route.
    assert.equal(fwd.installs.length, 1);
    const [sessions] = fwd.installs;
    assert.equal(sessions!.length, 1);
    const s = sessions![0]!;
    assert.equal(s.port, p);
    const members = [s.a, s.b].sort((x, y) => x.host.localeCompare(y.host));
    assert.deepEqual(members, [
      { host: A_ADDR.host, port: A_ADDR.port, hop: { dev: 'eth0', via: A_ADDR.host } },
      { host: B_ADDR.host, port: B_ADDR.port, hop: { dev: 'eth0', via: B_ADDR.host } },
    ]);
    assert.equal(R.traversal.kernel!.forwarding, 1);
    assert.ok(R.traversal.kernel!.forwards(p!, A_ADDR) && R.traversal.kernel!.forwards(p!, B_ADDR));
    assert.equal(fwd.opened.length, 1, 'one port for the session, whoever asked first');
    assert.equal(la.binding ?? lb.binding, undefined, 'the bind exchanges are over');
  } finally {
    await w.close();
  }
});

test('R forgets A\'s membership while its rules cannot be updated: A\'s re-bind is refused and A goes back to the daemon path', async () => {
  const w = await world();
  const { R, A, B, fwd } = w;
  try {
    const { la, lb, p } = await bothBound(w);
    fwd.installFails = true;
    R.traversal.sessions.close(A.hex, B.hex);
    await R.traversal.kernel!.sync();
    assert.deepEqual(fwd.installs.at(-1), [], 'R tried to remove the session\'s rules');
    assert.equal(R.traversal.kernel!.forwarding, 1, 'the update failed: the old rules stay in force');
    assert.ok(R.warns.some((m) => m.includes('trying again')));

    const bindsBefore = bindsTo(A, p);
    (A.traversal as any).client.offered(la, p);
    assert.equal(la.kernelPort, p, 'the same port offered again: still in the kernel path until R answers');
    await until('A back on the daemon path', () => la.kernelPort === undefined);
    assert.ok(bindsTo(A, p) > bindsBefore, 'A re-bound');
    assert.ok((R.dht.rpc.counters.toJSON()['relay-bind-refused'] ?? 0) >= 1, 'R refused the bind of a non-member');
    const last = A.ready.at(-1)!;
    assert.equal(last.hex, B.hex);
    assert.equal(last.kernelPort, undefined);
    assert.match(last.endpoint, /^127\.0\.0\.1:\d+$/);
    assert.equal(last.endpoint, la.endpoint);
    assert.equal(la.kernelRetryAt, 0, 'R answered: no back-off');
    assert.equal(lb.kernelPort, p, 'B was not told anything');
  } finally {
    await w.close();
  }
});

test('R turns kernel forwarding off: at the next RELAY_RENEW renewal, both links go back to the daemon path', async () => {
  const w = await world({ renew: true });
  const { R, A, B, fwd } = w;
  const start = w.createdAt;
  try {
    const { la, lb, p } = await bothBound(w);
    assert.ok(realClock.now() - start < RELAY_RENEW - 500, 'bound before the first renewal (slow machine?)');
    fwd.installFails = true;
    // A change to install (A leaves), refused RELAY_KERNEL_FAILURES times in a row.
    R.traversal.sessions.close(A.hex, B.hex);
    for (let i = 0; i < RELAY_KERNEL_FAILURES; i++) await R.traversal.kernel!.sync();
    assert.equal(fwd.installs.length, 1 + RELAY_KERNEL_FAILURES);
    assert.equal(R.traversal.kernel!.enabled, false);
    assert.equal(R.traversal.kernel!.forwarding, 0);
    assert.equal(fwd.removes, 1, 'the rules were removed');
    assert.equal(la.kernelPort, p, 'nobody told the clients yet');
    assert.equal(lb.kernelPort, p);

    // Only the renewal interval drives what follows: relay-ok without `p` → daemon path.
    await until('both links back on the daemon path', () => la.kernelPort === undefined && lb.kernelPort === undefined, RELAY_RENEW + 2000);
    assert.ok(realClock.now() - start >= RELAY_RENEW - 50, 'moved by the renewal, not earlier');
    assert.equal(A.offers.at(-1), undefined, 'A\'s renewal got relay-ok without a port');
    assert.equal(B.offers.at(-1), undefined, 'B\'s renewal got relay-ok without a port');
    for (const [n, l] of [[A, la], [B, lb]] as const) {
      assert.ok(loopback(l));
      assert.deepEqual(n.ready.at(-1), { hex: n === A ? B.hex : A.hex, endpoint: l.endpoint, kernelPort: undefined });
    }
    // The renewal re-opened A's membership: the daemon path works again for both.
    assert.deepEqual(R.traversal.sessions.route(A.hex, B.hex, realClock.now()), B_ADDR);
    assert.deepEqual(R.traversal.sessions.route(B.hex, A.hex, realClock.now()), A_ADDR);
    assert.equal(fwd.installs.length, 1 + RELAY_KERNEL_FAILURES, 'no install once turned off');
  } finally {
    await w.close();
  }
});

test('relay-ok without a port, or with another port, sends a bound link back to the daemon path at once', async () => {
  const w = await world();
  const { R, A, B } = w;
  try {
    const { la, p } = await bothBound(w);
    const readyBefore = A.ready.length;
    const bindsBefore = bindsTo(A, p);
    (A.traversal as any).client.offered(la, undefined);
    // At once: synchronously, before any datagram.
    assert.equal(la.kernelPort, undefined);
    assert.ok(loopback(la));
    assert.equal(A.ready.length, readyBefore + 1);
    assert.deepEqual(A.ready.at(-1), { hex: B.hex, endpoint: la.endpoint, kernelPort: undefined });
    await sleep(200);
    assert.equal(bindsTo(A, p), bindsBefore, 'no port offered: no relay-bind');
    assert.equal(la.kernelPort, undefined);

    // The same port offered again: R still forwards the session, so A binds back.
    (A.traversal as any).client.offered(la, p);
    await until('A back in the kernel path', () => la.kernelPort === p);
    assert.deepEqual(A.ready.at(-1), { hex: B.hex, endpoint: `${RELAY_HOST}:${p}`, kernelPort: p });

    // Another port (the relay restarted): back to the daemon path at once, and binding to the new one.
    const other = p + 100;
    const readyMid = A.ready.length;
    (A.traversal as any).client.offered(la, other);
    assert.equal(la.kernelPort, undefined);
    assert.ok(loopback(la));
    assert.equal(A.ready.length, readyMid + 1);
    assert.deepEqual(A.ready.at(-1), { hex: B.hex, endpoint: la.endpoint, kernelPort: undefined });
    await until('A tries the new port', () => bindsTo(A, other) >= 1);
    assert.equal(la.kernelPort, undefined, 'nothing answers on the new port');
    // The session on R is untouched.
    assert.equal(R.traversal.kernel!.forwarding, 1);
  } finally {
    await w.close();
  }
});

test('a session port that never answers: the bind tries run out, then the link leaves it alone until kernelRetryAt', async () => {
  const w = await world();
  const { R, A, B, fwd } = w;
  try {
    fwd.deafPorts = true; // a firewall in front of the relay's session ports
    const la = await A.traversal.openLink(B.dht.id, R.ref);
    assert.ok(la);
    const p = R.traversal.sessions.portOf(A.hex, B.hex)!;
    assert.deepEqual(A.offers, [p]);
    const started = realClock.now();
    await until('the bind tries ran out', () => la.kernelRetryAt > 0, 9000);
    const ended = realClock.now();
    assert.ok(la.kernelRetryAt >= started + RELAY_BIND_BACKOFF && la.kernelRetryAt <= ended + RELAY_BIND_BACKOFF, 'back-off from the end of the tries');
    assert.equal(bindsTo(A, p), RELAY_BIND_TRIES, 'RELAY_BIND_TRIES relay-binds, no more');
    assert.equal(fwd.opened[0]!.transport.dropped, RELAY_BIND_TRIES);
    assert.equal(la.kernelPort, undefined);
    assert.equal(la.binding, undefined);
    assert.equal(A.ready.length, 1, 'never left the daemon path');
    assert.equal(A.traversal.links.get(B.hex), la, 'the link itself is fine');

    // Offered again before kernelRetryAt (directly, and through a renewal): no relay-bind.
    (A.traversal as any).client.offered(la, p);
    await (A.traversal as any).client.renewAll();
    assert.equal(A.offers.at(-1), p, 'the renewal got the port again');
    await sleep(200);
    assert.equal(bindsTo(A, p), RELAY_BIND_TRIES, 'no relay-bind before kernelRetryAt');
    assert.equal(la.binding, undefined);

    // Once the back-off is over, the next offer tries again.
    la.kernelRetryAt = realClock.now() - 1;
    (A.traversal as any).client.offered(la, p);
    await until('a relay-bind after the back-off', () => bindsTo(A, p) === RELAY_BIND_TRIES + 1);
  } finally {
    await w.close();
  }
});

test('a bound link whose session port goes silent: 3 tries, then the daemon path and the back-off', async () => {
  const w = await world();
  const { A, fwd } = w;
  try {
    const { la, p } = await bothBound(w);
    const port = fwd.opened.find((o) => o.port === p)!.transport;
    port.deaf = true;
    const before = bindsTo(A, p);
    (A.traversal as any).client.offered(la, p);
    await until('A back on the daemon path', () => la.kernelPort === undefined, 3000);
    assert.equal(bindsTo(A, p) - before, 3, 'an already bound link tries 3 times only');
    assert.ok(la.kernelRetryAt > realClock.now() + RELAY_BIND_BACKOFF - 1000, 'no answer at all: back-off');
    assert.ok(loopback(la));
    assert.equal(A.ready.at(-1)!.kernelPort, undefined);
  } finally {
    await w.close();
  }
});

test('closeLink sends relay-close: R drops A from the session and removes its rules; B follows at its renewal', async () => {
  const w = await world();
  const { R, A, B, fwd } = w;
  try {
    const { lb, p } = await bothBound(w);
    const installsBefore = fwd.installs.length;
    // See what R's relay-close handler does with its sessions.
    const closed: [string, string][] = [];
    const sessions = R.traversal.sessions as any;
    const close = sessions.close.bind(sessions);
    sessions.close = (from: string, to: string) => { closed.push([from, to]); close(from, to); };
    A.traversal.closeLink(B.hex);
    assert.equal(A.traversal.links.get(B.hex), undefined);
    await until('R handled relay-close', () => closed.length > 0);
    assert.deepEqual(closed, [[A.hex, B.hex]], 'A leaves the session with B');
    await until('R removed the session\'s rules', () => fwd.installs.length > installsBefore);
    assert.deepEqual(fwd.installs.at(-1), [], 'install called with no session');
    assert.equal(R.traversal.kernel!.forwarding, 0);
    assert.equal(R.traversal.sessions.route(B.hex, A.hex, realClock.now()), undefined, 'A is no member any more');
    assert.equal(R.traversal.sessions.route(A.hex, B.hex, realClock.now()), undefined);
    assert.equal(R.traversal.sessions.portOf(A.hex, B.hex), p, 'B still holds the session');
    assert.equal(fwd.installFails, false);

    // B's next renewal: relay-ok with the same port, its refresh bind says r = 0 → daemon path.
    assert.equal(lb.kernelPort, p);
    await (B.traversal as any).client.renewAll();
    await until('B back on the daemon path', () => lb.kernelPort === undefined);
    assert.deepEqual(B.ready.at(-1), { hex: A.hex, endpoint: lb.endpoint, kernelPort: undefined });
    assert.ok(loopback(lb));
    assert.equal(lb.kernelRetryAt, 0);
  } finally {
    await w.close();
  }
});

test('an offer for another port while a bind exchange runs starts binding there at once (the older exchange stops)', async () => {
  const w = await world();
  const { R, A, B } = w;
  try {
    // B has not opened its half: A's exchange with the session port goes on (r = 0).
    const la = await A.traversal.openLink(B.dht.id, R.ref);
    assert.ok(la);
    const p = R.traversal.sessions.portOf(A.hex, B.hex)!;
    await until('A is binding', () => la.binding !== undefined && bindsTo(A, p) >= 1);
    const other = p + 100;
    (A.traversal as any).client.offered(la, other);
    await until('A binds to the other port', () => bindsTo(A, other) >= 1, 1500);
    const onOld = bindsTo(A, p);
    await sleep(1500);
    assert.ok(bindsTo(A, p) <= onOld + 1, `the older exchange stopped (${bindsTo(A, p) - onOld} more to the old port)`);
  } finally {
    await w.close();
  }
});

// The NAT grid in the simulator, without root: real DhtNodes behind simulated routers of each
// kind (src/sim/nat.ts, src/sim/world.ts) with two public boot nodes, on the virtual clock.
// (a) classifyNat fed with real DHT pongs from the boot nodes gives each kind's verdict, as the
//     daemon's NAT check does (and a UPnP router gives the node a port mapping);
// (b) the real punch code (Traversal/Puncher, the boot nodes as rendezvous) makes two nodes hear
//     each other directly exactly for the pairs test/e2e/natgrid.ts expects direct: all but
//     port-restricted × symmetric and symmetric × symmetric; those two relay through a boot
//     node (Traversal's relay server and links; the links' data side is a simulated loopback);
// (c) direct claims checked by the real reach checker on these NATs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { toHex } from '../../src/dht/id.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { classifyNat, type NatSample, type NatType, type NatVerdict } from '../../src/nat/classify.js';
import { Traversal, type TraversalHost } from '../../src/nat/traversal.js';
import { NAT_CHECK_NODES, PORTMAP_DISCOVER_TIMEOUT, PORTMAP_LEASE_SECONDS } from '../../src/params.js';
import { NAT_KINDS, type NatKind } from '../../src/sim/nat.js';
import type { PortMapClient, PortMapResult } from '../../src/sim/portmap.js';
import { NatWorld, type SimNode } from '../../src/sim/world.js';
import type { RelayLink } from '../../src/relay/link.js';
import { SimLoopback } from '../../src/sim/dataplane.js';
import { quietLog } from './fakenet.js';

const sodium = await sodiumReady();

type Kind = (typeof NAT_KINDS)[number];

/** test/e2e/natgrid.ts's expectation, restated (a test must not take it from the code under test). */
function expectedPath(a: Kind, b: Kind): 'direct' | 'relay' {
  const pair = [a, b].sort().join(' ');
  return pair === 'port-restricted symmetric' || pair === 'symmetric symmetric' ? 'relay' : 'direct';
}

interface NatState { verdict: NatVerdict; mapper?: PortMapClient; mapping?: PortMapResult }

/**
 * The daemon's NAT check (src/daemon/natmonitor.ts checkNat + ensurePortMapping), on a simulated
 * node: ping up to NAT_CHECK_NODES boot nodes, classify their view of us; behind a NAT, ask the
 * gateway for a port mapping of our port.
 */
async function checkNat(w: NatWorld, n: SimNode): Promise<NatState> {
  const targets = w.boots.slice(0, NAT_CHECK_NODES);
  const replies = await Promise.all(targets.map((t) => n.dht.ping(t.boot.key, t.boot.addr)));
  const samples: NatSample[] = [];
  for (const r of replies) if (r !== undefined && r.msg.t === 'pong') samples.push({ responder: r.from, observed: r.msg.a });
  const verdict = classifyNat(samples, { localIps: n.localIps, localPort: n.local.port, attempted: targets.length });
  const state: NatState = { verdict };
  if (verdict.type !== 'none' && verdict.type !== 'blocked') {
    const mapper = await n.discover({ timeoutMs: PORTMAP_DISCOVER_TIMEOUT });
    if (mapper !== undefined) {
      state.mapper = mapper;
      state.mapping = await mapper.map({ internalPort: n.local.port, externalPort: n.local.port, protocol: 'udp', leaseSeconds: PORTMAP_LEASE_SECONDS, description: 'WireHub sim' });
      mapper.keepMapped({ onRenew: (_p, r) => { state.mapping = r; } });
    }
  }
  n.dht.direct = verdict.type === 'none' || state.mapping !== undefined;
  return state;
}

const VERDICTS: Record<NatKind, NatType> = {
  'public': 'none',
  'full-cone': 'endpoint-independent',
  'address-restricted': 'endpoint-independent',
  'port-restricted': 'endpoint-independent',
  'symmetric': 'symmetric',
  'symmetric+upnp': 'symmetric',
  'blocked': 'blocked',
};

test('classifyNat on real DHT pongs gives each kind its verdict; only the UPnP router gives a port mapping', async () => {
  for (const kind of [...NAT_KINDS, 'blocked'] as NatKind[]) {
    const w = new NatWorld(sodium, { seed: 3 });
    w.addBoot(); w.addBoot();
    const n = w.addHost(kind);
    if (kind !== 'blocked') await w.bootstrap();
    const st = (await w.settle(checkNat(w, n)))!;
    assert.equal(st.verdict.type, VERDICTS[kind], `${kind}: ${JSON.stringify(st.verdict)}`);
    if (kind !== 'blocked') assert.equal(st.verdict.responders, 2, kind);
    if (VERDICTS[kind] === 'endpoint-independent') assert.equal(st.verdict.publicAddr && addrKey(st.verdict.publicAddr), `${n.router!.publicIp}:${n.local.port}`, kind);
    assert.equal(st.mapping !== undefined, kind === 'symmetric+upnp', `${kind}: mapping ${JSON.stringify(st.mapping)}`);
    if (st.mapping) assert.deepEqual({ ip: st.mapping.externalIp, port: st.mapping.externalPort }, { ip: n.router!.publicIp, port: n.local.port });
    await w.settle(st.mapper?.close() ?? Promise.resolve());
    w.close();
  }
});

interface Peer { n: SimNode; nat: NatState; traversal: Traversal; heard: Addr[]; other?: Peer }

/** A node with a Traversal as the daemon wires it (no WireGuard, no relay links: punching only). */
function traversalHost(w: NatWorld, p: Peer): TraversalHost {
  const rendezvous = () => w.boots.map((b) => ({ key: b.boot.key, hex: b.boot.hex, addr: b.boot.addr }));
  return {
    dht: p.n.dht, log: quietLog(), clock: w.clock, wgPort: undefined,
    isTrusted: (hex) => hex === p.other?.n.dht.hex,
    canRelay: () => false,
    relayReady: () => undefined,
    relayCandidates: (exclude) => rendezvous().filter((r) => !exclude.includes(r.hex)),
    isRendezvous: (hex) => w.boots.some((b) => b.boot.hex === hex),
    isDirect: (hex) => hex === p.other?.n.dht.hex && p.heard.length > 0,
    announceAddr: () => (p.nat.mapping?.externalIp ? { host: p.nat.mapping.externalIp, port: p.nat.mapping.externalPort } : undefined),
  };
}

/**
 * Two nodes of kinds `a` and `b` that trust each other, behind their routers; after the join and
 * the NAT check, the `initiators` punch to each other through the boot nodes. Returns whether
 * each heard the other directly (a verified answer from the other's key: what locates a peer).
 */
async function punchPair(a: Kind, b: Kind, initiators: 'both' | 'a'): Promise<{ aHeard: boolean; bHeard: boolean; aDirect: boolean; filtered: [number, number]; log: string }> {
  const w = new NatWorld(sodium, { seed: 11 });
  const boots = [w.addBoot(), w.addBoot()];
  const peers: Peer[] = [];
  const mk = (kind: Kind): Peer => {
    const p = { heard: [] } as unknown as Peer;
    p.n = w.addHost(kind, {
      isKnown: (hex) => hex === p.other?.n.dht.hex,
      onVerified: (id, addr) => { if (toHex(id) === p.other?.n.dht.hex) p.heard.push(addr); },
    });
    peers.push(p);
    return p;
  };
  const A = mk(a), B = mk(b);
  A.other = B; B.other = A;
  const relays = boots.map((r) => new Traversal({ ...traversalHost(w, { n: r, heard: [] } as unknown as Peer), canRelay: () => true, isTrusted: () => false }));
  await w.bootstrap();
  for (const p of peers) p.nat = (await w.settle(checkNat(w, p.n)))!;
  // Whatever the join taught them of each other is forgotten (their NATs' mappings stay, as in
  // life): only the punch can make them hear each other now.
  A.n.dht.table.evict(B.n.dht.hex); B.n.dht.table.evict(A.n.dht.hex);
  A.heard.length = 0; B.heard.length = 0;
  for (const p of peers) p.traversal = new Traversal(traversalHost(w, p));
  const filtered = () => peers.map((p) => p.n.router?.counters.get('drop:filtered') ?? 0) as [number, number];
  const filteredBefore = filtered();
  const punches = (initiators === 'both' ? peers : [A]).map((p) => {
    const other = p.other!;
    return p.traversal.punch(other.n.dht.id, traversalHost(w, p).relayCandidates([other.n.dht.hex]), () => p.heard.length > 0);
  });
  const results = await w.settle(Promise.all(punches), 20_000);
  await w.clock.run(2000); // the notified side's probes and the verification pings settle
  const after = filtered();
  const drops: [number, number] = [after[0] - filteredBefore[0], after[1] - filteredBefore[1]];
  const log = `${a}(${A.nat.verdict.type}) ↔ ${b}(${B.nat.verdict.type}): A heard ${A.heard.map(addrKey).join(',') || '-'}, B heard ${B.heard.map(addrKey).join(',') || '-'}; ` +
    `routers ${JSON.stringify(A.n.router?.counters.toJSON() ?? {})} ${JSON.stringify(B.n.router?.counters.toJSON() ?? {})}`;
  for (const p of peers) { await p.traversal.close(); await w.settle(p.nat.mapper?.close() ?? Promise.resolve()); }
  for (const r of relays) await r.close();
  w.close();
  assert.deepEqual(w.clock.errors, [], 'no timer callback threw');
  return { aHeard: A.heard.length > 0, bHeard: B.heard.length > 0, aDirect: results?.[0]?.direct === true, filtered: drops, log };
}

function pairs(): [Kind, Kind][] {
  const out: [Kind, Kind][] = [];
  NAT_KINDS.forEach((a, i) => NAT_KINDS.slice(i).forEach((b) => out.push([a, b])));
  return out;
}

test('the 21-pair grid: both nodes punching (as their daemons do), they hear each other directly exactly where the grid expects a direct path', async () => {
  const rows: string[] = [];
  const wrong: string[] = [];
  for (const [a, b] of pairs()) {
    const r = await punchPair(a, b, 'both');
    const direct = r.aHeard && r.bHeard;
    const neither = !r.aHeard && !r.bHeard;
    const want = expectedPath(a, b);
    rows.push(`${want === 'direct' ? (direct ? 'ok  ' : 'FAIL') : (neither ? 'ok  ' : 'FAIL')} ${want}: ${r.log}`);
    if (want === 'direct' ? !direct : !neither) wrong.push(`${a} ↔ ${b}`);
  }
  assert.equal(rows.length, 21);
  assert.deepEqual(wrong, [], rows.join('\n'));
});

test('the grid with one side punching: whichever side starts, the same pairs end direct', async () => {
  const wrong: string[] = [];
  const rows: string[] = [];
  for (const [a, b] of pairs()) {
    for (const [x, y] of a === b ? [[a, b]] : [[a, b], [b, a]]) {
      const r = await punchPair(x!, y!, 'a');
      const direct = r.aHeard && r.bHeard, neither = !r.aHeard && !r.bHeard;
      rows.push(`${x} → ${y}: punch() says ${r.aDirect ? 'direct' : 'not direct'}; ${r.log}`);
      const want = expectedPath(x!, y!);
      // The initiator's punch() reports the same; on a relay pair, probes were sent and
      // filtered by the routers (not merely never sent).
      if ((want === 'direct' ? !direct : !neither) || r.aDirect !== (want === 'direct')) wrong.push(`${x} → ${y}`);
      if (want === 'relay' && !(r.filtered[0] > 0 && r.filtered[1] > 0)) wrong.push(`${x} → ${y}: no probe filtered (${r.filtered.join('/')})`);
    }
  }
  assert.equal(rows.length, 36);
  assert.deepEqual(wrong, [], rows.join('\n'));
});

test('direct claims checked by the real reach checker: a fresh port gets through public and full-cone hosts, address-restricted ones (the documented limit), and a UPnP-mapped port; not port-restricted or symmetric ones', async () => {
  const seen: Record<string, number | string> = {};
  for (const kind of [...NAT_KINDS] as Kind[]) {
    const w = new NatWorld(sodium, { seed: 5 });
    const boot = w.addBoot(); w.addBoot();
    let nextPort = 40000;
    const checker = new Traversal({
      ...traversalHost(w, { n: boot, heard: [] } as unknown as Peer), canRelay: () => true, isTrusted: () => false,
      openPort: async () => { const port = nextPort++; return { port, transport: w.net.bind({ host: boot.boot.addr.host, port }) }; },
    });
    let claimantHex = '';
    // (The asker verifies the claimant's first request back, as a node does for a small request
    // only when it has room for it: a known key, here.)
    const asker = w.addHost('public', { isKnown: (hex) => hex === claimantHex });
    const claimant = w.addHost(kind);
    claimantHex = claimant.dht.hex;
    await w.bootstrap();
    const nat = (await w.settle(checkNat(w, claimant)))!;
    claimant.dht.direct = true; // it claims to be directly reachable, rightly or not
    // The asker meets the claimant: the claimant contacts it, and the asker verifies it back
    // (then holds it in its table at the address it answered from).
    await w.settle(claimant.dht.ping(asker.dht.id, asker.boot.addr));
    await w.clock.run(500);
    const entry = asker.dht.table.get(claimant.dht.hex);
    assert.ok(entry !== undefined, `${kind}: the asker knows the claimant`);
    const ask = async (a: Addr) => {
      const r = await w.settle(asker.dht.rpc.request(boot.boot.addr, boot.boot.key, (x) => ({ t: 'reach', x, k: claimant.dht.id, a }), { padTo: 512, timeout: 3000, retries: 0 }));
      return r?.msg.t === 'reach-ok' ? r.msg.r : `no answer (${r?.msg.t})`;
    };
    seen[kind] = await ask(entry.addr);
    if (nat.mapping) seen[`${kind} at its mapped port`] = await ask({ host: nat.mapping.externalIp!, port: nat.mapping.externalPort });
    await checker.close();
    await w.settle(nat.mapper?.close() ?? Promise.resolve());
    w.close();
  }
  assert.deepEqual(seen, {
    'public': 1, 'full-cone': 1, 'address-restricted': 1, 'port-restricted': 0, 'symmetric': 0,
    'symmetric+upnp': 0, 'symmetric+upnp at its mapped port': 1,
  });
});

/** A stand-in for WireGuard on a simulated host's loopback (src/sim/dataplane.ts SimLoopback,
 *  where the relay links' endpoints are): what it received, and a send to a link's endpoint. */
function fakeWireGuard(w: NatWorld, listenPort: number): { loopback: SimLoopback; port: number; got: Uint8Array[]; send(port: number, d: Uint8Array): void } {
  const loopback = new SimLoopback(w.clock);
  const got: Uint8Array[] = [];
  loopback.wireguard = { listenPort, receive: (d) => got.push(new Uint8Array(d)) };
  return { loopback, port: listenPort, got, send: (port, d) => loopback.deliver(port, d, { host: '127.0.0.1', port: listenPort }) };
}

test('the two pairs the punch cannot join relay through a boot node: WireGuard-shaped datagrams pass both ways', async () => {
  for (const [a, b] of [['port-restricted', 'symmetric'], ['symmetric', 'symmetric']] as [Kind, Kind][]) {
    const w = new NatWorld(sodium, { seed: 11 });
    w.addBoot(); w.addBoot();
    const wgs = [fakeWireGuard(w, 51820), fakeWireGuard(w, 51820)];
    const links: (RelayLink | undefined)[] = [undefined, undefined];
    const peers: Peer[] = [];
    for (const kind of [a, b]) {
      const p = { heard: [] } as unknown as Peer;
      p.n = w.addHost(kind, { isKnown: (hex) => hex === p.other?.n.dht.hex, onVerified: (id, addr) => { if (toHex(id) === p.other?.n.dht.hex) p.heard.push(addr); } });
      peers.push(p);
    }
    const [A, B] = peers as [Peer, Peer];
    A.other = B; B.other = A;
    const relays = w.boots.map((r) => new Traversal({ ...traversalHost(w, { n: r, heard: [] } as unknown as Peer), canRelay: () => true, isTrusted: () => false }));
    await w.bootstrap();
    for (const p of peers) p.nat = (await w.settle(checkNat(w, p.n)))!;
    peers.forEach((p, i) => {
      p.traversal = new Traversal({ ...traversalHost(w, p), wgPort: wgs[i]!.port, relayReady: (_hex, link) => { links[i] = link; },
        openRelayEndpoint: async () => wgs[i]!.loopback.open() });
    });
    // As the daemon's visit: punch; no direct path, so a relay link through the rendezvous that
    // reached the peer. The peer follows it there (its own introduction came through it).
    const punched = (await w.settle(A.traversal.punch(B.n.dht.id, traversalHost(w, A).relayCandidates([B.n.dht.hex]), () => A.heard.length > 0)))!;
    assert.equal(punched.direct, false, `${a} ↔ ${b}: no direct path`);
    assert.ok(punched.via !== undefined, `${a} ↔ ${b}: a rendezvous reached the peer`);
    const link = await w.settle(A.traversal.openLink(B.n.dht.id, punched.via));
    assert.ok(link !== undefined, `${a} ↔ ${b}: relay link opened`);
    const port = (l: RelayLink) => Number(l.endpoint.split(':')[1]);
    const initiation = new Uint8Array(148); initiation[0] = 1;
    const response = new Uint8Array(92); response[0] = 2;
    // WireGuard retries its initiation until answered (all on the virtual clock).
    for (let i = 0; i < 200 && wgs[0]!.got.length === 0; i++) {
      if (i % 5 === 0) {
        wgs[0]!.send(port(links[0]!), initiation);
        if (wgs[1]!.got.length > 0 && links[1] !== undefined) wgs[1]!.send(port(links[1]), response);
      }
      await w.clock.run(20);
    }
    assert.ok(wgs[1]!.got.some((d) => d.length === 148 && d[0] === 1), `${a} ↔ ${b}: B's WireGuard got A's initiation`);
    assert.ok(wgs[0]!.got.some((d) => d.length === 92 && d[0] === 2), `${a} ↔ ${b}: A's WireGuard got B's response`);
    assert.equal(A.heard.length + B.heard.length, 0, 'and still no direct path');
    assert.ok(relays.some((r) => r.sessions.size > 0));
    for (const p of peers) await p.traversal.close();
    for (const r of relays) await r.close();
    w.close();
  }
});

// The simulated NAT routers (src/sim/nat.ts, src/sim/portmap.ts): RFC 4787 mapping and
// filtering of each kind, mapping expiry and refresh, port preservation and collisions,
// hairpinning, UPnP mappings, and drops counted. Raw datagrams on the virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork, type SimTransport } from '../../src/sim/network.js';
import { NAT_MAPPING_TIMEOUT, NAT_PORT_MAX, NAT_PORT_MIN, NatRouter, routerOptions, type NatKind, type RouterOptions } from '../../src/sim/nat.js';
import { sharePort } from '../../src/sim/portshare.js';
import { MAGIC } from '../../src/proto/packet.js';
import { simDiscover, type DiscoverPortMapper, type PortMapClient } from '../../src/sim/portmap.js';
import { PortMapper } from '../../src/nat/upnp.js';

// Compile-time: the daemon's PortMapper has the shape of the simulated one (the port-mapping
// step can be handed either).
const _client: (p: PortMapper) => PortMapClient = (p) => p;
const _discover: DiscoverPortMapper = (o) => PortMapper.discover(o);
void _client; void _discover;

const ROUTER_IP = '203.0.113.1';
const S1: Addr = { host: '198.51.100.1', port: 3478 };
const S1b: Addr = { host: '198.51.100.1', port: 3479 };
const S2: Addr = { host: '198.51.100.2', port: 3478 };
const HOST: Addr = { host: '192.168.1.10', port: 51820 };

interface Got { from: string; data: string }

function listen(t: Pick<SimTransport, "setReceiver">): Got[] {
  const got: Got[] = [];
  t.setReceiver((d, from) => got.push({ from: addrKey(from), data: Buffer.from(d).toString() }));
  return got;
}

function world(opts: RouterOptions | NatKind) {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { minDelay: 10, maxDelay: 10 });
  const o = typeof opts === 'string' ? routerOptions(opts)! : opts;
  const router = new NatRouter(net, ROUTER_IP, o);
  const host = router.bind(HOST);
  const servers = new Map<string, { t: SimTransport; got: Got[] }>();
  for (const a of [S1, S1b, S2]) { const t = net.bind(a); servers.set(addrKey(a), { t, got: listen(t) }); }
  const hostGot = listen(host);
  const server = (a: Addr) => servers.get(addrKey(a))!;
  /** The public address the server at `a` last saw the host at. */
  const seenAt = (a: Addr) => server(a).got.at(-1)?.from;
  const send = (from: SimTransport, to: Addr, data: string) => from.send(to, new TextEncoder().encode(data));
  return { clock, net, router, host, hostGot, server, seenAt, send };
}

test('endpoint-independent mapping (cone kinds): one external port, the internal one, for every destination', async () => {
  for (const kind of ['full-cone', 'address-restricted', 'port-restricted'] as const) {
    const w = world(kind);
    w.send(w.host, S1, 'a'); w.send(w.host, S2, 'b'); w.send(w.host, S1b, 'c');
    await w.clock.run(50);
    assert.equal(w.seenAt(S1), `${ROUTER_IP}:${HOST.port}`, kind);
    assert.equal(w.seenAt(S2), `${ROUTER_IP}:${HOST.port}`, kind);
    assert.equal(w.seenAt(S1b), `${ROUTER_IP}:${HOST.port}`, kind);
    assert.equal(w.router.mappingCount, 1, kind);
  }
});

test('address-and-port-dependent mapping (symmetric): a new random port per destination ip:port', async () => {
  const w = world('symmetric');
  w.send(w.host, S1, 'a'); w.send(w.host, S1b, 'b'); w.send(w.host, S2, 'c'); w.send(w.host, S1, 'd');
  await w.clock.run(50);
  const seen = [w.seenAt(S1), w.seenAt(S1b), w.seenAt(S2)];
  assert.equal(new Set(seen).size, 3, `three mappings: ${seen.join(' ')}`);
  assert.equal(w.server(S1).got[0]!.from, w.server(S1).got[1]!.from, 'the same destination keeps its mapping');
  for (const s of seen) {
    const port = Number(s!.split(':')[1]);
    assert.ok(port >= NAT_PORT_MIN && port <= NAT_PORT_MAX && port !== HOST.port, s);
  }
  assert.equal(w.router.mappingCount, 3);
});

test('address-dependent mapping: one port per destination IP, whatever its port', async () => {
  const w = world({ mapping: 'address-dependent', filtering: 'address-dependent', ports: 'random' });
  w.send(w.host, S1, 'a'); w.send(w.host, S1b, 'b'); w.send(w.host, S2, 'c');
  await w.clock.run(50);
  assert.equal(w.seenAt(S1), w.seenAt(S1b));
  assert.notEqual(w.seenAt(S1), w.seenAt(S2));
});

/** After the host sent to S1: which of S1 (answering), S1 from another port, S2 get in. */
async function filtering(kind: NatKind): Promise<{ s1: boolean; s1OtherPort: boolean; s2: boolean; filtered: number }> {
  const w = world(kind);
  w.send(w.host, S1, 'hello');
  await w.clock.run(50);
  const mapped = w.server(S1).got[0]!.from;
  const [host, port] = mapped.split(':');
  const to = { host: host!, port: Number(port) };
  w.send(w.server(S1).t, to, 's1'); w.send(w.server(S1b).t, to, 's1b'); w.send(w.server(S2).t, to, 's2');
  await w.clock.run(50);
  const got = new Set(w.hostGot.map((g) => g.data));
  return { s1: got.has('s1'), s1OtherPort: got.has('s1b'), s2: got.has('s2'), filtered: w.router.counters.get('drop:filtered') };
}

test('filtering of each kind: full cone lets anyone in, address-restricted any port of a contacted IP, port-restricted and symmetric only the ip:port contacted', async () => {
  assert.deepEqual(await filtering('full-cone'), { s1: true, s1OtherPort: true, s2: true, filtered: 0 });
  assert.deepEqual(await filtering('address-restricted'), { s1: true, s1OtherPort: true, s2: false, filtered: 1 });
  assert.deepEqual(await filtering('port-restricted'), { s1: true, s1OtherPort: false, s2: false, filtered: 2 });
  assert.deepEqual(await filtering('symmetric'), { s1: true, s1OtherPort: false, s2: false, filtered: 2 });
});

test('inbound from unknown sources to unmapped ports is dropped and counted; the host hears nothing', async () => {
  for (const kind of ['full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'symmetric+upnp'] as const) {
    const w = world(kind);
    w.send(w.server(S2).t, { host: ROUTER_IP, port: HOST.port }, 'unsolicited');
    w.send(w.server(S2).t, { host: ROUTER_IP, port: 40000 }, 'unsolicited');
    await w.clock.run(50);
    assert.equal(w.hostGot.length, 0, kind);
    assert.equal(w.router.counters.get('drop:no-mapping'), 2, kind);
  }
});

test('a mapping expires NAT_MAPPING_TIMEOUT after its last outbound datagram; outbound traffic refreshes it, inbound does not', async () => {
  // Refreshed: the host sends every half timeout for three timeouts; S1 still gets in at the end.
  const w = world('port-restricted');
  w.send(w.host, S1, 'open');
  await w.clock.run(50);
  const to = { host: ROUTER_IP, port: HOST.port };
  for (let i = 0; i < 6; i++) {
    await w.clock.run(NAT_MAPPING_TIMEOUT / 2);
    w.send(w.host, S1, `keepalive ${i}`);
    w.send(w.server(S1).t, to, `in ${i}`); // inbound traffic too: it must not be what keeps it
  }
  await w.clock.run(NAT_MAPPING_TIMEOUT - 1000);
  w.send(w.server(S1).t, to, 'late but in time');
  await w.clock.run(50);
  assert.ok(w.hostGot.some((g) => g.data === 'late but in time'), 'refreshed by outbound traffic');
  // Only inbound from now on: the mapping lapses a timeout after the last outbound datagram.
  const before = w.hostGot.length;
  for (let i = 0; i < 4; i++) { w.send(w.server(S1).t, to, `inbound only ${i}`); await w.clock.run(NAT_MAPPING_TIMEOUT / 4); }
  w.send(w.server(S1).t, to, 'after expiry');
  await w.clock.run(50);
  assert.ok(!w.hostGot.some((g) => g.data === 'after expiry'), 'expired: inbound traffic did not refresh it');
  assert.ok(w.hostGot.length > before, 'inbound got in while the mapping lived');
  assert.ok(w.router.counters.get('drop:no-mapping') >= 1);
  assert.equal(w.router.mappingCount, 0);
});

test('a symmetric mapping that expired is replaced by a new port; a live one is kept', async () => {
  const w = world('symmetric');
  w.send(w.host, S1, 'a');
  await w.clock.run(NAT_MAPPING_TIMEOUT - 100);
  w.send(w.host, S1, 'b'); // just in time: same mapping
  await w.clock.run(NAT_MAPPING_TIMEOUT + 100);
  w.send(w.host, S1, 'c'); // expired: a new one
  await w.clock.run(50);
  const [a, b, c] = w.server(S1).got.map((g) => g.from);
  assert.equal(a, b);
  assert.notEqual(b, c);
  const old = { host: ROUTER_IP, port: Number(a!.split(':')[1]) };
  w.send(w.server(S1).t, old, 'to the old port');
  await w.clock.run(50);
  assert.equal(w.hostGot.length, 0, 'the old port no longer leads to the host');
});

test('port preservation: the internal port is kept when free; a second host with the same port gets another; the port is free again once its mapping expired', async () => {
  const w = world('full-cone');
  const other = w.router.bind({ host: '192.168.1.11', port: HOST.port });
  w.send(w.host, S1, 'first');
  w.send(other, S1, 'second');
  await w.clock.run(50);
  const [first, second] = w.server(S1).got.map((g) => g.from);
  assert.equal(first, `${ROUTER_IP}:${HOST.port}`);
  assert.notEqual(second, first);
  const p = Number(second!.split(':')[1]);
  assert.ok(p >= NAT_PORT_MIN && p <= NAT_PORT_MAX);
  // Each mapping leads back to its own host.
  const otherGot = listen(other);
  w.send(w.server(S2).t, { host: ROUTER_IP, port: p }, 'for the second');
  await w.clock.run(50);
  assert.deepEqual(otherGot.map((g) => g.data), ['for the second']);
  assert.equal(w.hostGot.length, 0);
  // The first host goes quiet (the second does not); after the timeout the first's port goes
  // to whoever asks first, and the second keeps its own.
  await w.clock.run(NAT_MAPPING_TIMEOUT / 2);
  w.send(other, S1, 'keepalive');
  await w.clock.run(NAT_MAPPING_TIMEOUT / 2 + 10);
  w.send(other, S2, 'again');
  const third = w.router.bind({ host: '192.168.1.12', port: HOST.port });
  w.send(third, S2, 'third');
  await w.clock.run(50);
  assert.deepEqual(w.server(S2).got.map((g) => g.from), [second, `${ROUTER_IP}:${HOST.port}`]);
});

test('expired mappings do not pile up: a host that talked to many destinations long ago costs the router nothing', async () => {
  const w = world('symmetric');
  for (let i = 0; i < 2000; i++) w.send(w.host, { host: `198.18.${i >> 8}.${i & 255}`, port: 9 }, 'x');
  assert.equal(w.router.mappingCount, 2000);
  await w.clock.run(NAT_MAPPING_TIMEOUT + 10);
  for (let i = 0; i < 100; i++) w.send(w.host, { host: `198.19.0.${i}`, port: 9 }, 'y');
  assert.equal(w.router.mappingCount, 100);
  assert.ok(w.router.tableSize <= 200, `held ${w.router.tableSize}`);
});

test('seeded port allocation: the same seed gives the same ports, another seed others', async () => {
  const ports = async (seed: number) => {
    const w = world({ ...routerOptions('symmetric', seed)! });
    w.send(w.host, S1, 'a'); w.send(w.host, S2, 'b');
    await w.clock.run(50);
    return [w.seenAt(S1), w.seenAt(S2)].join(' ');
  };
  assert.equal(await ports(7), await ports(7));
  assert.notEqual(await ports(7), await ports(8));
});

test('hairpinning is off by default (dropped and counted); a router with it on loops back', async () => {
  for (const hairpin of [false, true]) {
    const w = world({ ...routerOptions('full-cone')!, hairpin });
    const other = w.router.bind({ host: '192.168.1.11', port: 4000 });
    const otherGot = listen(other);
    w.send(other, S1, 'open'); // other's mapping: ROUTER_IP:4000
    await w.clock.run(50);
    w.send(w.host, { host: ROUTER_IP, port: 4000 }, 'hairpin');
    await w.clock.run(50);
    assert.equal(otherGot.length, hairpin ? 1 : 0, `hairpin ${hairpin}`);
    assert.equal(w.router.counters.get('drop:hairpin'), hairpin ? 0 : 1);
    if (hairpin) assert.equal(otherGot[0]!.from, `${ROUTER_IP}:${HOST.port}`, 'seen at the public address');
  }
});

test('a blocked network drops all UDP both ways', async () => {
  const w = world('blocked');
  w.send(w.host, S1, 'out');
  w.send(w.server(S1).t, { host: ROUTER_IP, port: HOST.port }, 'in');
  await w.clock.run(50);
  assert.equal(w.server(S1).got.length, 0);
  assert.equal(w.hostGot.length, 0);
  assert.equal(w.router.counters.get('drop:blocked'), 2);
});

test('UPnP: a mapped port makes a host behind a symmetric NAT reachable from anyone, and its answers leave from that port', async () => {
  const w = world('symmetric+upnp');
  const mapper = await runFor(w.clock, simDiscover(w.clock, w.router, HOST.host)({ timeoutMs: 2500 }));
  assert.ok(mapper !== undefined, 'the gateway answered discovery');
  const m = await runFor(w.clock, mapper.map({ internalPort: HOST.port, protocol: 'udp', leaseSeconds: 600, description: 'test' }));
  assert.deepEqual({ ip: m.externalIp, port: m.externalPort, lease: m.lease }, { ip: ROUTER_IP, port: HOST.port, lease: 600 });
  const mapped = { host: ROUTER_IP, port: m.externalPort };
  // Strangers reach the host; its answers come from the mapped address.
  w.send(w.server(S2).t, mapped, 'stranger');
  await w.clock.run(50);
  assert.deepEqual(w.hostGot.map((g) => g.data), ['stranger']);
  w.send(w.host, S2, 'answer');
  await w.clock.run(50);
  assert.equal(w.seenAt(S2), addrKey(mapped));
  // A new destination still gets the symmetric behaviour (a fresh port).
  w.send(w.host, S1, 'new flow');
  await w.clock.run(50);
  assert.notEqual(w.seenAt(S1), addrKey(mapped));
  // close() removes the mapping: strangers are dropped again.
  await runFor(w.clock, mapper.close());
  w.send(w.server(S1b).t, mapped, 'after close');
  await w.clock.run(50);
  assert.ok(!w.hostGot.some((g) => g.data === 'after close'));
});

test('UPnP: a lease lapses without keepMapped(); keepMapped() renews it (and re-creates it after a gateway reboot); no gateway: discovery times out', async () => {
  const w = world('symmetric+upnp');
  const mapper = (await runFor(w.clock, simDiscover(w.clock, w.router, HOST.host)({ timeoutMs: 2500 })))!;
  const m = await runFor(w.clock, mapper.map({ internalPort: HOST.port, protocol: 'udp', leaseSeconds: 60, description: 'test' }));
  await w.clock.run(61_000);
  assert.equal(w.router.staticMapping(m.externalPort), undefined, 'lapsed');
  await runFor(w.clock, mapper.map({ internalPort: HOST.port, protocol: 'udp', leaseSeconds: 60, description: 'test' }));
  const renewed: number[] = [];
  mapper.keepMapped({ onRenew: (_p, r) => renewed.push(r.externalPort) });
  await w.clock.run(45_000);
  w.router.flushStatic(); // the gateway reboots between two renewals
  await w.clock.run(5 * 60_000);
  assert.ok(renewed.length >= 9, `renewed at half the lease: ${renewed.length}`);
  w.send(w.server(S2).t, { host: ROUTER_IP, port: m.externalPort }, 'still mapped');
  await w.clock.run(50);
  assert.deepEqual(w.hostGot.map((g) => g.data), ['still mapped']);
  await runFor(w.clock, mapper.close());
  assert.equal(w.router.staticMapping(m.externalPort), undefined);
  // A router without UPnP: discovery resolves undefined, after the caller's timeout.
  const plain = world('symmetric');
  let result: unknown = 'pending';
  void simDiscover(plain.clock, plain.router, HOST.host)({ timeoutMs: 2500 }).then((r) => { result = r; });
  await plain.clock.run(2400);
  assert.equal(result, 'pending');
  await plain.clock.run(200);
  assert.equal(result, undefined);
  assert.equal(plain.router.mapStatic(HOST, HOST.port, 1000), undefined);
});

test('UPnP: a wanted external port that another host holds is not taken: the gateway picks another', async () => {
  const w = world('symmetric+upnp');
  const other = w.router.bind({ host: '192.168.1.11', port: HOST.port });
  const a = (await runFor(w.clock, simDiscover(w.clock, w.router, HOST.host)({ timeoutMs: 2500 })))!;
  const b = (await runFor(w.clock, simDiscover(w.clock, w.router, '192.168.1.11')({ timeoutMs: 2500 })))!;
  const ma = await runFor(w.clock, a.map({ internalPort: HOST.port, protocol: 'udp', leaseSeconds: 600, description: 'a' }));
  const mb = await runFor(w.clock, b.map({ internalPort: HOST.port, protocol: 'udp', leaseSeconds: 600, description: 'b' }));
  assert.equal(ma.externalPort, HOST.port);
  assert.notEqual(mb.externalPort, HOST.port);
  const otherGot = listen(other);
  w.send(w.server(S1).t, { host: ROUTER_IP, port: mb.externalPort }, 'to b');
  await w.clock.run(50);
  assert.deepEqual(otherGot.map((g) => g.data), ['to b']);
  assert.equal(w.hostGot.length, 0);
});

test('a shared port (daemon + data plane, as the nftables port share): one NAT mapping for both sides; inbound split by the marker byte', async () => {
  const w = world('port-restricted');
  const shared = sharePort(w.host);
  const daemonGot = listen(shared.daemon), dataGot = listen(shared.data);
  const dht = Uint8Array.of(MAGIC, 1, 2), wg = Uint8Array.of(1, 0, 0, 0);
  shared.daemon.send(S1, dht); // the DHT opens the mapping (a punch)...
  await w.clock.run(50);
  shared.data.send(S1, wg); // ...and the data plane leaves from the same external port
  await w.clock.run(50);
  assert.deepEqual(w.server(S1).got.map((g) => g.from), [`${ROUTER_IP}:${HOST.port}`, `${ROUTER_IP}:${HOST.port}`]);
  assert.equal(w.router.mappingCount, 1);
  const back = { host: ROUTER_IP, port: HOST.port };
  w.server(S1).t.send(back, wg); w.server(S1).t.send(back, dht);
  await w.clock.run(50);
  assert.equal(dataGot.length, 1);
  assert.equal(daemonGot.length, 1);
  assert.equal(dataGot[0]!.data, Buffer.from(wg).toString());
  assert.equal(daemonGot[0]!.data, Buffer.from(dht).toString());
  shared.daemon.close(); shared.data.close();
  w.server(S1).t.send(back, wg);
  await w.clock.run(50);
  assert.equal(dataGot.length, 1, 'closed');
});

/** Runs the clock until `p` settles (at most 10 virtual seconds). */
async function runFor<T>(clock: VirtualClock, p: Promise<T>): Promise<T> {
  let done = false;
  let value: T | undefined;
  void p.then((v) => { done = true; value = v; });
  assert.ok(await clock.runUntil(() => done, 10_000, 1), 'settled');
  return value as T;
}

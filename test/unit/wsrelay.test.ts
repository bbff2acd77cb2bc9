// Relaying WireGuard over WebSocket (docs/PROTOCOL.md section 12.2, WS_TO/WS_FROM):
// - the transports: a client's WS_TO reaches the server's relay receiver with the connection's
//   address, a server's WS_FROM the client's; without a relay receiver both are dropped and
//   counted (`ws-unrelayed`); a frame for an address without a connection is not sent;
// - the relay (src/relay/server.ts, a real Traversal and DhtNodes over fake transports): a
//   WS_TO is forwarded only between keys that both opened the session, from the connection
//   their relay-opens came over (another connection cannot send as them), only WireGuard, held
//   while half-open; the reverse direction goes as WS_FROM naming the source;
// - the client (src/relay/client.ts, link.ts): WireGuard's datagrams from the loopback endpoint
//   go as WS_TO to a relay reached over WebSocket, WS_FROM frames come
//   back to WireGuard, and the path machine is told the relay is over WebSocket; a relay that
//   stops answering at one address moves to the same relay at another (the fallback's move).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { sameAddr, wsAddr, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { realClock } from '../../src/util/clock.js';
import { Traversal } from '../../src/nat/traversal.js';
import { WsRelayPorts, type RelayFrameReceiver, type WsRelayPort } from '../../src/net/wsrelayport.js';
import { WsClientTransport } from '../../src/net/wsclient.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import type { RelayEndpoint } from '../../src/relay/link.js';
import { Reassembler } from '../../src/relay/fragment.js';
import type { Receiver } from '../../src/net/transport.js';
import { advance, collectRelayed, FakeNet, initiation, openRelaySession, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const NS = 'wsrelay-test';
const R_ADDR: Addr = { host: '192.0.2.1', port: 8080 };
const A_TCP: Addr = { host: '198.51.100.1', port: 40001 }; // A's WebSocket connection, as R sees it
const WG_PORT = 51820;

/** One end of an in-memory WebSocket connection: `peer`'s receiver gets what this end sends. */
class Port implements WsRelayPort {
  receiver: RelayFrameReceiver | undefined;
  peer: Port | undefined;
  sent = 0;
  constructor(private readonly type: 'to' | 'from', private readonly far: Addr, private readonly self: Addr) {}
  carries(to: Addr): boolean { return sameAddr(to, this.far); }
  sendRelay(to: Addr, key: Uint8Array, data: Uint8Array): boolean {
    if (!this.carries(to)) return false;
    this.sent++;
    this.peer?.receiver?.(this.type, this.self, key.slice(), data.slice());
    return true;
  }
  setRelayReceiver(r: RelayFrameReceiver): void { this.receiver = r; }
}

function world() {
  const clock = new VirtualClock(), net = new FakeNet();
  const node = (addr: Addr) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NS, transport: net.bind(addr), clock, refresh: false });
  // A reaches R at R_ADDR over its WebSocket (here, the fake net stands in for the DHT
  // datagrams over it: R sees them from A_TCP); B reaches R over UDP.
  const R = node(R_ADDR), A = node(A_TCP), B = node({ host: '198.51.100.2', port: 51820 }), M = node({ host: '198.51.100.9', port: 40009 });
  const serverPort = new Port('from', A_TCP, R_ADDR), clientPort = new Port('to', R_ADDR, A_TCP);
  serverPort.peer = clientPort;
  clientPort.peer = serverPort;
  const base = { clock, log: quietLog(), announceAddr: () => undefined, isDirect: () => false } as const;
  const relay = new Traversal({
    ...base, dht: R, isTrusted: () => false, canRelay: () => true, wgPort: undefined, relayReady: () => undefined,
    isRendezvous: () => false, relayCandidates: () => [], ws: new WsRelayPorts([serverPort]),
  });
  // A's WireGuard: a fake loopback endpoint.
  const toWg: Uint8Array[] = [];
  let fromWg: Receiver = () => undefined;
  const endpoint: RelayEndpoint = { port: 40100, send: (d) => toWg.push(d.slice()), setReceiver: (r) => { fromWg = r; }, close: () => undefined };
  const ready: { ws: boolean; endpoint: string }[] = [];
  const rRef = { key: R.id, hex: R.hex, addr: R_ADDR };
  const candidates = [rRef];
  const client = new Traversal({
    ...base, dht: A, isTrusted: (hex) => hex === B.hex, canRelay: () => false, wgPort: WG_PORT,
    relayReady: (_hex, link) => ready.push({ ws: link.overWs, endpoint: link.endpoint }),
    isRendezvous: (hex) => hex === R.hex, relayCandidates: (ex) => candidates.filter((c) => !ex.includes(c.hex)), openRelayEndpoint: async () => endpoint, ws: new WsRelayPorts([clientPort]),
  });
  const got = collectRelayed(B);
  const open = (from: DhtNode, to: DhtNode) => openRelaySession(clock, R_ADDR, R, from, to);
  const wsTo = (from: Addr, to: DhtNode, d: Uint8Array) => serverPort.receiver!('to', from, to.id, d);
  const close = async () => { await relay.close(); await client.close(); for (const n of [R, A, B, M]) n.close(); };
  return { candidates, clock, R, A, B, M, got, open, wsTo, close, client, rRef, toWg, fromWg: (d: Uint8Array) => fromWg(d, { host: '127.0.0.1', port: WG_PORT }), ready, serverPort, clientPort };
}

test('relay: a WS_TO is forwarded only between keys that both opened the session, from the connection they opened it over', async () => {
  const w = world();
  try {
    w.wsTo(A_TCP, w.B, initiation(1));
    assert.equal(w.R.counters.get('relay-ws-no-session'), 1, 'no session: dropped');
    await w.open(w.A, w.B);
    await w.open(w.B, w.A);
    w.wsTo(A_TCP, w.B, initiation(2));
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [2]);
    assert.deepEqual([...w.got[0]!.k], [...w.A.id], 'relayed to B from A');
    // Another connection cannot send as A (nor can a key with no session: M).
    w.wsTo({ host: A_TCP.host, port: A_TCP.port + 1 }, w.B, initiation(3));
    await w.open(w.M, w.B);
    w.wsTo({ host: '198.51.100.9', port: 40009 }, w.B, initiation(4));
    // Nor can a connection name its own key as the destination (to pass as the session's other member).
    w.wsTo(A_TCP, w.A, initiation(5));
    // Only WireGuard is relayed.
    w.wsTo(A_TCP, w.B, new Uint8Array(40).fill(9));
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [2], 'nothing else reached B');
    assert.equal(w.R.counters.get('relay-ws-no-session'), 3);
    assert.equal(w.R.counters.get('relay-malformed'), 1);
    assert.equal(w.R.counters.get('relay-held'), 1, "M's datagram is held: B never opened M's session");
  } finally {
    await w.close();
  }
});

test('relay: a WS_TO into a half-open session is held and forwarded when the peer opens; the reverse goes as WS_FROM naming the source', async () => {
  const w = world();
  try {
    await w.open(w.A, w.B);
    w.wsTo(A_TCP, w.B, initiation(7));
    await advance(w.clock, 50);
    assert.equal(w.got.length, 0);
    await w.open(w.B, w.A);
    await advance(w.clock, 50);
    assert.deepEqual(w.got.map((m) => m.d[100]), [7], 'held, then forwarded');
    const seen: { key: Uint8Array; d: Uint8Array }[] = [];
    w.clientPort.setRelayReceiver((type, _from, key, d) => { assert.equal(type, 'from'); seen.push({ key, d }); return true; });
    w.B.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: w.A.id, d: initiation(8) });
    await advance(w.clock, 50);
    assert.equal(seen.length, 1, 'B to A as one WS_FROM');
    assert.deepEqual([...seen[0]!.key], [...w.B.id]);
    assert.equal(seen[0]!.d[100], 8);
    assert.equal(w.R.counters.get('relay-forwarded-ws'), 1);
  } finally {
    await w.close();
  }
});

test('relay: a whole WS_TO larger than one relayed message reaches a UDP member as fragments it reassembles', async () => {
  const w = world();
  try {
    await w.open(w.A, w.B);
    await w.open(w.B, w.A);
    // A full-size WireGuard transport datagram (1420-byte tunnel MTU): 1452 bytes, over MAX_RELAY_DATA.
    const big = new Uint8Array(1452).map((_, i) => i & 0xff);
    big.set([4, 0, 0, 0]);
    w.wsTo(A_TCP, w.B, big);
    await advance(w.clock, 50);
    assert.equal(w.got.length, 2, `B got ${w.got.length} relayed messages`);
    const r = new Reassembler(1000, 8);
    const whole = w.got.map((m) => r.add('R', { d: m.d, g: m.g!, i: m.i!, c: m.c! }, 0)).find((x) => x !== undefined);
    assert.deepEqual(whole && [...whole], [...big], 'B puts the datagram back together');
    assert.equal(w.R.counters.get('relay-split'), 1);
  } finally {
    await w.close();
  }
});

test('client: a link through a relay reached over WebSocket sends WireGuard as WS_TO, gets WS_FROM back, and says so', async () => {
  const w = world();
  try {
    await w.open(w.B, w.A);
    const opening = w.client.openLink(w.B.id, w.rRef, false);
    await advance(w.clock, 50);
    const link = await opening;
    assert.ok(link);
    assert.equal(link.overWs, true);
    assert.deepEqual(w.ready, [{ ws: true, endpoint: '127.0.0.1:40100' }]);
    w.fromWg(initiation(5));
    await advance(w.clock, 50);
    assert.equal(w.clientPort.sent, 1, 'as WS_TO');
    assert.deepEqual(w.got.map((m) => m.d[100]), [5], 'reached B through the relay');
    w.B.rpc.send(R_ADDR, w.R.id, { t: 'relay', k: w.A.id, d: initiation(6) });
    await advance(w.clock, 50);
    assert.deepEqual(w.toWg.map((d) => d[100]), [6], "B's answer reached A's WireGuard");
    // A WS_FROM from a node that is no relay of ours, or not WireGuard, is refused.
    w.clientPort.receiver!('from', { host: '203.0.113.5', port: 8080 }, w.B.id, initiation(1));
    w.clientPort.receiver!('from', R_ADDR, w.B.id, new Uint8Array(20).fill(1));
    assert.equal(w.A.counters.get('relayed-ws-refused'), 2);
  } finally {
    await w.close();
  }
});

test('client: a relay that stops answering at its UDP address moves to the same relay at its WebSocket address (the fallback), WireGuard\'s endpoint unchanged', async () => {
  const w = world();
  try {
    await w.open(w.B, w.A);
    // The link first goes to R at a UDP address (nothing answers there any more: UDP is blocked).
    const udp = { ...w.rRef, addr: { host: R_ADDR.host, port: 62096 } };
    w.candidates.splice(0, 1, udp);
    const opening = w.client.openLink(w.B.id, udp, false);
    await advance(w.clock, 6000);
    assert.equal(await opening, undefined, 'no answer at the UDP address');
    // Opened while UDP worked (here: at the WebSocket address, then pretend it was UDP).
    w.candidates.splice(0, 1, w.rRef);
    const open = w.client.openLink(w.B.id, w.rRef, false);
    await advance(w.clock, 50);
    const link = (await open)!;
    link.switchTo(udp);
    assert.equal(link.overWs, false);
    const renewing = w.client.renewNow();
    await advance(w.clock, 3000);
    await renewing;
    assert.deepEqual(link.relay.addr, R_ADDR, 'moved to the WebSocket address of the same relay');
    assert.equal(link.overWs, true);
    assert.deepEqual(w.ready.at(-1), { ws: true, endpoint: '127.0.0.1:40100' });
  } finally {
    await w.close();
  }
});

test('transports: WS_TO and WS_FROM cross a real connection to the relay receivers; without one they are counted ws-unrelayed', async () => {
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  const boot: Addr = wsAddr({ host: '127.0.0.1', port: server.local.port });
  const client = new WsClientTransport({ url: `ws://127.0.0.1:${boot.port}/`, addr: boot, clock: realClock, random: () => 0.5 });
  const until = async (f: () => boolean) => { for (let t = 0; t < 3000 && !f(); t += 10) await new Promise((r) => setTimeout(r, 10)); assert.ok(f()); };
  try {
    const key = new Uint8Array(32).fill(7);
    await until(() => client.state === 'open');
    assert.equal(client.sendRelay({ host: '127.0.0.1', port: 1 }, key, initiation(1)), false, 'not carried');
    assert.ok(client.sendRelay(boot, key, initiation(1)));
    await until(() => server.counters.get('ws-unrelayed') === 1);
    const atServer: { type: string; from: Addr; key: Uint8Array; d: Uint8Array }[] = [];
    server.setRelayReceiver((type, from, k, d) => atServer.push({ type, from, key: k.slice(), d: d.slice() }) > 0);
    client.sendRelay(boot, key, initiation(2));
    await until(() => atServer.length === 1);
    assert.equal(atServer[0]!.type, 'to');
    assert.deepEqual([...atServer[0]!.key], [...key]);
    assert.equal(atServer[0]!.d[100], 2);
    const conn = atServer[0]!.from;
    assert.equal(server.sendRelay({ host: '127.0.0.1', port: 1 }, key, initiation(3)), false, 'no such connection');
    assert.ok(server.sendRelay(conn, key, initiation(3)));
    await until(() => client.counters.get('ws-unrelayed') === 1);
    const atClient: { type: string; from: Addr; d: Uint8Array }[] = [];
    client.setRelayReceiver((type, from, _k, d) => atClient.push({ type, from, d: d.slice() }) > 0);
    server.sendRelay(conn, key, initiation(4));
    await until(() => atClient.length === 1);
    assert.deepEqual({ type: atClient[0]!.type, from: atClient[0]!.from, tag: atClient[0]!.d[100] }, { type: 'from', from: boot, tag: 4 });
    assert.equal(server.counters.get('ws-from-tx'), 2);
    assert.equal(client.counters.get('ws-to-tx'), 2);
  } finally {
    client.close();
    server.close();
  }
});

// Attack: a WebSocket member's connection ends, and another connection comes from the same TCP
// source address (a port reused behind one NAT, or every connection coming from 127.0.0.1
// through a reverse proxy on the relay's host). The relay's session table knows a WebSocket
// member by its connection's address only (its relay-opens came from there), so before this
// test the new connection inherited the membership: its WS_TO frames went to the peer as the
// old member's, and the peer's datagrams went to it as WS_FROM. Now a connection that ends
// takes its memberships' address with it (RelaySessions.detachAt): nothing is relayed to or
// from that address until the member's key opens the session again, from its new connection,
// and then the session goes on as before (same session, nothing to rebuild for the peer).
import { test } from 'node:test';
import WebSocket from 'ws';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { sameAddr, wsAddr, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { Traversal } from '../../src/nat/traversal.js';
import { realClock } from '../../src/util/clock.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { WS_SUBPROTOCOL } from '../../src/params.js';
import { WsRelayPorts, type RelayFrameReceiver, type WsRelayPort } from '../../src/net/wsrelayport.js';
import { advance, collectRelayed, FakeNet, initiation, openRelaySession, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const NS = 'wsteardown-test';
const R_ADDR: Addr = { host: '192.0.2.1', port: 8080 };
const A_TCP: Addr = wsAddr({ host: '127.0.0.1', port: 40001 }); // A's connection (through a proxy on R's host)
const A_TCP2: Addr = wsAddr({ host: '127.0.0.1', port: 40002 }); // A's next connection

/** The relay's WebSocket server as the relay code sees it: which addresses have a connection. */
class ServerPort implements WsRelayPort {
  receiver: RelayFrameReceiver | undefined;
  closeReceiver: ((addr: Addr) => void) | undefined;
  readonly open: Addr[] = [];
  readonly sent: { to: Addr; key: Uint8Array }[] = [];
  carries(to: Addr): boolean { return this.open.some((a) => sameAddr(a, to)); }
  sendRelay(to: Addr, key: Uint8Array): boolean {
    if (!this.carries(to)) return false;
    this.sent.push({ to, key: key.slice() });
    return true;
  }
  setRelayReceiver(r: RelayFrameReceiver): void { this.receiver = r; }
  setCloseReceiver(r: (addr: Addr) => void): void { this.closeReceiver = r; }
  /** The connection at `addr` ends (as WsServerTransport reports it). */
  end(addr: Addr): void {
    this.open.splice(this.open.findIndex((a) => sameAddr(a, addr)), 1);
    this.closeReceiver?.(addr);
  }
}

test('attack: a connection from the address a WebSocket member\'s ended connection had inherits nothing; the member\'s next connection goes on', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const node = (addr: Addr, secret = generateSecret(sodium)) => new DhtNode({ sodium, secret, workbit: 0, namespace: NS, transport: net.bind(addr), clock, refresh: false });
  const aSecret = generateSecret(sodium);
  // A's DHT datagrams come from its connection's address (the fake net stands in for WS_DATAGRAM).
  const R = node(R_ADDR), A = node(A_TCP, aSecret), B = node({ host: '198.51.100.2', port: 51820 });
  const port = new ServerPort();
  port.open.push(A_TCP);
  const relay = new Traversal({
    clock, log: quietLog(), announceAddr: () => undefined, isDirect: () => false,
    dht: R, isTrusted: () => false, canRelay: () => true, wgPort: undefined, relayReady: () => undefined,
    isRendezvous: () => false, relayCandidates: () => [], ws: new WsRelayPorts([port]),
  });
  const got = collectRelayed(B);
  const open = (from: DhtNode, to: DhtNode) => openRelaySession(clock, R_ADDR, R, from, to);
  const wsTo = (from: Addr, d: Uint8Array) => port.receiver!('to', from, B.id, d);
  const fromB = async (n: number) => { B.rpc.send(R_ADDR, R.id, { t: 'relay', k: A.id, d: initiation(n) }); await advance(clock, 50); };
  try {
    await open(A, B);
    await open(B, A);
    assert.equal(wsTo(A_TCP, initiation(1)), true);
    await fromB(2);
    await advance(clock, 50);
    assert.deepEqual(got.map((m) => m.d[100]), [1]);
    assert.equal(port.sent.length, 1, 'B to A as WS_FROM');
    // A's connection ends; another client's connection comes from the same address.
    port.end(A_TCP);
    port.open.push(A_TCP);
    assert.equal(wsTo(A_TCP, initiation(3)), false, 'refused: the new connection is nobody\'s member');
    await fromB(4);
    await advance(clock, 50);
    assert.deepEqual(got.map((m) => m.d[100]), [1], 'nothing reached B as A');
    assert.equal(port.sent.length, 1, 'nothing of B\'s went to the new connection');
    // A comes back over a new connection and opens again: the same session carries on.
    port.open.push(A_TCP2);
    const A2 = node(A_TCP2, aSecret);
    try {
      await open(A2, B);
      assert.equal(wsTo(A_TCP2, initiation(5)), true);
      await fromB(6);
      await advance(clock, 50);
      assert.deepEqual(got.map((m) => m.d[100]), [1, 5]);
      assert.deepEqual(port.sent.map((s) => s.to), [A_TCP, A_TCP2]);
    } finally {
      A2.close();
    }
  } finally {
    await relay.close();
    for (const n of [R, A, B]) n.close();
  }
});

test('a real server tells the relay the address of each connection that ends, once, and not of one still open', async () => {
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  const ended: Addr[] = [];
  server.setCloseReceiver((a) => ended.push(a));
  const connect = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.local.port}/`, WS_SUBPROTOCOL, { perMessageDeflate: false });
    await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
    return { ws, addr: wsAddr({ host: '127.0.0.1', port: (ws as unknown as { _socket: { localPort: number } })._socket.localPort }) };
  };
  try {
    const a = await connect(), b = await connect();
    for (let t = 0; t < 2000 && !(server.carries(a.addr) && server.carries(b.addr)); t += 5) await new Promise((r) => setTimeout(r, 5));
    a.ws.close();
    for (let t = 0; t < 2000 && ended.length === 0; t += 5) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(ended, [a.addr]);
    assert.equal(server.carries(a.addr), false);
    assert.equal(server.carries(b.addr), true);
    b.ws.terminate();
  } finally {
    server.close();
  }
});

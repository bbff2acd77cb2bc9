// A relay session half in the kernel (src/relay/kernel.ts, RelaySessions.wsHalfAt/wsHalfTo;
// docs/NAT.md "Relay over WebSocket"): one member bound to the session's port over UDP, the
// other a WebSocket member. The bound member is told r = 1 (its WireGuard then sends to the
// port), its datagrams on the port go to the connection as WS_FROM naming it, and nothing else
// does: not from another address, not once the WebSocket member's connection is gone (then the
// bind is answered r = 0 again), not for a member that bound itself, and not beyond the share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { Rpc, type Reply, type RpcHandler } from '../../src/dht/rpc.js';
import { sameAddr, type Addr } from '../../src/proto/addr.js';
import type { Message } from '../../src/proto/messages.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelaySessions } from '../../src/relay/sessions.js';
import { KernelRelay } from '../../src/relay/kernel.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const NS = 'wshalf-test';
const RELAY_HOST = '192.0.2.1';
const W_TCP: Addr = { host: '198.51.100.50', port: 40050 }; // the WebSocket member's connection
const noHandler: RpcHandler = { onRequest: () => undefined, onOneWay: () => undefined };
const channel = () => new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: NS });

async function world() {
  const net = new FakeNet(), clock = new VirtualClock();
  const relay = channel();
  const parent = new Rpc(relay, net.bind({ host: RELAY_HOST, port: 62096 }), clock, randomBytes, noHandler);
  const sessions = new RelaySessions(256, 30_000);
  const opened: { port: number; transport: FakeTransport }[] = [];
  let nextPort = 40001;
  const kernel = new KernelRelay(sessions, parent, {
    install: async () => undefined, remove: async () => undefined, route: async () => ({ dev: 'eth0', via: '10.0.0.1' }),
    openPort: async () => { const port = nextPort++; const transport = net.bind({ host: RELAY_HOST, port }); opened.push({ port, transport }); return { port, transport }; },
  }, quietLog(), () => 0);
  let connected = true;
  const wsSent: { to: Addr; key: Uint8Array; data: Uint8Array }[] = [];
  kernel.ws = { carries: (a) => connected && sameAddr(a, W_TCP), from: (to, key, data) => { wsSent.push({ to, key, data }); return true; } };
  const aCh = channel(), wCh = channel();
  const A = { hex: aCh.publicHex, key: aCh.publicKey, addr: { host: '203.0.113.9', port: 51820 }, rpc: new Rpc(aCh, net.bind({ host: '203.0.113.9', port: 51820 }), clock, randomBytes, noHandler) };
  const W = { hex: wCh.publicHex, key: wCh.publicKey };
  assert.equal(sessions.open(A.hex, W.hex, { host: A.addr.host, port: 62096 }, 0), 'ok');
  assert.equal(sessions.open(W.hex, A.hex, W_TCP, 0), 'ok');
  const port = (await kernel.portFor(A.hex, W.hex))!;
  assert.ok(port !== undefined);
  const sock = opened.find((o) => o.port === port)!.transport;
  const bind = async (): Promise<number> => {
    const r: Reply | undefined = await A.rpc.request({ host: RELAY_HOST, port }, relay.publicKey, (x): Message => ({ t: 'relay-bind', x, k: W.key }));
    assert.ok(r !== undefined && r.msg.t === 'relay-bound', `reply ${r?.msg.t}`);
    return (r.msg as Extract<Message, { t: 'relay-bound' }>).r;
  };
  const close = async () => { await kernel.close(); parent.close(); A.rpc.close(); };
  return { sessions, kernel, parent, A, W, port, sock, bind, wsSent, disconnect: () => { connected = false; }, reconnect: () => { connected = true; }, close };
}

const wg = (n: number) => { const d = new Uint8Array(48).fill(n); d.set([4, 0, 0, 0]); return d; };

test('half in the kernel: a member bound to the port whose peer is over WebSocket gets r=1, and its datagrams on the port reach the connection', async () => {
  const w = await world();
  try {
    assert.equal(await w.bind(), 1, 'bound: WireGuard may send to the port');
    w.sock.receiver!(wg(1), w.A.addr);
    assert.equal(w.wsSent.length, 1);
    assert.deepEqual(w.wsSent[0]!.to, W_TCP);
    assert.deepEqual([...w.wsSent[0]!.key], [...w.A.key], 'WS_FROM names the bound member');
    assert.equal(w.wsSent[0]!.data[4], 1);
    assert.equal(w.parent.counters.get('relay-port-forwarded-ws'), 1);
    // The other way: the WebSocket member's datagrams go raw to A's bound address from the port.
    assert.deepEqual(w.sessions.wsHalfTo(w.W.hex, w.A.hex, (a) => sameAddr(a, W_TCP), 0), { port: w.port, to: w.A.addr });
    assert.ok(w.kernel.sendFromPort(w.port, w.A.addr, wg(2)));
    assert.deepEqual(w.sock.sent.at(-1)!.to, w.A.addr);
    assert.equal(w.kernel.sendFromPort(w.port + 100, w.A.addr, wg(2)), false, 'no such port');
  } finally {
    await w.close();
  }
});

test('attack: datagrams on a half session\'s port from another address, or after the WebSocket member left, go nowhere', async () => {
  const w = await world();
  try {
    assert.equal(await w.bind(), 1);
    // Someone else sends to the port (spoofing the WebSocket member cannot work: it never bound).
    w.sock.receiver!(wg(3), { host: '192.0.2.99', port: 1 });
    w.sock.receiver!(wg(3), { host: W_TCP.host, port: W_TCP.port });
    assert.equal(w.wsSent.length, 0);
    assert.equal(w.parent.counters.get('relay-port-not-member'), 2);
    // Only the bound member's direction is raw: the WebSocket member is not a bound target.
    assert.equal(w.sessions.wsHalfTo(w.A.hex, w.W.hex, (a) => sameAddr(a, W_TCP), 0), undefined);
    // The connection is gone: nothing is forwarded, and a bind is answered r=0 (back to the daemons).
    w.disconnect();
    w.sock.receiver!(wg(4), w.A.addr);
    assert.equal(w.wsSent.length, 0);
    assert.equal(w.parent.counters.get('relay-port-not-member'), 3);
    assert.equal(await w.bind(), 0);
    assert.equal(w.sessions.wsHalfTo(w.W.hex, w.A.hex, () => false, 0), undefined);
    // Another client's connection from the address the ended one had (src/relay/server.ts
    // onWsClosed detached W): the port forwards nothing to it, and it cannot send as W.
    w.sessions.detachAt(W_TCP);
    w.reconnect();
    w.sock.receiver!(wg(5), w.A.addr);
    assert.equal(w.wsSent.length, 0);
    assert.equal(w.sessions.wsHalfTo(w.W.hex, w.A.hex, (a) => sameAddr(a, W_TCP), 0), undefined);
    assert.equal(w.sessions.memberAt(w.A.hex, W_TCP, 0), undefined);
    assert.equal(await w.bind(), 0);
  } finally {
    await w.close();
  }
});

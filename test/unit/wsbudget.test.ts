// The relayed-frame budget of a WebSocket connection (src/net/wsguard.ts, `WS_RELAY_FRAMES_PER_SEC`,
// docs/PROTOCOL.md section 12.3): a real WsServerTransport on 127.0.0.1, a relay (a real Traversal
// and DhtNodes over the fake net of fakenet.ts, as test/unit/wsrelay.test.ts), and real `ws`
// clients sending WS_TO frames, all on one virtual clock, so that "per second" is exact:
// - a relayed session carries 3000 datagrams in one second (the old code passed 1200 of them:
//   every WS_TO counted against the 400/s message rate, burst 800);
// - a connection that floods WS_TO for a session it is no member of gets at most the message
//   rate's worth of them looked up (a refused frame costs a message), the rest dropped before
//   they are decoded, and nothing reaches the named key;
// - a member flooding beyond the budgets is cut at the connection's relayed-frame burst (before
//   decoding) and then at the session's fair share (in the relay), each drop counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { wsAddr, type Addr } from '../../src/proto/addr.js';
import { encodeWsFrame, WS_TO } from '../../src/proto/wsframe.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { Traversal } from '../../src/nat/traversal.js';
import { WsRelayPorts } from '../../src/net/wsrelayport.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { RELAY_SESSION_PPS, WS_MESSAGES_BURST, WS_MESSAGES_PER_SEC, WS_RELAY_FRAMES_BURST, WS_SUBPROTOCOL } from '../../src/params.js';
import { advance, FakeNet, initiation, openRelaySession, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const NS = 'wsbudget-test';
const R_ADDR: Addr = { host: '192.0.2.1', port: 8080 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 5) await sleep(5);
  assert.ok(f(), `${what}: not in time`);
}

async function world() {
  const clock = new VirtualClock(), net = new FakeNet();
  // ratePause 0: a connection beyond a rate is paused (test/unit/wsflood.test.ts) and read again
  // at the same instant of the clock, so that these counts are the budgets' alone.
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock, ratePause: 0 });
  const clients: WebSocket[] = [];
  /** A real client connection, and its address as the server sees it (a WebSocket address). */
  const connect = async (): Promise<{ ws: WebSocket; addr: Addr }> => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.local.port}/`, WS_SUBPROTOCOL, { perMessageDeflate: false });
    clients.push(ws);
    await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
    return { ws, addr: wsAddr({ host: '127.0.0.1', port: (ws as unknown as { _socket: { localPort: number } })._socket.localPort }) };
  };
  const node = (addr: Addr) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NS, transport: net.bind(addr), clock, refresh: false });
  const a = await connect(), m = await connect();
  // A's DHT datagrams reach R from A's connection address (the fake net stands in for the
  // WS_DATAGRAM frames): its relay-opens make that connection a session member. B is on UDP.
  const R = node(R_ADDR), A = node(a.addr), B = node({ host: '198.51.100.2', port: 51820 });
  const relay = new Traversal({
    clock, log: quietLog(), announceAddr: () => undefined, isDirect: () => false,
    dht: R, isTrusted: () => false, canRelay: () => true, wgPort: undefined, relayReady: () => undefined,
    isRendezvous: () => false, relayCandidates: () => [], ws: new WsRelayPorts([server]),
  });
  let got = 0;
  B.rpc.isExempt = () => true; // B's relay link would exempt R's relayed traffic (src/relay/exempt.ts)
  B.extend({ oneWay: (inc) => { if (inc.msg.t !== 'relayed') return false; got++; return true; } });
  const open = (from: DhtNode, to: DhtNode) => openRelaySession(clock, R_ADDR, R, from, to);
  await open(A, B);
  await open(B, A);
  /** `n` WS_TO frames naming B from `ws`, until the server has taken each one (passed or dropped). */
  const flood = async (ws: WebSocket, n: number) => {
    const seen = () => server.counters.get('ws-to-rx') + server.counters.get('ws-relay-rate');
    const want = seen() + n;
    for (let i = 0; i < n; i++) ws.send(encodeWsFrame({ type: WS_TO, key: B.id, data: initiation(i & 0xff) }));
    await until(`the server took ${n} frames`, () => { void clock.run(0); return seen() === want; });
  };
  const close = async () => {
    for (const c of clients) c.terminate();
    await relay.close();
    server.close();
    for (const n of [R, A, B]) n.close();
  };
  return { clock, server, R, a, m, flood, got: () => got, close };
}

test('a relayed session carries 3000 datagrams a second over one WebSocket connection (beyond the 400/s message rate)', async () => {
  const w = await world();
  try {
    // 300 frames every 100 ms of the clock: 3000 in one second.
    for (let step = 0; step < 10; step++) {
      await w.flood(w.a.ws, 300);
      await advance(w.clock, 100);
    }
    await until('B got them', () => w.got() + w.R.counters.get('relay-rate-limited') >= 3000);
    assert.equal(w.server.counters.get('ws-relay-rate'), 0, 'none dropped at the connection');
    assert.equal(w.server.counters.get('ws-rate'), 0);
    assert.equal(w.R.counters.get('relay-rate-limited'), 0, 'within the session fair share');
    assert.equal(w.got(), 3000, 'all 3000 relayed to B');
  } finally {
    await w.close();
  }
});

test('attack: a connection flooding WS_TO for a session it is no member of gets at most the message rate of them looked up', async () => {
  const w = await world();
  try {
    await w.flood(w.m.ws, 5000);
    await advance(w.clock, 1000);
    await w.flood(w.m.ws, 5000);
    const looked = w.R.counters.get('relay-ws-no-session');
    process.stdout.write(`# 10 000 frames in 1 s of a non-member: ${looked} looked up (relay-ws-no-session), ${w.server.counters.get('ws-relay-rate')} dropped before decoding (ws-relay-rate)\n`);
    assert.ok(looked <= WS_MESSAGES_BURST + WS_MESSAGES_PER_SEC + 1, `looked up: ${looked}`);
    assert.ok(looked >= WS_MESSAGES_BURST, `the burst was looked up: ${looked}`);
    assert.equal(looked + w.server.counters.get('ws-relay-rate'), 10_000, 'every frame dropped and counted');
    assert.equal(w.got(), 0, 'nothing reached B');
    // Its DHT messages share that spent budget: the connection gains nothing by refused frames.
    w.m.ws.send(encodeWsFrame({ type: 0x01, data: new Uint8Array(60) }));
    await until('the datagram was taken', () => w.server.counters.get('ws-rate') === 1);
    // A member's connection is untouched.
    await w.flood(w.a.ws, 100);
    await advance(w.clock, 50);
    assert.equal(w.got(), 100);
  } finally {
    await w.close();
  }
});

test('attack: a member flooding beyond the budgets is cut at the connection burst, before decoding, and at the session fair share', async () => {
  const w = await world();
  try {
    await w.flood(w.a.ws, 2 * WS_RELAY_FRAMES_BURST);
    await advance(w.clock, 50);
    const passed = w.server.counters.get('ws-to-rx'), cut = w.server.counters.get('ws-relay-rate');
    const limited = w.R.counters.get('relay-rate-limited');
    process.stdout.write(`# ${2 * WS_RELAY_FRAMES_BURST} frames at once: ${cut} dropped at the connection (ws-relay-rate), ${limited} by the fair share (relay-rate-limited), ${w.got()} relayed\n`);
    assert.equal(passed, WS_RELAY_FRAMES_BURST, 'the connection burst passes the transport');
    assert.equal(cut, WS_RELAY_FRAMES_BURST, 'the rest is dropped before decoding');
    // The only session: its share is RELAY_SESSION_PPS, burst a tenth (src/relay/fair.ts).
    assert.equal(w.got(), RELAY_SESSION_PPS / 10, 'relayed: the fair-share burst');
    assert.equal(limited, passed - RELAY_SESSION_PPS / 10);
  } finally {
    await w.close();
  }
});

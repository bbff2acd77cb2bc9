// The WebSocket server transport (src/net/wsserver.ts, src/net/wsguard.ts) over real sockets on
// 127.0.0.1: datagrams both ways, and every bound applied before a datagram is looked at (the
// subprotocol, message size, message rate, connection count, handshake and idle deadlines on
// a virtual clock, the bounded send buffer). Everything is closed even when a test fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { realClock } from '../../src/util/clock.js';
import { wsAddr, type Addr } from '../../src/proto/addr.js';
import { WS_HANDSHAKE_TIMEOUT, WS_IDLE_TIMEOUT, WS_MAX_MESSAGE, WS_SUBPROTOCOL } from '../../src/params.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 10) await sleep(10);
  assert.ok(f(), 'condition not met in time');
}

async function withServer(opts: Partial<Parameters<typeof WsServerTransport.listen>[0]>, body: (s: WsServerTransport, url: string, clients: WebSocket[]) => Promise<void>): Promise<void> {
  const s = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock, ...opts });
  const clients: WebSocket[] = [];
  try {
    await body(s, `ws://127.0.0.1:${s.local.port}/`, clients);
  } finally {
    for (const c of clients) c.terminate();
    s.close();
  }
}

function open(url: string, clients: WebSocket[], protocol: string | null = WS_SUBPROTOCOL): Promise<WebSocket> {
  const c = new WebSocket(url, protocol === null ? [] : [protocol]);
  clients.push(c);
  return new Promise((resolve, reject) => { c.once('open', () => resolve(c)); c.once('error', reject); c.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`))); });
}

const dgram = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const msg = (type: number, data: Uint8Array) => Buffer.concat([Buffer.from([type]), data]);

test('a datagram goes to the receiver with the TCP source address, and the answer comes back', async () => {
  await withServer({}, async (s, url, clients) => {
    const got: { data: Uint8Array; from: Addr }[] = [];
    s.setReceiver((data, from) => got.push({ data: data.slice(), from }));
    const c = await open(url, clients);
    const answers: Buffer[] = [];
    c.on('message', (d: Buffer) => answers.push(d));
    c.send(msg(1, dgram(100)));
    await until(() => got.length === 1);
    const local = (c as unknown as { _socket: net.Socket })._socket.localPort!;
    assert.deepEqual(got[0]!.from, wsAddr({ host: '127.0.0.1', port: local }));
    assert.deepEqual(got[0]!.data, dgram(100));
    assert.ok(s.carries(got[0]!.from));
    assert.ok(!s.carries(wsAddr({ host: '127.0.0.1', port: local + 1 })));
    assert.ok(!s.carries({ host: '127.0.0.1', port: local }), 'a UDP address at the same ip:port is not the connection');
    s.send(got[0]!.from, dgram(50, 9));
    await until(() => answers.length === 1);
    assert.deepEqual(new Uint8Array(answers[0]!), new Uint8Array(msg(1, dgram(50, 9))));
    c.close();
    await until(() => !s.carries(got[0]!.from));
    s.send(got[0]!.from, dgram(50));
    assert.equal(s.counters.get('ws-no-connection'), 1);
  });
});

test('no subprotocol, plain HTTP, text, unknown types, relayed frames: refused or dropped and counted', async () => {
  await withServer({}, async (s, url, clients) => {
    let n = 0;
    s.setReceiver(() => n++);
    await assert.rejects(open(url, clients, null), /HTTP 400/);
    assert.equal(s.counters.get('ws-no-subprotocol'), 1);
    const res = await fetch(url.replace('ws:', 'http:'));
    assert.equal(res.status, 426);
    const c = await open(url, clients);
    c.send('hello');
    c.send(msg(0, dgram(10)));
    c.send(msg(9, dgram(10)));
    c.send(Buffer.from([1]));
    c.send(msg(2, dgram(40)));
    c.send(Buffer.alloc(0));
    c.send(msg(1, dgram(10)));
    await until(() => n === 1);
    assert.deepEqual([s.counters.get('ws-text'), s.counters.get('ws-type'), s.counters.get('ws-short'), s.counters.get('ws-unrelayed'), s.counters.get('ws-empty')], [1, 2, 1, 1, 1]);
    assert.equal(c.readyState, WebSocket.OPEN, 'bad messages are dropped, the connection stays');
  });
});

test('a message over WS_MAX_MESSAGE closes the connection (1009) before reaching the receiver', async () => {
  await withServer({}, async (s, url, clients) => {
    let n = 0;
    s.setReceiver(() => n++);
    const c = await open(url, clients);
    const closed = new Promise<number>((r) => c.once('close', (code) => r(code)));
    c.send(Buffer.alloc(WS_MAX_MESSAGE + 1, 1));
    assert.equal(await closed, 1009);
    assert.equal(n, 0);
    await until(() => s.counters.get('ws-oversize') === 1 && s.connections === 0);
    const d = await open(url, clients);
    d.send(Buffer.alloc(WS_MAX_MESSAGE, 1)); // the largest message is read (and dropped: a datagram frame is at most 1 + MAX_PACKET)
    d.send(msg(1, dgram(1452)));
    await until(() => n === 1);
    assert.equal(s.counters.get('ws-oversize'), 2);
  });
});

test('the message rate is bounded per connection, before any datagram is passed on', async () => {
  await withServer({ limits: { messagesPerSec: 1, messagesBurst: 5 } }, async (s, url, clients) => {
    let n = 0;
    s.setReceiver(() => n++);
    const c = await open(url, clients);
    for (let i = 0; i < 50; i++) c.send(msg(1, dgram(80)));
    await until(() => n + s.counters.get('ws-rate') === 50);
    assert.ok(n >= 5 && n <= 6, `passed: ${n}`);
  });
});

test('connections beyond the limit (in all, per IP) are closed at the accept', async () => {
  await withServer({ limits: { maxConnections: 3 } }, async (s, url, clients) => {
    for (let i = 0; i < 3; i++) await open(url, clients);
    await assert.rejects(open(url, clients));
    assert.equal(s.counters.get('ws-full'), 1);
    assert.equal(s.connections, 3);
    clients[0]!.close();
    await until(() => s.connections === 2);
    await open(url, clients);
  });
  await withServer({ limits: { maxPerIp: 2 } }, async (s, url, clients) => {
    for (let i = 0; i < 2; i++) await open(url, clients);
    await assert.rejects(open(url, clients));
    assert.equal(s.counters.get('ws-full-ip'), 1);
  });
});

test('handshake and idle deadlines run on the injected clock; pings keep a connection', async () => {
  const clock = new VirtualClock();
  await withServer({ clock }, async (s, url, clients) => {
    const raw = net.connect(s.local.port, '127.0.0.1');
    try {
      await new Promise((r) => raw.once('connect', r));
      await until(() => s.connections === 1);
      const closed = new Promise((r) => raw.once('close', r));
      await clock.run(WS_HANDSHAKE_TIMEOUT - 1);
      assert.equal(s.connections, 1);
      await clock.run(1);
      await closed;
      assert.equal(s.counters.get('ws-handshake-timeout'), 1);
    } finally { raw.destroy(); }
    const idle = await open(url, clients);
    const kept = await open(url, clients);
    const idleClosed = new Promise((r) => idle.once('close', r));
    for (let t = 0; t < WS_IDLE_TIMEOUT * 2; t += WS_IDLE_TIMEOUT / 4) {
      kept.ping();
      await sleep(20);
      await clock.run(WS_IDLE_TIMEOUT / 4);
    }
    await idleClosed;
    assert.equal(s.counters.get('ws-idle'), 1);
    assert.equal(kept.readyState, WebSocket.OPEN);
  });
});

test('a client that does not read: the send buffer stays bounded, datagrams beyond it are dropped and counted', async () => {
  const max = 16 * 1024;
  await withServer({ sendBufferMax: max }, async (s, url, clients) => {
    let from: Addr | undefined;
    s.setReceiver((_d, f) => { from = f; });
    const c = await open(url, clients);
    c.send(msg(1, dgram(10)));
    await until(() => from !== undefined);
    (c as unknown as { _socket: net.Socket })._socket.pause();
    const sent = 20_000;
    let peak = 0;
    for (let i = 0; i < sent; i++) {
      s.send(from!, dgram(1452));
      if (i % 100 === 0) { peak = Math.max(peak, s.queued(from!)); await new Promise((r) => setImmediate(r)); }
    }
    const dropped = s.counters.get('ws-send-full');
    assert.ok(dropped > 0, 'a client that reads nothing makes the server drop');
    assert.ok(peak <= max, `queued at most ${peak} bytes (limit ${max})`);
    console.log(JSON.stringify({ sent, dropped, sentThrough: s.counters.get('ws-tx'), peakQueuedBytes: peak }));
  });
});

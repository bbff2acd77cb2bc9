// Attacks on the WebSocket server (src/net/wsserver.ts, src/net/wsguard.ts) by unauthenticated
// clients over real sockets on 127.0.0.1, each bounded in count and time: before the upgrade
// (slowloris headers, huge headers, an endless HTTP body, many silent TCP connections, silent and
// half-done TLS), after it (fragmented and oversized messages, empty fragments, text,
// compression, every type byte, key tags, ping floods read and unread, clients that never read),
// connection churn and its rate per source, the IPv6 /64 and the fairness of the connection
// table. Each test asserts the bound; everything is closed even when one fails.
import { test } from 'node:test';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { WsAdmission, WS_LIMITS } from '../../src/net/wsguard.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { realClock, type Clock } from '../../src/util/clock.js';
import { wsAddr, type Addr } from '../../src/proto/addr.js';
import { WS_HANDSHAKE_TIMEOUT, WS_MAX_MESSAGE, WS_SUBPROTOCOL } from '../../src/params.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 10) await sleep(10);
  assert.ok(f(), 'condition not met in time');
}

interface Ctx { s: WsServerTransport; port: number; raws: net.Socket[]; clients: WebSocket[] }
type Opts = Partial<Parameters<typeof WsServerTransport.listen>[0]> & { sendBufferTotal?: number };
async function withServer(opts: Opts, body: (c: Ctx) => Promise<void>): Promise<void> {
  const all = { host: '127.0.0.1', port: 0, clock: realClock as Clock, ...opts };
  const s = await WsServerTransport.listen(all);
  const c: Ctx = { s, port: s.local.port, raws: [], clients: [] };
  try { await body(c); } finally {
    for (const r of c.raws) r.destroy();
    for (const w of c.clients) w.terminate();
    s.close();
  }
}
/** What the server holds in its maps (private): none must outlive a connection. */
const held = (s: WsServerTransport) => {
  const p = s as unknown as { conns: Map<unknown, unknown>; guards: Map<unknown, unknown>; sockets: Set<unknown> };
  return p.conns.size + p.guards.size + p.sockets.size;
};

function raw(c: Ctx, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const r = net.connect({ port: c.port, host: '127.0.0.1', localAddress });
  c.raws.push(r);
  r.on('error', () => {});
  return new Promise((res) => r.once('connect', () => res(r)));
}
const closed = (r: net.Socket) => new Promise<void>((res) => { if (r.destroyed) res(); else r.once('close', () => res()); });

/** A raw socket past the upgrade (a 101 with the subprotocol), and the bytes after the 101. */
async function upgraded(c: Ctx, extra = ''): Promise<{ r: net.Socket; got: () => Buffer; head: string }> {
  const r = await raw(c);
  let buf = Buffer.alloc(0);
  r.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
  r.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n` +
    `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Protocol: ${WS_SUBPROTOCOL}\r\n${extra}\r\n`);
  await until(() => buf.includes('\r\n\r\n'));
  const end = buf.indexOf('\r\n\r\n') + 4;
  const head = buf.subarray(0, end).toString();
  assert.match(head, /^HTTP\/1.1 101/);
  return { r, head, got: () => buf.subarray(end) };
}
/** A client frame (masked with a zero key, so the payload is as given). */
function frame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): Buffer {
  const n = payload.length;
  const len = n < 126 ? Buffer.from([0x80 | n]) : n < 65536 ? Buffer.from([0x80 | 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | 127]), Buffer.from(new BigUint64Array([BigInt(n)]).buffer).reverse()]);
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]), len, Buffer.alloc(4), payload]);
}
/** The close code in a server close frame among `b`, if any (server frames are unmasked). */
function closeCode(b: Buffer): number | undefined {
  for (let o = 0; o + 2 <= b.length;) {
    const op = b[o]! & 15;
    let n = b[o + 1]! & 127;
    let h = 2;
    if (n === 126) { n = b.readUInt16BE(o + 2); h = 4; }
    if (op === 8) return n >= 2 ? b.readUInt16BE(o + h) : 1005;
    o += h + n;
  }
  return undefined;
}
function open(c: Ctx, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const w = new WebSocket(`ws://127.0.0.1:${c.port}/`, [WS_SUBPROTOCOL], opts);
  c.clients.push(w);
  return new Promise((res, rej) => { w.once('open', () => res(w)); w.once('error', rej); });
}

test('slowloris headers, a header over WS_MAX_HEADER_BYTES, an endless HTTP body: each closed, nothing kept', async () => {
  const clock = new VirtualClock();
  await withServer({ clock }, async (c) => {
    const slow = await raw(c);
    slow.write('GET / HTTP/1.1\r\nHost: x\r\n');
    for (let i = 0; i < 20; i++) { slow.write(`X-${i}: y\r\n`); await sleep(5); await clock.run(WS_HANDSHAKE_TIMEOUT / 25); }
    assert.ok(!slow.destroyed, 'still within the handshake deadline');
    await clock.run(WS_HANDSHAKE_TIMEOUT / 5);
    await closed(slow);
    assert.equal(c.s.counters.get('ws-handshake-timeout'), 1);
    const big = await raw(c);
    big.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(16 * 1024)}\r\n\r\n`);
    await closed(big);
    assert.equal(c.s.counters.get('ws-bad-request'), 1);
    // An HTTP request with a body that never ends: answered 426, and the socket goes within the
    // handshake deadline however much the client keeps sending.
    const body = await raw(c);
    let sent = 0;
    body.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 200 && !body.destroyed; i++) { body.write(`4000\r\n${'b'.repeat(0x4000)}\r\n`); sent += 0x4000; await sleep(2); if (i === 100) await clock.run(WS_HANDSHAKE_TIMEOUT); }
    await closed(body);
    assert.equal(c.s.counters.get('ws-http'), 1);
    await until(() => c.s.connections === 0 && held(c.s) === 0 && clock.pending === 0);
    console.log(JSON.stringify({ attack: 'http-body', bytesSentBeforeClose: sent }));
  });
});

test('300 silent TCP connections: counted at the accept, the ones beyond the limit closed at once, all gone after the handshake deadline', async () => {
  const clock = new VirtualClock();
  await withServer({ clock, limits: { maxConnections: 200, maxPerIp: 200 } }, async (c) => {
    const socks: net.Socket[] = [];
    for (let i = 0; i < 300; i++) socks.push(await raw(c));
    await until(() => c.s.counters.get('ws-full') === 100);
    assert.equal(c.s.connections, 200);
    await clock.run(WS_HANDSHAKE_TIMEOUT);
    await Promise.all(socks.map(closed));
    await until(() => c.s.connections === 0 && held(c.s) === 0 && clock.pending === 0);
    assert.equal(c.s.counters.get('ws-handshake-timeout'), 200);
  });
});

test('fragmented messages: the sum over fragments is bounded (1009), 20 000 empty fragments end the connection', async () => {
  await withServer({}, async (c) => {
    let n = 0;
    c.s.setReceiver(() => n++);
    const a = await upgraded(c);
    a.r.write(Buffer.concat([frame(2, Buffer.alloc(1000, 1), false), frame(0, Buffer.alloc(1000, 1), false), frame(0, Buffer.alloc(10), true)]));
    await until(() => closeCode(a.got()) !== undefined);
    assert.equal(closeCode(a.got()), 1009);
    const b = await upgraded(c);
    const empties = [frame(2, Buffer.from([1]), false)];
    for (let i = 0; i < 20_000; i++) empties.push(frame(0, Buffer.alloc(0), false));
    b.r.write(Buffer.concat(empties));
    await until(() => closeCode(b.got()) !== undefined);
    assert.ok([1008, 1009].includes(closeCode(b.got())!), `close ${closeCode(b.got())}`);
    // A legitimate fragmented datagram (two fragments) passes.
    const d = await upgraded(c);
    d.r.write(Buffer.concat([frame(2, Buffer.from([1, 7, 7]), false), frame(0, Buffer.alloc(100, 7), true)]));
    await until(() => n === 1);
    a.r.destroy(); b.r.destroy();
    await until(() => c.s.connections === 1);
  });
});

test('compression is off: an offered permessage-deflate is not accepted, a compressed frame closes (no zip bomb)', async () => {
  await withServer({}, async (c) => {
    let n = 0;
    c.s.setReceiver(() => n++);
    const a = await upgraded(c, 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n');
    assert.doesNotMatch(a.head, /sec-websocket-extensions/i);
    // 1 MiB of zeros deflates to about 1 KiB: a server that inflated it would hold 700 times more.
    const bomb = zlib.deflateRawSync(Buffer.alloc(1 << 20));
    a.r.write(frame(2, bomb.subarray(0, Math.min(bomb.length, WS_MAX_MESSAGE)), true, true));
    await until(() => closeCode(a.got()) !== undefined);
    assert.equal(closeCode(a.got()), 1002);
    assert.equal(n, 0);
  });
});

test('text (valid and invalid UTF-8), all 256 type bytes, 1000 key tags: only WS_DATAGRAM reaches the node, nothing kept per key', async () => {
  await withServer({ limits: { messagesPerSec: 1e6, messagesBurst: 1e6 } }, async (c) => {
    let n = 0;
    c.s.setReceiver(() => n++);
    const w = await open(c);
    w.send('text');
    for (let t = 0; t < 256; t++) w.send(Buffer.concat([Buffer.from([t]), crypto.randomBytes(40)]));
    for (let i = 0; i < 1000; i++) w.send(Buffer.concat([Buffer.from([2]), crypto.randomBytes(32), crypto.randomBytes(100)]));
    await until(() => c.s.counters.get('ws-unrelayed') === 1001);
    assert.equal(n, 1);
    assert.equal(c.s.counters.get('ws-type'), 254);
    assert.equal(c.s.counters.get('ws-text'), 1);
    assert.equal(w.readyState, WebSocket.OPEN);
    const a = await upgraded(c);
    a.r.write(frame(1, Buffer.from([0xff, 0xfe, 0xfd])));
    await until(() => closeCode(a.got()) !== undefined);
    assert.equal(closeCode(a.got()), 1007);
    await until(() => held(c.s) === 3); // the open connection's conn, guard and socket: nothing for the keys or the closed one
  });
});

test('a ping flood is answered within the message rate: pings count as messages', async () => {
  await withServer({ limits: { messagesPerSec: 10, messagesBurst: 50 } }, async (c) => {
    const w = await open(c);
    let pongs = 0;
    w.on('pong', () => pongs++);
    const t0 = Date.now();
    // Paced (10 at a time) so that ws's own bound on unanswered pongs (60) is never reached.
    for (let i = 0; i < 2000; i++) { w.ping(Buffer.alloc(125)); if (i % 10 === 0) await sleep(1); }
    await sleep(300);
    const s = (Date.now() - t0) / 1000;
    console.log(JSON.stringify({ attack: 'ping-flood', pings: 2000, pongs, seconds: +s.toFixed(2), open: w.readyState === WebSocket.OPEN }));
    assert.ok(pongs <= 50 + 10 * s + 1, `${pongs} pongs for 2000 pings in ${s.toFixed(2)} s`);
  });
});

test('a client that pings and never reads: the server does not queue pongs without bound', async () => {
  await withServer({ limits: { messagesPerSec: 1e6, messagesBurst: 1e6 } }, async (c) => {
    const a = await upgraded(c);
    a.r.pause();
    const conn = () => [...(c.s as unknown as { conns: Map<string, { ws: WebSocket }> }).conns.values()][0];
    let peak = 0;
    const ping = frame(9, Buffer.alloc(125, 1));
    const batch = Buffer.concat(Array.from({ length: 400 }, () => ping));
    for (let i = 0; i < 250 && !a.r.destroyed; i++) {
      a.r.write(batch);
      await sleep(2);
      peak = Math.max(peak, conn()?.ws.bufferedAmount ?? 0);
    }
    console.log(JSON.stringify({ attack: 'unread-pongs', pingsSent: 100_000, peakQueuedBytes: peak, closed: conn() === undefined }));
    assert.ok(peak <= 64 * 1024, `queued ${peak} bytes of pongs`);
  });
});

test('connection churn: 400 connections opened and dropped leave no connection, guard, socket or timer behind', async () => {
  const clock = new VirtualClock();
  await withServer({ clock }, async (c) => {
    for (let i = 0; i < 400; i++) {
      if (i % 2 === 0) { const w = await open(c); w.terminate(); } else { const r = await raw(c); r.write('GET / HTTP/1.1\r\n'); r.destroy(); }
    }
    await until(() => c.s.connections === 0 && held(c.s) === 0 && clock.pending === 0);
    assert.equal(c.s.counters.get('ws-accept'), 400);
  });
});

test('IPv6: the per-IP connection limit is per /64, as UDP\'s source limits', () => {
  const a = new WsAdmission({ ...WS_LIMITS, maxPerIp: 2 });
  assert.equal(a.admit('2001:db8:1:2::1'), undefined);
  assert.equal(a.admit('2001:db8:1:2::2'), undefined);
  assert.equal(a.admit('2001:db8:1:2:ffff::3'), 'ws-full-ip', 'a third address of the same /64');
  assert.equal(a.admit('2001:db8:1:3::1'), undefined, 'another /64');
  a.release('2001:db8:1:2::2');
  assert.equal(a.admit('2001:db8:1:2::9'), undefined);
  assert.equal(a.size, 3);
});

test('two source IPs holding every place do not lock a third out: the largest holder gives one up', async () => {
  await withServer({ limits: { maxConnections: 40, maxPerIp: 20 } }, async (c) => {
    for (const ip of ['127.0.0.2', '127.0.0.3']) for (let i = 0; i < 20; i++) await open(c, { localAddress: ip });
    assert.equal(c.s.connections, 40);
    const fresh = await open(c, { localAddress: '127.0.0.4' });
    assert.equal(fresh.readyState, WebSocket.OPEN);
    await until(() => c.s.connections === 40);
    assert.equal(c.s.counters.get('ws-evicted'), 1);
    assert.ok(c.s.carries(wsAddr({ host: '127.0.0.4', port: (fresh as unknown as { _socket: net.Socket })._socket.localPort! })));
  });
});

test('wss://: silent TCP, a partial ClientHello, a TLS session that never sends its upgrade: all closed at the handshake deadline', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl missing' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-wsabuse-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const clock = new VirtualClock();
  await withServer({ clock, tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } }, async (c) => {
    const silent = await raw(c);
    const partial = await raw(c);
    partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    const session = tls.connect({ port: c.port, host: '127.0.0.1', rejectUnauthorized: false });
    session.on('error', () => {});
    await new Promise((r) => session.once('secureConnect', r));
    await until(() => c.s.connections === 3);
    await clock.run(WS_HANDSHAKE_TIMEOUT);
    await Promise.all([closed(silent), closed(partial), new Promise((r) => session.destroyed ? r(0) : session.once('close', r))]);
    await until(() => c.s.connections === 0 && held(c.s) === 0);
    assert.equal(c.s.counters.get('ws-handshake-timeout'), 3);
  });
});

test('clients that never read: the bytes queued over all connections stay under the total (sendBufferTotal)', async () => {
  const per = 64 * 1024, total = 256 * 1024, n = 12;
  await withServer({ sendBufferMax: per, sendBufferTotal: total }, async (c) => {
    const from: Addr[] = [];
    c.s.setReceiver((_d, f) => from.push(f));
    for (let i = 0; i < n; i++) {
      const w = await open(c);
      w.send(Buffer.from([1, 9]));
      (w as unknown as { _socket: net.Socket })._socket.pause();
    }
    await until(() => from.length === n);
    const queued = () => from.reduce((a, f) => a + c.s.queued(f), 0);
    let peak = 0;
    // Enough for each connection's kernel buffers (some MiB on loopback) and then its queue.
    for (let round = 0; round < 4000; round++) {
      for (const f of from) c.s.send(f, new Uint8Array(1452));
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, queued());
    }
    peak = Math.max(peak, queued());
    console.log(JSON.stringify({ attack: 'unread-many', connections: n, perLimit: per, totalLimit: total, peakQueuedBytes: peak, dropped: c.s.counters.get('ws-send-full'), droppedTotal: c.s.counters.get('ws-send-full-total'), sent: c.s.counters.get('ws-tx') }));
    assert.ok(c.s.counters.get('ws-send-full') + c.s.counters.get('ws-send-full-total') > 0);
    assert.ok(peak <= total + 2 * 1453, `${peak} bytes queued over ${n} connections`);
    for (const w of c.clients) w.terminate();
    await until(() => c.s.connections === 0);
    await until(() => (c.s as unknown as { queuedTotal?: number }).queuedTotal === 0, 2000); // every byte given back
  });
});

test('connection churn from one source is bounded at the accept (before the HTTP parse): acceptsPerSec, acceptsBurst', async () => {
  const clock = new VirtualClock();
  await withServer({ clock, limits: { acceptsPerSec: 5, acceptsBurst: 10 } }, async (c) => {
    const socks: net.Socket[] = [];
    for (let i = 0; i < 30; i++) { const r = await raw(c, '127.0.0.7'); r.write('GET / HTTP/1.1\r\n'); socks.push(r); }
    await until(() => c.s.counters.get('ws-accept') + c.s.counters.get('ws-accept-rate') === 30);
    assert.equal(c.s.counters.get('ws-accept'), 10, 'the burst');
    await clock.run(1000);
    await open(c, { localAddress: '127.0.0.7' });
    assert.equal(c.s.counters.get('ws-accept'), 11);
    await open(c, { localAddress: '127.0.0.8' }); // another source has its own bucket
    for (const r of socks) r.destroy();
  });
});

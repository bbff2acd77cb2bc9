// WebSocket dials through a real HTTP CONNECT proxy (Debian's tinyproxy) on 127.0.0.1
// (src/net/wsdial.ts): a datagram-sized binary message round-trips over wss:// with
// HTTPS_PROXY and over ws:// with http_proxy, the proxy's log shows the CONNECT, no_proxy goes
// direct; a refused CONNECT (403), a proxy that is down, one that never answers and wrong
// credentials (401) each fail with a clear error, fast, with no credential in it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { dialWs, WsDialError } from '../../src/net/wsdial.js';
import { MAX_PACKET } from '../../src/params.js';
import { Tinyproxy, tinyproxyMissing } from '../micronet/tinyproxy.js';
import { makeTestCert, type TestCert } from '../micronet/tlscert.js';
import { freePort } from './freeport.js';

const missing = tinyproxyMissing();


/** A ws (or, given a certificate, wss) echo server on 127.0.0.1. */
async function echoServer(cert?: TestCert): Promise<{ port: number; close(): Promise<void> }> {
  let https: HttpsServer | undefined;
  let wss: WebSocketServer;
  if (cert) {
    https = createHttpsServer({ cert: cert.cert, key: cert.key });
    wss = new WebSocketServer({ server: https });
    await new Promise<void>((r) => https!.listen(0, '127.0.0.1', r));
  } else {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', r));
  }
  wss.on('connection', (c) => c.on('message', (data, isBinary) => c.send(data, { binary: isBinary })));
  const port = ((https ?? wss).address() as AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      if (https) await new Promise<void>((r) => https!.close(() => r()));
    },
  };
}

/** Sends one binary message and waits for its echo. */
async function roundTrip(ws: WebSocket, data: Buffer): Promise<Buffer> {
  const got = new Promise<Buffer>((resolve, reject) => {
    ws.once('message', (m) => resolve(Buffer.from(m as Buffer)));
    ws.once('error', reject);
  });
  ws.send(data, { binary: true });
  return got;
}

async function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((r) => { ws.once('close', () => r()); ws.close(); });
}

/** The WsDialError a dial fails with, and how long it took. */
async function failure(p: Promise<WebSocket>): Promise<{ err: WsDialError; ms: number }> {
  const t0 = Date.now();
  try {
    const ws = await p;
    ws.terminate();
  } catch (err) {
    assert.ok(err instanceof WsDialError, `a WsDialError, got ${String(err)}`);
    return { err, ms: Date.now() - t0 };
  }
  return assert.fail('the dial should have failed');
}

describe('WebSocket through tinyproxy', { skip: missing ?? false }, () => {
  let dir: string;
  let cert: TestCert;
  let plain: Awaited<ReturnType<typeof echoServer>>;
  let tls: Awaited<ReturnType<typeof echoServer>>;
  let forbidden: Awaited<ReturnType<typeof echoServer>>;
  let proxy: Tinyproxy;
  let authProxy: Tinyproxy;
  const message = randomBytes(1 + 32 + MAX_PACKET) // a tagged datagram of the largest size;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wh-wsdial-'));
    for (const d of ['p', 'a']) mkdirSync(join(dir, d));
    cert = makeTestCert(dir, ['127.0.0.1']);
    plain = await echoServer();
    tls = await echoServer(cert);
    forbidden = await echoServer();
    const connectPorts = [plain.port, tls.port];
    proxy = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts, dir: join(dir, 'p') });
    authProxy = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts, dir: join(dir, 'a'), basicAuth: { user: 'alice', password: 'opensesame' } });
  });

  after(async () => {
    await proxy?.stop();
    await authProxy?.stop();
    await plain?.close();
    await tls?.close();
    await forbidden?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('wss:// with HTTPS_PROXY: CONNECT in the proxy log, a datagram-sized message round-trips', async () => {
    const before = proxy.connects().length;
    const ws = await dialWs(`wss://127.0.0.1:${tls.port}/`, { env: { HTTPS_PROXY: proxy.url }, timeoutMs: 5000, ws: { ca: cert.cert } });
    try {
      assert.deepEqual(await roundTrip(ws, message), message);
    } finally {
      await closed(ws);
    }
    assert.deepEqual(proxy.connects().slice(before), [`127.0.0.1:${tls.port}`]);
    // The certificate is still checked through the tunnel, against the target's own host: this
    // one names 127.0.0.1 only, so "localhost" (tunnelled to the same server) is refused.
    const { err } = await failure(dialWs(`wss://localhost:${tls.port}/`, { env: { HTTPS_PROXY: proxy.url }, timeoutMs: 5000, ws: { ca: cert.cert } }));
    assert.equal(err.code, 'unreachable');
    assert.match(err.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('ws:// with http_proxy goes through CONNECT too; HTTP_PROXY alone is ignored (curl)', async () => {
    const before = proxy.connects().length;
    const ws = await dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { http_proxy: proxy.url }, timeoutMs: 5000 });
    try {
      assert.deepEqual(await roundTrip(ws, message), message);
    } finally {
      await closed(ws);
    }
    assert.deepEqual(proxy.connects().slice(before), [`127.0.0.1:${plain.port}`]);
    const direct = await dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { HTTP_PROXY: proxy.url }, timeoutMs: 5000 });
    await closed(direct);
    assert.equal(proxy.connects().length, before + 1, 'HTTP_PROXY was not used');
  });

  test('the proxy directive wins over the environment; no_proxy goes direct', async () => {
    const before = proxy.connects().length;
    const ws = await dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { http_proxy: 'http://127.0.0.1:1' }, directive: { kind: 'url', url: proxy.url }, timeoutMs: 5000 });
    await closed(ws);
    assert.equal(proxy.connects().length, before + 1);
    const direct = await dialWs(`wss://127.0.0.1:${tls.port}/`, { env: { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.0/8' }, timeoutMs: 5000, ws: { ca: cert.cert } });
    assert.deepEqual(await roundTrip(direct, message), message);
    await closed(direct);
    assert.equal(proxy.connects().length, before + 1, 'no CONNECT for a no_proxy host');
  });

  test('CONNECT to a port the proxy does not allow: proxy-refused, HTTP 403, at once', async () => {
    const { err, ms } = await failure(dialWs(`ws://127.0.0.1:${forbidden.port}/`, { env: { http_proxy: proxy.url }, timeoutMs: 5000 }));
    assert.equal(err.code, 'proxy-refused');
    assert.equal(err.status, 403);
    assert.equal(err.message, `proxy ${proxy.url} refused CONNECT to 127.0.0.1:${forbidden.port}: HTTP 403`);
    assert.ok(ms < 2000, `${ms} ms`);
    assert.match(proxy.log(), new RegExp(`Refused CONNECT method on port ${forbidden.port}`));
  });

  test('proxy down: proxy-unreachable (ECONNREFUSED), at once', async () => {
    const port = await freePort();
    const { err, ms } = await failure(dialWs(`wss://127.0.0.1:${tls.port}/`, { env: { HTTPS_PROXY: `http://127.0.0.1:${port}` }, timeoutMs: 5000 }));
    assert.equal(err.code, 'proxy-unreachable');
    assert.equal(err.message, `cannot reach proxy http://127.0.0.1:${port}: ECONNREFUSED`);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  test('a proxy that never answers CONNECT: proxy-timeout at the deadline, its socket closed', async () => {
    const sockets: Socket[] = [];
    let closedSockets = 0;
    const silent: Server = createNetServer((s) => {
      sockets.push(s);
      s.resume(); // reads (and drops) the CONNECT, so that the client's close is seen
      s.on('close', () => closedSockets++);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const { err, ms } = await failure(dialWs(`wss://127.0.0.1:${tls.port}/`, { env: { https_proxy: `http://127.0.0.1:${port}` }, timeoutMs: 400 }));
      assert.equal(err.code, 'proxy-timeout');
      assert.equal(err.message, `proxy http://127.0.0.1:${port} did not answer CONNECT to 127.0.0.1:${tls.port} within 400 ms`);
      assert.ok(ms >= 390 && ms < 1500, `${ms} ms`);
      for (let i = 0; i < 100 && closedSockets < sockets.length; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sockets.length, 1);
      assert.equal(closedSockets, 1, 'the dial closed its socket to the proxy');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('proxy credentials: right ones pass, wrong ones are refused (tinyproxy: 401), never printed', async () => {
    const host = authProxy.url.replace('http://', '');
    const ws = await dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { http_proxy: `http://alice:opensesame@${host}` }, timeoutMs: 5000 });
    assert.deepEqual(await roundTrip(ws, message), message);
    await closed(ws);
    const { err } = await failure(dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { http_proxy: `http://alice:wrongpass@${host}` }, timeoutMs: 5000 }));
    assert.equal(err.code, 'proxy-refused');
    assert.equal(err.status, 401, 'tinyproxy 1.11 answers wrong credentials with 401');
    assert.equal(err.message, `proxy http://***@${host} refused CONNECT to 127.0.0.1:${plain.port}: HTTP 401 (proxy authentication required or wrong)`);
    assert.equal(err.proxy, `http://***@${host}`);
    assert.ok(!/alice|wrongpass|opensesame/.test(err.message + String(err.stack)), err.message);
    const noCreds = await failure(dialWs(`ws://127.0.0.1:${plain.port}/`, { env: { http_proxy: authProxy.url }, timeoutMs: 5000 }));
    assert.equal(noCreds.err.status, 407, 'without credentials tinyproxy asks for them with 407');
  });
});

test('tinyproxy is installed here, or the tests above say why they are skipped', () => {
  if (missing) console.log(`# skipped: ${missing}`);
  assert.ok(missing === null || /not installed/.test(missing));
});

// The TLS-terminating nginx fixture (test/micronet/nginx.ts) on loopback: a `ws` client talks
// wss:// to a real nginx, which passes the WebSocket upgrade on to a plain ws:// echo server;
// the certificate is checked (refused without its CA); and the whole path of a node behind a
// proxy-only network: client -> tinyproxy (CONNECT) -> nginx (TLS) -> ws backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { dialWs, WsDialError } from '../../src/net/wsdial.js';
import { MAX_PACKET } from '../../src/params.js';
import { Nginx, nginxConfig, nginxMissing } from '../micronet/nginx.js';
import { Tinyproxy, tinyproxyMissing } from '../micronet/tinyproxy.js';
import { freePort } from './freeport.js';

const missing = nginxMissing();


async function echo(ws: WebSocket, data: Buffer): Promise<Buffer> {
  const got = new Promise<Buffer>((resolve, reject) => {
    ws.once('message', (m) => resolve(Buffer.from(m as Buffer)));
    ws.once('error', reject);
  });
  ws.send(data, { binary: true });
  return got;
}

test('nginx.conf: TLS on the listen address, the upgrade headers passed to the backend', () => {
  const c = nginxConfig({ listen: '::1', port: 8443, backend: '127.0.0.1:9000', dir: '/d', cert: '/d/c.pem', key: '/d/k.pem' });
  assert.match(c, /listen \[::1\]:8443 ssl;/);
  assert.match(c, /proxy_pass http:\/\/127\.0\.0\.1:9000;/);
  assert.match(c, /proxy_set_header Upgrade \$http_upgrade;/);
  assert.match(c, /proxy_set_header Connection \$connection_upgrade;/);
  assert.match(c, /proxy_http_version 1\.1;/);
  assert.match(c, /pid \/d\/nginx\.pid;/);
});

describe('wss:// through a real nginx to a ws:// backend', { skip: missing ?? false }, () => {
  let dir: string;
  let backend: WebSocketServer;
  let backendPort: number;
  let nginx: Nginx;
  const upgrades: IncomingMessage[] = [];
  const message = randomBytes(1 + 32 + MAX_PACKET);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wh-nginx-'));
    backend = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => backend.once('listening', r));
    backendPort = (backend.address() as AddressInfo).port;
    backend.on('connection', (c, req) => {
      upgrades.push(req);
      c.on('message', (d, isBinary) => c.send(d, { binary: isBinary }));
    });
    nginx = await Nginx.start({ listen: '127.0.0.1', port: await freePort(), backend: `127.0.0.1:${backendPort}`, dir });
  });

  after(async () => {
    await nginx?.stop();
    for (const c of backend?.clients ?? []) c.terminate();
    await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('a datagram-sized binary message round-trips; nginx logged the upgrade (101)', async () => {
    const ws = await dialWs(nginx.url, { env: {}, timeoutMs: 5000, ws: { ca: nginx.cert.cert } });
    try {
      assert.deepEqual(await echo(ws, message), message);
    } finally {
      ws.terminate();
    }
    const last = upgrades.at(-1)!;
    assert.equal(last.headers['x-forwarded-for'], '127.0.0.1', 'the backend got the upgrade from nginx');
    for (let i = 0; i < 50 && !/" 101 /.test(nginx.accessLog()); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(nginx.accessLog(), /"GET \/ HTTP\/1\.1" 101 /);
  });

  test('the certificate is checked: without its CA the dial fails', async () => {
    await assert.rejects(dialWs(nginx.url, { env: {}, timeoutMs: 5000 }), (e: Error) => e instanceof WsDialError && e.code === 'unreachable' && /SELF_SIGNED|self-signed|UNABLE_TO_VERIFY/i.test(e.message));
    const ws = await dialWs(nginx.url, { env: {}, timeoutMs: 5000, ws: { rejectUnauthorized: false } });
    ws.terminate();
  });

  test('client -> tinyproxy (CONNECT) -> nginx (TLS) -> ws backend', { skip: tinyproxyMissing() ?? false }, async () => {
    const pdir = join(dir, 'proxy');
    mkdirSync(pdir);
    const nginxPort = Number(new URL(nginx.url).port);
    const proxy = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts: [nginxPort], dir: pdir });
    try {
      const ws = await dialWs(nginx.url, { env: { HTTPS_PROXY: proxy.url }, timeoutMs: 5000, ws: { ca: nginx.cert.cert } });
      try {
        assert.deepEqual(await echo(ws, message), message);
      } finally {
        ws.terminate();
      }
      assert.deepEqual(proxy.connects(), [`127.0.0.1:${nginxPort}`]);
    } finally {
      await proxy.stop();
    }
  });
});

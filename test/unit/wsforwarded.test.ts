// Behind a reverse proxy (src/net/wsforwarded.ts, `listen ws://... trusted-proxy IP`): the per-IP
// bounds of the WebSocket server count the client an X-Forwarded-For from a trusted proxy names,
// never one an untrusted peer writes. The attack first: through a real nginx, one client filling
// the share refused a second client behind the same proxy (every connection came from nginx's
// address); a client not from a trusted proxy must not escape its own share with the header.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { canonicalIp, forwardedClient } from '../../src/net/wsforwarded.js';
import { WsServerTransport, type WsServerOptions } from '../../src/net/wsserver.js';
import type { Addr } from '../../src/proto/addr.js';
import { WS_SUBPROTOCOL } from '../../src/params.js';
import { realClock } from '../../src/util/clock.js';
import { Nginx, nginxMissing } from '../micronet/nginx.js';
import { freePort } from './freeport.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 10) await sleep(10);
  assert.ok(f(), 'condition not met in time');
}

/** Opens a WebSocket from `localAddress` (any 127.x address is this host's): its HTTP status on
 *  a refusal. */
function open(url: string, clients: WebSocket[], o: { localAddress?: string; headers?: Record<string, string>; ca?: string } = {}): Promise<WebSocket> {
  const c = new WebSocket(url, [WS_SUBPROTOCOL], { ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.headers ? { headers: o.headers } : {}), ...(o.ca ? { ca: o.ca } : {}) });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('open', () => resolve(c));
    c.once('error', reject);
    c.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

// Typed loosely so that this file also builds against a server without the option (the attack
// run on the old code).
const serverOpts = (o: Record<string, unknown>) => ({ host: '127.0.0.1', port: 0, clock: realClock, ...o }) as WsServerOptions;

test('forwardedClient: the right-most address, trusted proxies skipped, a bad header counted', () => {
  const t = new Set(['127.0.0.1', '10.0.0.2']);
  assert.deepEqual(forwardedClient('198.51.100.7', '127.0.0.1', t), { ip: '198.51.100.7' });
  // What a client wrote to the left of the address its proxy appended is never read.
  assert.deepEqual(forwardedClient('1.1.1.1, junk, 198.51.100.7', '127.0.0.1', t), { ip: '198.51.100.7' });
  assert.deepEqual(forwardedClient('198.51.100.7, 10.0.0.2', '127.0.0.1', t), { ip: '198.51.100.7' }, 'a chain of trusted proxies');
  assert.deepEqual(forwardedClient('10.0.0.2', '127.0.0.1', t), { ip: '10.0.0.2' }, 'only proxies: the left-most');
  assert.deepEqual(forwardedClient('2001:DB8:0:0::1', '127.0.0.1', t), { ip: '2001:db8::1' });
  assert.deepEqual(forwardedClient('::ffff:192.0.2.1', '127.0.0.1', t), { ip: '192.0.2.1' });
  assert.deepEqual(forwardedClient(['192.0.2.1', '192.0.2.2'], '127.0.0.1', t), { ip: '192.0.2.2' });
  for (const bad of ['junk', '198.51.100.7:80', '[2001:db8::1]', '198.51.100.7, ', 'fe80::1%eth0', '1.2.3.4, unknown'])
    assert.deepEqual(forwardedClient(bad, '127.0.0.1', t), { ip: '127.0.0.1', why: 'ws-xff-bad' }, bad);
  assert.deepEqual(forwardedClient(undefined, '127.0.0.1', t), { ip: '127.0.0.1', why: 'ws-xff-missing' });
  assert.deepEqual(forwardedClient(' ', '127.0.0.1', t), { ip: '127.0.0.1', why: 'ws-xff-missing' });
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalIp('example.com'), undefined);
});

test('a client not from a trusted proxy cannot escape its share with X-Forwarded-For', async () => {
  for (const trustedProxies of [undefined, ['127.0.0.1']]) {
    const s = await WsServerTransport.listen(serverOpts({ limits: { maxPerIp: 2 }, ...(trustedProxies ? { trustedProxies } : {}) }));
    const clients: WebSocket[] = [];
    const url = `ws://127.0.0.1:${s.local.port}/`;
    try {
      // From 127.0.0.2: not the trusted proxy (nor any, in the first round).
      for (let i = 0; i < 2; i++) await open(url, clients, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': `198.51.100.${i + 1}` } });
      await assert.rejects(open(url, clients, { localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '198.51.100.3' } }));
      assert.equal(s.counters.get('ws-full-ip'), 1);
      assert.equal(s.counters.get('ws-forwarded'), 0, 'the header was never read');
    } finally {
      for (const c of clients) c.terminate();
      s.close();
    }
  }
});

test('from a trusted proxy: a missing or malformed header counts against the proxy\'s own share', async () => {
  const s = await WsServerTransport.listen(serverOpts({ limits: { maxPerIp: 2 }, trustedProxies: ['127.0.0.1'] }));
  const clients: WebSocket[] = [];
  const url = `ws://127.0.0.1:${s.local.port}/`;
  try {
    await open(url, clients, { headers: { 'X-Forwarded-For': 'not-an-address' } });
    await open(url, clients);
    await assert.rejects(open(url, clients, { headers: { 'X-Forwarded-For': '198.51.100.1:4000' } }), /HTTP 503/);
    await open(url, clients, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
    assert.deepEqual([s.counters.get('ws-xff-bad'), s.counters.get('ws-xff-missing'), s.counters.get('ws-full-ip'), s.counters.get('ws-forwarded')], [2, 1, 1, 3]);
    await until(() => s.connections === 3, 1000);
    clients[0]!.terminate();
    await until(() => s.connections === 2);
    await open(url, clients); // the proxy's own share has a place again
  } finally {
    for (const c of clients) c.terminate();
    s.close();
  }
});

describe('behind a real nginx terminating TLS', { skip: nginxMissing() ?? false }, () => {
  let dir: string;
  let nginx: Nginx;
  let s: WsServerTransport;
  const got: Addr[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wh-xff-'));
    s = await WsServerTransport.listen(serverOpts({ limits: { maxPerIp: 2 }, trustedProxies: ['127.0.0.1'] }));
    s.setReceiver((_d, from) => got.push(from));
    nginx = await Nginx.start({ listen: '127.0.0.1', port: await freePort(), backend: `127.0.0.1:${s.local.port}`, dir });
  });

  after(async () => {
    await nginx?.stop();
    s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('one client filling its share does not lock out a second client behind the same proxy', async () => {
    const clients: WebSocket[] = [];
    const ca = nginx.cert.cert;
    try {
      for (let i = 0; i < 2; i++) await open(nginx.url, clients, { localAddress: '127.0.0.2', ca });
      // Another client behind the same nginx still gets in (on the old code: refused, HTTP 502,
      // every connection came from 127.0.0.1)...
      const b = await open(nginx.url, clients, { localAddress: '127.0.0.3', ca });
      // ... and the abuser's next connection is refused (nginx passes the 503 on).
      await assert.rejects(open(nginx.url, clients, { localAddress: '127.0.0.2', ca }), /HTTP 503/);
      // Even one spoofing the header: nginx appends the address it saw, which is the one read.
      await open(nginx.url, clients, { localAddress: '127.0.0.4', ca, headers: { 'X-Forwarded-For': '127.0.0.2' } });
      await assert.rejects(open(nginx.url, clients, { localAddress: '127.0.0.2', ca, headers: { 'X-Forwarded-For': '127.0.0.9' } }), /HTTP 503/);
      assert.equal(s.counters.get('ws-full-ip'), 2);
      assert.equal(s.counters.get('ws-forwarded'), 4);
      // The DHT still sees the connection's TCP source (nginx's), as without the option.
      b.send(Buffer.from([1, 9, 9, 9]));
      await until(() => got.length === 1);
      assert.equal(got[0]!.host, '127.0.0.1');
    } finally {
      for (const c of clients) c.terminate();
    }
  });
});

// wss:// (src/net/wsserver.ts with a certificate, `listen wss://IP:PORT cert FILE key FILE`):
// a self-signed certificate made by openssl for 127.0.0.1; a client that trusts it exchanges
// datagrams, the client transport (which verifies certificates as Node does) refuses it and
// keeps retrying. And src/daemon/wstransports.ts reads the files a `listen wss://` line names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { WsClientTransport } from '../../src/net/wsclient.js';
import { openWsTransports } from '../../src/daemon/wstransports.js';
import { realSeams } from '../../src/daemon/seams.js';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { realClock } from '../../src/util/clock.js';
import { WS_SUBPROTOCOL } from '../../src/params.js';
import { quietLog } from './fakenet.js';

const skip = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0 ? false : 'openssl missing';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 10) await sleep(10);
  assert.ok(f(), 'condition not met in time');
}

function selfSigned(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem'), key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

test('wss://: a client trusting the certificate exchanges datagrams; an untrusted certificate is refused', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-wstls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = selfSigned(dir);
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock, tls: { cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key) } });
  t.after(() => server.close());
  const url = `wss://127.0.0.1:${server.local.port}/`;
  let got = 0;
  server.setReceiver((d, from) => { got++; server.send(from, d); });
  const c = new WebSocket(url, [WS_SUBPROTOCOL], { ca: fs.readFileSync(files.cert) });
  t.after(() => c.terminate());
  await new Promise((r, j) => { c.once('open', r); c.once('error', j); });
  const echoed = new Promise<Buffer>((r) => c.once('message', (m: Buffer) => r(m)));
  c.send(Buffer.from([1, 9, 9, 9]));
  assert.deepEqual([...await echoed], [1, 9, 9, 9]);
  assert.equal(got, 1);
  // Plain ws:// to the TLS port does not get in.
  const plain = new WebSocket(url.replace('wss:', 'ws:'), [WS_SUBPROTOCOL]);
  await new Promise((r) => { plain.once('error', r); plain.once('close', r); });
  // The client transport verifies the certificate: self-signed and not trusted, refused.
  const client = new WsClientTransport({ url, addr: { host: '127.0.0.1', port: server.local.port }, clock: realClock, random: () => 0.5 });
  t.after(() => client.close());
  await until(() => client.state === 'waiting');
  assert.equal(client.counters.get('ws-open'), 0);
  assert.equal(got, 1);
});

test('listen wss:// reads its cert and key files at start; a missing file stops the start', { skip }, async (t) => {
  const sodium = await sodiumReady();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-wstls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = selfSigned(dir);
  const port = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
  const open = (text: string) => openWsTransports({
    config: parseConfig(text, 'p.conf', sodium), selfB64: '', clock: realClock, log: quietLog(), lookup: async () => '127.0.0.1', random: () => 0.5, seams: realSeams, undo: [],
  });
  const { transports } = await open(`name p\nlisten wss://127.0.0.1:${port} cert ${files.cert} key ${files.key}\n`);
  t.after(() => { for (const x of transports) x.close(); });
  assert.deepEqual(transports.map((x) => x.view().address), [`wss://127.0.0.1:${port}/`]);
  await assert.rejects(open(`name p\nlisten wss://127.0.0.1:${port + 1} cert ${path.join(dir, 'none.pem')} key ${files.key}\n`), /^Error: p\.conf:2: listen: cannot read \S+none\.pem: no such file$/);
});

// `wh reload` and the WebSocket transport (src/daemon/wsreload.ts, docs/NODE.md "What wh reload
// applies"): real daemons in this process over 127.0.0.1 (real UDP and WebSocket transports, fake
// data plane), their config files rewritten and reloaded. A new, moved or removed `listen` is
// opened or closed; one that cannot bind refuses the reload, naming the file and line, with the
// old listener still serving; an unchanged listener keeps its connections (its trusted proxies
// replaced in place). A `boot KEY ws://` line added opens a link and the node joins over it; an
// unchanged link keeps its connection; a `proxy` line re-creates the links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { WS_SUBPROTOCOL } from '../../src/params.js';
import { makeTestCert } from '../micronet/tlscert.js';
import { quietLog } from './fakenet.js';
import { BlockedUdp, fakeDeps, noSystem } from './fakedaemon.js';
import { freePort } from './freeport.js';

const sodium = await sodiumReady();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  for (let t = 0; t < ms; t += 25) { if (await f()) return; await sleep(25); }
  assert.fail('condition not met in time');
}
const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));

/** What a reload answered, loosely typed (the field is new). */
type Answer = { transports?: string[]; errors?: string[] };

async function startPublic(dir: string, name: string, text: string): Promise<{ d: Daemon; file: string }> {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, text);
  const port = await freePort();
  const d = await Daemon.start({
    sodium, configPath: file, config: parseConfig(text, file, sodium), secret: generateSecret(sodium), iface: `whtst${name}`,
    listenPort: port, daemonPort: port, bindHost: '127.0.0.1', log: quietLog(), deps: fakeDeps(), seams: noSystem,
  });
  return { d, file };
}

function dial(port: number): Promise<WebSocket> {
  const c = new WebSocket(`ws://127.0.0.1:${port}/`, [WS_SUBPROTOCOL]);
  return new Promise((resolve, reject) => { c.once('open', () => resolve(c)); c.once('error', reject); });
}

const servers = async (d: Daemon) => (await d.show(true)).transports?.filter((t) => t.role === 'server') ?? [];

test('reload opens, moves and closes the listen ws:// server; an unchanged one keeps its connections; a port in use refuses', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-wsreload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p1 = await freePort(), p2 = await freePort();
  const { d, file } = await startPublic(dir, 'a', `name pub\nworkbit 0\nlisten ws://127.0.0.1:${p1}\n`);
  t.after(() => d.stop());
  const c = await dial(p1);
  t.after(() => c.terminate());
  let closed = false;
  c.once('close', () => { closed = true; });

  // Unchanged address, a trusted proxy added: the same server, the connection stays.
  writeFileSync(file, `name pub\nworkbit 0\nlisten ws://127.0.0.1:${p1} trusted-proxy 127.0.0.9\n`);
  const r1 = (await d.reload()) as Answer;
  assert.deepEqual(r1.transports, [`listen ws://127.0.0.1:${p1}/ kept (trusted proxies), its connections too`]);
  await sleep(50);
  assert.equal(closed, false);
  assert.equal(c.readyState, WebSocket.OPEN);
  assert.deepEqual((await servers(d)).map((s) => s.connections), [1]);

  // Moved to another port: the new one serves, the old one is closed (its connection with it).
  writeFileSync(file, `name pub\nworkbit 0\nlisten ws://127.0.0.1:${p2}\n`);
  const r2 = (await d.reload()) as Answer;
  assert.deepEqual(r2.transports, [`listen ws://127.0.0.1:${p1}/ closed, ws://127.0.0.1:${p2}/ opened`]);
  await until(() => closed);
  (await dial(p2)).terminate();
  await assert.rejects(dial(p1));
  assert.deepEqual((await servers(d)).map((s) => s.address), [`ws://127.0.0.1:${p2}/`]);

  // A port in use: refused, with the file and line; the running listener still serves.
  const squatter = createServer();
  const p3 = await freePort();
  await new Promise<void>((r) => squatter.listen(p3, '127.0.0.1', r));
  t.after(() => squatter.close());
  writeFileSync(file, `name pub\nworkbit 0\n\nlisten ws://127.0.0.1:${p3}\n`);
  await assert.rejects(d.reload(), (e: Error) => e.message === `${file}:4: listen: cannot listen on 127.0.0.1:${p3}: the port is in use`);
  (await dial(p2)).terminate();
  assert.deepEqual((await servers(d)).map((s) => s.address), [`ws://127.0.0.1:${p2}/`]);
  assert.match(d.config.listen ? `${d.config.listen.port}` : '', new RegExp(`^${p2}$`), 'the config in effect is still the old one');

  // The same port on another address, taken there: the old listener had to close first, is
  // open again, and the reload refused (saying its connections were closed).
  const squat2 = createServer();
  await new Promise<void>((r) => squat2.listen(p2, '127.0.0.2', r));
  writeFileSync(file, `name pub\nworkbit 0\nlisten ws://127.0.0.2:${p2}\n`);
  await assert.rejects(d.reload(), (e: Error) => e.message === `${file}:3: listen: cannot listen on 127.0.0.2:${p2}: the port is in use; ws://127.0.0.1:${p2}/ was closed to free the port and is open again (its connections were closed)`);
  await new Promise<void>((r) => squat2.close(() => r()));
  (await dial(p2)).terminate();
  assert.deepEqual((await servers(d)).map((s) => s.address), [`ws://127.0.0.1:${p2}/`]);

  // The same port on another address (it must be let go first): 127.0.0.1 -> 0.0.0.0.
  writeFileSync(file, `name pub\nworkbit 0\nlisten ws://0.0.0.0:${p2}\n`);
  assert.deepEqual(((await d.reload()) as Answer).transports, [`listen ws://127.0.0.1:${p2}/ closed, ws://0.0.0.0:${p2}/ opened`]);
  (await dial(p2)).terminate();

  // Removed, then back.
  writeFileSync(file, 'name pub\nworkbit 0\n');
  assert.deepEqual(((await d.reload()) as Answer).transports, [`listen ws://0.0.0.0:${p2}/ closed`]);
  await assert.rejects(dial(p2));
  assert.deepEqual(await servers(d), []);
  writeFileSync(file, `name pub\nworkbit 0\nlisten ws://127.0.0.1:${p1}\n`);
  assert.deepEqual(((await d.reload()) as Answer).transports, [`listen ws://127.0.0.1:${p1}/ opened`]);
  (await dial(p1)).terminate();
});

test('reload opens a new boot ws:// link and joins over it; an unchanged link keeps its connection; a proxy line re-creates them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-wsreload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const wa = await freePort(), wb = await freePort();
  const a = await startPublic(dir, 'ba', `name pub\nworkbit 0\nlisten ws://127.0.0.1:${wa}\n`);
  t.after(() => a.d.stop());
  const b = await startPublic(dir, 'bb', `name pub\nworkbit 0\nlisten ws://127.0.0.1:${wb}\n`);
  t.after(() => b.d.stop());
  const nodeSecret = generateSecret(sodium);
  const head = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `trust n ${pub(nodeSecret)}`];
  const lineA = `boot ${keyToBase64(a.d.dht.id)} ws://127.0.0.1:${wa}/`, lineB = `boot ${keyToBase64(b.d.dht.id)} ws://127.0.0.1:${wb}/`;
  const file = join(dir, 't.conf');
  const text = [...head, lineA].join('\n') + '\n';
  writeFileSync(file, text);
  const node = await Daemon.start({
    sodium, configPath: file, config: parseConfig(text, file, sodium), secret: nodeSecret, iface: 'whtstwsrn',
    listenPort: await freePort(), daemonPort: await freePort(), log: quietLog(), deps: fakeDeps(),
    seams: { ...noSystem, bindTransport: async () => new BlockedUdp() },
  });
  t.after(() => node.stop());
  await until(() => a.d.dht.table.size === 1);
  const opens = async (d: Daemon) => (await servers(d))[0]?.counters?.['ws-open'] ?? 0;
  assert.equal(await opens(a.d), 1);

  // B's line added: a link to B, the node joins B over it; A's link is the same connection.
  writeFileSync(file, [...head, lineA, lineB].join('\n') + '\n');
  const r1 = (await node.reload()) as Answer;
  assert.deepEqual(r1.transports, [`link ws://127.0.0.1:${wb}/ opened`]);
  await until(() => b.d.dht.table.size === 1);
  assert.equal(await opens(a.d), 1, 'the link to A was not re-created');
  assert.deepEqual((await servers(a.d)).map((s) => s.connections), [1]);
  const links = async () => (await node.show(false)).transports?.filter((x) => x.role === 'client').map((x) => `${x.address} ${x.state}`);
  await until(async () => JSON.stringify(await links()) === JSON.stringify([`ws://127.0.0.1:${wa}/ open`, `ws://127.0.0.1:${wb}/ open`]));

  // A proxy line: every link depends on it, both are re-created (`none`: still direct).
  writeFileSync(file, [...head, lineA, lineB, 'proxy none'].join('\n') + '\n');
  const r2 = (await node.reload()) as Answer;
  assert.deepEqual(r2.transports?.sort(), [`link ws://127.0.0.1:${wa}/ closed`, `link ws://127.0.0.1:${wa}/ opened`, `link ws://127.0.0.1:${wb}/ closed`, `link ws://127.0.0.1:${wb}/ opened`].sort());
  await until(async () => (await opens(a.d)) === 2 && (await opens(b.d)) === 2);

  // A's line removed: its link closes; B's stays.
  writeFileSync(file, [...head, lineB, 'proxy none'].join('\n') + '\n');
  assert.deepEqual(((await node.reload()) as Answer).transports, [`link ws://127.0.0.1:${wa}/ closed`]);
  await until(async () => (await servers(a.d))[0]?.connections === 0);
  assert.equal(await opens(b.d), 2);
  assert.deepEqual(await links(), [`ws://127.0.0.1:${wb}/ open`]);
});

test('a fallback ws:// line changed by a reload: its link re-created as a fallback, the key\'s UDP line kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-wsreload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const wa = await freePort();
  const a = await startPublic(dir, 'fa', `name pub\nworkbit 0\nlisten ws://127.0.0.1:${wa}\n`);
  t.after(() => a.d.stop());
  const nodeSecret = generateSecret(sodium);
  const keyA = keyToBase64(a.d.dht.id);
  const conf = (port: number) => ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `trust n ${pub(nodeSecret)}`,
    `boot ${keyA} 127.0.0.1:${a.d.opts.listenPort}`, `boot ${keyA} ws://127.0.0.1:${port}/`].join('\n') + '\n';
  const file = join(dir, 't.conf');
  writeFileSync(file, conf(wa));
  const node = await Daemon.start({
    sodium, configPath: file, config: parseConfig(conf(wa), file, sodium), secret: nodeSecret, iface: 'whtstwsrf',
    listenPort: await freePort(), daemonPort: await freePort(), log: quietLog(), deps: fakeDeps(), seams: noSystem,
  });
  t.after(() => node.stop());
  const udpBoots = () => node.join.boots.filter((b) => b.addr.port === a.d.opts.listenPort).length;
  await until(() => node.join.boots.length === 2);
  assert.equal(udpBoots(), 1);
  // Another port (A's listener moves there, say): the seed changes too.
  const wb = await freePort();
  writeFileSync(file, conf(wb));
  const r = (await node.reload()) as Answer;
  assert.deepEqual(r.transports, [`link ws://127.0.0.1:${wa}/ closed`, `link ws://127.0.0.1:${wb}/ opened (fallback)`]);
  assert.ok(node.fallback !== undefined, 'the fallback driver has the new link');
  // The UDP line of the same key is still a boot node (it was dropped with the ws:// line before).
  await until(() => node.join.boots.length === 2);
  assert.equal(udpBoots(), 1);
});

test('a renewed wss:// certificate: reload reads it again in place (connections kept); an unusable one refuses', { skip: spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0 ? false : 'openssl missing' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-wsreload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ['old', 'new', 'live']) mkdirSync(join(dir, d));
  const oldCert = makeTestCert(join(dir, 'old'), ['127.0.0.1']), newCert = makeTestCert(join(dir, 'new'), ['127.0.0.1']);
  const live = (c: { certFile: string; keyFile: string }) => { copyFileSync(c.certFile, join(dir, 'live/cert.pem')); copyFileSync(c.keyFile, join(dir, 'live/key.pem')); };
  live(oldCert);
  const p = await freePort();
  const text = `name pub\nworkbit 0\nlisten wss://127.0.0.1:${p} cert ${join(dir, 'live/cert.pem')} key ${join(dir, 'live/key.pem')}\n`;
  const { d, file } = await startPublic(dir, 'w', text);
  t.after(() => d.stop());
  const dialTls = (ca: string) => {
    const c = new WebSocket(`wss://127.0.0.1:${p}/`, [WS_SUBPROTOCOL], { ca });
    t.after(() => c.terminate());
    return new Promise<WebSocket>((resolve, reject) => { c.once('open', () => resolve(c)); c.once('error', reject); });
  };
  const first = await dialTls(oldCert.cert);
  live(newCert);
  assert.deepEqual(((await d.reload()) as Answer).transports, [`listen wss://127.0.0.1:${p}/ kept (certificate read again), its connections too`]);
  await dialTls(newCert.cert);
  await assert.rejects(dialTls(oldCert.cert), /self-signed|certificate/);
  assert.equal(first.readyState, WebSocket.OPEN, 'a connection made with the old certificate stays');
  writeFileSync(join(dir, 'live/key.pem'), 'not a key\n');
  await assert.rejects(d.reload(), new RegExp(`^Error: ${file}:3: listen: .*not a usable certificate and key`));
  await dialTls(newCert.cert);
});

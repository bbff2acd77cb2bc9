// Two real daemons in this process over 127.0.0.1 (src/daemon/daemon.ts with the real UDP and
// WebSocket transports; fake data plane and firewall): a public node with `listen ws://` and a
// trusted node whose UDP is blocked (its socket drops everything it sends) and whose only boot
// line is `boot KEY ws://...`. The node joins the DHT over the WebSocket and `wh show` says so.
// And a sealed datagram over the WebSocket is checked exactly as over UDP: a replay and a
// forgery are dropped and counted under the same names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { UdpTransport } from '../../src/net/udp.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { encodeBody } from '../../src/proto/messages.js';
import { PING_PAD_TO, WS_SUBPROTOCOL } from '../../src/params.js';
import { formatShow } from '../../src/cli/commands/show.js';
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

async function startBoot(secret: Uint8Array, wsPort: number, udpPort: number): Promise<Daemon> {
  const text = `name pub\nworkbit 0\nlisten ws://127.0.0.1:${wsPort}\n`;
  return Daemon.start({
    sodium, configPath: 'pub.conf', config: parseConfig(text, 'pub.conf', sodium), secret, iface: 'whtestwsb',
    listenPort: udpPort, daemonPort: udpPort, bindHost: '127.0.0.1', log: quietLog(), deps: fakeDeps(), seams: noSystem,
  });
}

test('a node whose UDP is blocked joins the DHT through a boot node over WebSocket; wh show says ws', async (t) => {
  const bootSecret = generateSecret(sodium), nodeSecret = generateSecret(sodium), otherSecret = generateSecret(sodium);
  const wsPort = await freePort(), udpPort = await freePort();
  const boot = await startBoot(bootSecret, wsPort, udpPort);
  t.after(() => boot.stop());
  const blocked = new BlockedUdp();
  const text = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} ws://127.0.0.1:${wsPort}/`,
    `trust n ${pub(nodeSecret)}`, `trust m ${pub(otherSecret)}`].join('\n') + '\n';
  const node = await Daemon.start({
    sodium, configPath: 't.conf', config: parseConfig(text, 't.conf', sodium), secret: nodeSecret, iface: 'whtestwsn',
    listenPort: await freePort(), daemonPort: await freePort(), log: quietLog(), deps: fakeDeps(),
    seams: { ...noSystem, bindTransport: async () => blocked },
  });
  t.after(() => node.stop());
  await until(async () => (await node.show(false)).boots?.[0]?.state === 'answered');
  assert.ok(node.dht.table.size >= 1, 'the boot node is in the routing table');
  const shown = await node.show(true);
  const link = shown.transports?.find((x) => x.kind === 'ws');
  assert.deepEqual({ role: link?.role, address: link?.address, state: link?.state }, { role: 'client', address: `ws://127.0.0.1:${wsPort}/`, state: 'open' });
  assert.ok((link?.counters?.['ws-rx'] ?? 0) > 0 && (link?.counters?.['ws-tx'] ?? 0) > 0, JSON.stringify(link?.counters));
  const server = (await boot.show(false)).transports?.find((x) => x.kind === 'ws');
  assert.deepEqual({ role: server?.role, connections: server?.connections }, { role: 'server', connections: 1 });
  await until(() => boot.dht.table.size === 1); // the boot node verifies the node over the WebSocket too
  assert.match(formatShow(shown), new RegExp(`transports: udp , ws link to ws://127\\.0\\.0\\.1:${wsPort}/ \\(open\\)`));
  assert.match(formatShow(await boot.show(false)), /transports: udp 127\.0\.0\.1:\d+, ws server ws:\/\/127\.0\.0\.1:\d+\/ \(1 connection\)/);
});

test('over WebSocket as over UDP: a replayed datagram and a forged one are dropped and counted the same', async (t) => {
  const bootSecret = generateSecret(sodium);
  const wsPort = await freePort(), udpPort = await freePort();
  const boot = await startBoot(bootSecret, wsPort, udpPort);
  t.after(() => boot.stop());
  const bootKey = sodium.crypto_scalarmult_base(bootSecret);
  const counters = async () => (await boot.show(true)).dht!.rpc;
  const sealPing = (ch: SecureChannel) => ch.seal(bootKey, encodeBody({ t: 'ping', x: sodium.randombytes_buf(8) }, PING_PAD_TO - 68));

  // Over UDP: one ping, its replay, a forgery (a ciphertext byte flipped).
  const udpCh = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'public' });
  const udp = await UdpTransport.bind('127.0.0.1', 0);
  t.after(() => udp.close());
  let udpAnswers = 0;
  udp.setReceiver(() => udpAnswers++);
  const p1 = sealPing(udpCh);
  const before = await counters();
  for (const d of [p1, p1, Uint8Array.from(sealPing(udpCh), (b, i) => (i === 60 ? b ^ 1 : b))]) { udp.send({ host: '127.0.0.1', port: udpPort }, d); await sleep(30); }
  await until(() => udpAnswers >= 1);
  const afterUdp = await counters();

  // Over WebSocket: the same three.
  const wsCh = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'public' });
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/`, [WS_SUBPROTOCOL]);
  t.after(() => ws.terminate());
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let wsAnswers = 0;
  ws.on('message', () => wsAnswers++);
  const p2 = sealPing(wsCh);
  const frame = (d: Uint8Array) => Buffer.concat([Buffer.from([1]), d]);
  for (const d of [p2, p2, Uint8Array.from(sealPing(wsCh), (b, i) => (i === 60 ? b ^ 1 : b))]) { ws.send(frame(d)); await sleep(30); }
  await until(() => wsAnswers >= 1);
  const afterWs = await counters();
  const delta = (a: Record<string, number>, b: Record<string, number>, k: string) => (a[k] ?? 0) - (b[k] ?? 0);
  for (const k of ["drop:replay", "drop:auth"]) {
    assert.equal(delta(afterUdp, before, k), 1, `UDP: ${k}`);
    assert.equal(delta(afterWs, afterUdp, k), 1, `WebSocket: ${k}`);
  }
  // The pong came back over the connection (it is the node's answer to that address).
  assert.ok(wsAnswers >= 1);
});

test('1000 idle WebSocket connections, garbage and an oversized message: the node still answers over UDP, and wh show', async (t) => {
  const bootSecret = generateSecret(sodium);
  const wsPort = await freePort(), udpPort = await freePort();
  const boot = await startBoot(bootSecret, wsPort, udpPort);
  t.after(() => boot.stop());
  const idle: WebSocket[] = [];
  t.after(() => { for (const c of idle) c.terminate(); });
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) {
    const c = new WebSocket(`ws://127.0.0.1:${wsPort}/`, [WS_SUBPROTOCOL]);
    idle.push(c);
    await new Promise((r, j) => { c.once('open', r); c.once('error', j); });
  }
  for (const c of idle.slice(0, 50)) { c.send(sodium.randombytes_buf(200)); c.send('junk'); }
  const big = idle[999]!;
  const closed = new Promise<number>((r) => big.once('close', (code) => r(code)));
  big.send(Buffer.alloc(64 * 1024, 1));
  assert.equal(await closed, 1009);
  const rss1 = process.memoryUsage().rss;
  const shown = await boot.show(true);
  const server = shown.transports?.find((x) => x.role === 'server');
  assert.equal(server?.connections, 999);
  assert.equal(server?.counters?.['ws-oversize'], 1);
  // A UDP node is still served: a sealed ping gets its pong.
  const ch = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'public' });
  const udp = await UdpTransport.bind('127.0.0.1', 0);
  t.after(() => udp.close());
  let pongs = 0;
  udp.setReceiver(() => pongs++);
  udp.send({ host: '127.0.0.1', port: udpPort }, ch.seal(sodium.crypto_scalarmult_base(bootSecret), encodeBody({ t: 'ping', x: sodium.randombytes_buf(8) }, PING_PAD_TO - 68)));
  await until(() => pongs === 1);
  process.stdout.write(`# 1000 idle connections: rss +${Math.round((rss1 - rss0) / 1024)} KiB (clients and server in one process)\n`);
});

// The WebSocket client transport (src/net/wsclient.ts) against the real server transport on
// 127.0.0.1: datagrams queued while connecting and both ways once open, keepalive pings that
// keep the server's idle deadline away, and reconnection with a back-off on the virtual clock
// after the server goes away and comes back; through a real HTTP proxy (tinyproxy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WsClientTransport } from '../../src/net/wsclient.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { realClock } from '../../src/util/clock.js';
import { wsAddr, type Addr } from '../../src/proto/addr.js';
import { Tinyproxy, tinyproxyMissing } from '../micronet/tinyproxy.js';
import { WS_IDLE_TIMEOUT, WS_KEEPALIVE, WS_RECONNECT_MIN } from '../../src/params.js';
import { freePort } from './freeport.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 10) await sleep(10);
  assert.ok(f(), 'condition not met in time');
}
const d = (n: number, fill: number) => new Uint8Array(n).fill(fill);

test('datagrams queued while connecting go out once open; answers come from the boot address', async () => {
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  const boot: Addr = wsAddr({ host: '127.0.0.1', port: server.local.port });
  const client = new WsClientTransport({ url: `ws://127.0.0.1:${boot.port}/any/path`, addr: boot, clock: realClock, random: () => 0.5 });
  try {
    const atServer: { data: Uint8Array; from: Addr }[] = [];
    server.setReceiver((data, from) => atServer.push({ data: data.slice(), from }));
    const atClient: { data: Uint8Array; from: Addr }[] = [];
    client.setReceiver((data, from) => atClient.push({ data: data.slice(), from }));
    assert.ok(client.carries(boot));
    assert.ok(!client.carries(wsAddr({ host: '127.0.0.1', port: boot.port + 1 })));
    assert.ok(!client.carries({ host: '127.0.0.1', port: boot.port }), 'a UDP address at the same ip:port is not the link');
    client.send(boot, d(60, 1));
    client.send(boot, d(61, 2));
    await until(() => atServer.length === 2);
    assert.equal(client.state, 'open');
    assert.deepEqual(atServer.map((x) => x.data.length), [60, 61]);
    server.send(atServer[0]!.from, d(70, 3));
    await until(() => atClient.length === 1);
    assert.deepEqual(atClient[0], { data: d(70, 3), from: boot });
  } finally {
    client.close();
    server.close();
  }
});

test('keepalive pings hold the connection past the server idle deadline (one virtual clock)', async () => {
  const clock = new VirtualClock();
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock });
  const boot: Addr = wsAddr({ host: '127.0.0.1', port: server.local.port });
  const client = new WsClientTransport({ url: `ws://127.0.0.1:${boot.port}/`, addr: boot, clock, random: () => 0.5 });
  try {
    await until(() => client.state === 'open');
    for (let t = 0; t < 3 * WS_IDLE_TIMEOUT; t += WS_KEEPALIVE / 2) {
      await clock.run(WS_KEEPALIVE / 2);
      await sleep(15); // the ping and its pong cross the real sockets
    }
    assert.equal(client.state, 'open');
    assert.equal(server.counters.get('ws-idle'), 0);
    assert.equal(client.counters.get('ws-connect'), 1);
  } finally {
    client.close();
    server.close();
  }
});

test('the server goes away: the client waits with a doubling back-off, and reconnects when it is back', async () => {
  const clock = new VirtualClock();
  const port = await freePort();
  const boot: Addr = wsAddr({ host: '127.0.0.1', port });
  const states: string[] = [];
  const client = new WsClientTransport({ url: `ws://127.0.0.1:${port}/`, addr: boot, clock, random: () => 0.5, onState: (s) => states.push(s) });
  let server: WsServerTransport | undefined;
  try {
    await until(() => client.state === 'waiting');
    // Nothing listens: each attempt fails, the waits double (1 s, 2 s, 4 s; jitter 1.0 here).
    await clock.run(WS_RECONNECT_MIN);
    await until(() => client.state === 'waiting' && client.counters.get('ws-connect') === 2);
    await clock.run(2 * WS_RECONNECT_MIN - 1);
    await sleep(30);
    assert.equal(client.counters.get('ws-connect'), 2, 'not before the doubled wait');
    await clock.run(1);
    await until(() => client.state === 'waiting' && client.counters.get('ws-connect') === 3);
    server = await WsServerTransport.listen({ host: '127.0.0.1', port, clock: realClock });
    let got = 0;
    server.setReceiver(() => got++);
    await clock.run(4 * WS_RECONNECT_MIN);
    await until(() => client.state === 'open');
    client.send(boot, d(80, 1));
    await until(() => got === 1);
    // The server restarts: the client loses the connection, and comes back after WS_RECONNECT_MIN.
    server.close();
    await until(() => client.state === 'waiting');
    server = await WsServerTransport.listen({ host: '127.0.0.1', port, clock: realClock });
    server.setReceiver(() => got++);
    await clock.run(2 * WS_RECONNECT_MIN);
    await until(() => client.state === 'open');
    client.send(boot, d(80, 1));
    await until(() => got === 2);
    assert.deepEqual(states.filter((s, i) => s !== states[i - 1]).slice(0, 3), ['waiting', 'connecting', 'waiting']);
  } finally {
    client.close();
    server?.close();
  }
  assert.equal(clock.pending, 0, 'no timer left armed after close');
});

test('through a real tinyproxy: the transport dials with CONNECT (http_proxy), the `proxy` line overrides the environment, a refusal is said with its status', { skip: tinyproxyMissing() ?? false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'whwsc-'));
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  const boot: Addr = wsAddr({ host: '127.0.0.1', port: server.local.port });
  const proxy = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts: [boot.port], dir });
  const why: string[] = [];
  const opts = { url: `ws://127.0.0.1:${boot.port}/`, addr: boot, clock: realClock, random: () => 0.5, onState: (_s: string, w?: string) => { if (w) why.push(w); } };
  const viaEnv = new WsClientTransport({ ...opts, env: { http_proxy: proxy.url } });
  // A `proxy` line wins over the environment's proxy (an unreachable one here).
  const viaLine = new WsClientTransport({ ...opts, env: { http_proxy: 'http://127.0.0.1:1' }, proxy: { kind: 'url', url: proxy.url } });
  try {
    const got: number[] = [];
    server.setReceiver((data, from) => { got.push(data[0]!); server.send(from, d(40, data[0]! + 1)); });
    const back: number[] = [];
    viaEnv.setReceiver((data) => back.push(data[0]!));
    viaLine.setReceiver((data) => back.push(data[0]!));
    viaEnv.send(boot, d(1200, 7));
    viaLine.send(boot, d(1200, 9));
    await until(() => back.length === 2, 5000);
    assert.deepEqual(got.sort((a, b) => a - b), [7, 9]);
    assert.deepEqual(back.sort((a, b) => a - b), [8, 10]);
    assert.equal(proxy.connects().length, 2, 'both connections went through the proxy');
    assert.ok(why.some((w) => w.includes(`through proxy ${proxy.url}`)), why.join('\n'));
  } finally {
    viaEnv.close();
    viaLine.close();
    server.close();
    await proxy.stop();
  }
  // A port the proxy does not allow: tinyproxy answers 403 and the state change says so.
  mkdirSync(join(dir, 'b'));
  const proxy2 = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts: [1], dir: join(dir, 'b') });
  const states: string[] = [];
  const refused = new WsClientTransport({ url: `ws://127.0.0.1:${boot.port}/`, addr: boot, clock: realClock, random: () => 0.5, env: { http_proxy: proxy2.url }, onState: (s, w) => states.push(`${s} ${w ?? ''}`) });
  try {
    await until(() => states.some((s) => s.startsWith('waiting')), 5000);
    assert.match(states.find((s) => s.startsWith('waiting'))!, /refused CONNECT .*403/);
  } finally {
    refused.close();
    await proxy2.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

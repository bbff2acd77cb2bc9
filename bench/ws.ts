// WebSocket transport benchmark (`npm run bench:ws`): datagrams per second one `ws` client
// pushes through src/net/wsserver.ts to the node's receiver over 127.0.0.1 (the server's
// parsing, bounds and framing, the `ws` library and TCP), and the memory one idle connection
// costs the server. Progress lines start with '#'; the LAST line is one JSON object:
//   {"datagram_bytes", "datagrams_per_sec", "mbytes_per_sec", "idle_connections", "kib_per_idle_connection", "ws"}
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { WsServerTransport } from '../src/net/wsserver.js';
import { realClock } from '../src/util/clock.js';
import { WS_SUBPROTOCOL } from '../src/params.js';

const N = 200_000;
const SIZE = 1200;
const IDLE = 1000;
const tick = () => new Promise((r) => setImmediate(r));

const s = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock, limits: { messagesPerSec: 1e9, messagesBurst: 1e9 } });
const url = `ws://127.0.0.1:${s.local.port}/`;
const open = async (): Promise<WebSocket> => {
  const c = new WebSocket(url, [WS_SUBPROTOCOL]);
  await new Promise((r, j) => { c.once('open', r); c.once('error', j); });
  return c;
};
let n = 0;
const done = new Promise<void>((r) => s.setReceiver(() => { if (++n === N) r(); }));
const c = await open();
const m = Buffer.alloc(SIZE + 1, 1);
const t0 = performance.now();
for (let i = 0; i < N; i++) { c.send(m); if (i % 1000 === 0) await tick(); }
await done;
const ms = performance.now() - t0;
console.log(`# ${N} datagrams of ${SIZE} bytes in ${Math.round(ms)} ms`);
c.terminate();
// Idle connections: the server's heap and RSS with IDLE more (clients in this process too, so
// the figure is an upper bound on the server's share).
global.gc?.();
const before = process.memoryUsage();
const idle: WebSocket[] = [];
for (let i = 0; i < IDLE; i++) idle.push(await open());
await tick();
global.gc?.();
const after = process.memoryUsage();
console.log(`# ${s.connections} idle connections held; heap +${Math.round((after.heapUsed - before.heapUsed) / 1024)} KiB, rss +${Math.round((after.rss - before.rss) / 1024)} KiB (clients and server in one process)`);
for (const w of idle) w.terminate();
s.close();
const ws = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;
console.log(JSON.stringify({
  datagram_bytes: SIZE, datagrams_per_sec: Math.round(N / ms * 1000), mbytes_per_sec: +(N * SIZE / ms / 1000).toFixed(1),
  idle_connections: IDLE, kib_per_idle_connection: +((after.rss - before.rss) / 1024 / IDLE).toFixed(1), ws,
}));

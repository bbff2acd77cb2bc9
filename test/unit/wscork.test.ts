// Coalescing (src/net/wscoalesce.ts) against the send bounds: the frames of one event-loop turn
// are corked into one write, and a corked frame is still counted in the connection's queue
// (ws's bufferedAmount) and in the server's total, so a client that never reads gets at most
// WS_SEND_BUFFER_MAX of frames sent in one turn, not all of them; and a connection that ends
// while corked gives back every byte (its writes are failed, their callbacks release them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import WebSocket from 'ws';
import type { Addr } from '../../src/proto/addr.js';
import { realClock } from '../../src/util/clock.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { WS_SUBPROTOCOL } from '../../src/params.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms = 3000): Promise<void> {
  for (let t = 0; t < ms && !f(); t += 5) await sleep(5);
  assert.ok(f(), 'not in time');
}

test('a turn\'s frames to a client that never reads: counted while corked, bounded by the connection\'s and the total limit, all given back when it ends corked', async () => {
  const per = 64 * 1024, total = 160 * 1024;
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock, sendBufferMax: per, sendBufferTotal: total });
  const from: Addr[] = [];
  server.setReceiver((_d, f) => from.push(f));
  const clients: WebSocket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.local.port}/`, WS_SUBPROTOCOL, { perMessageDeflate: false });
      clients.push(ws);
      await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
      ws.send(Buffer.from([1, 9]));
      (ws as unknown as { _socket: net.Socket })._socket.pause();
    }
    await until(() => from.length === 3);
    // One turn: 10 000 frames of 1452 bytes to each (14 MiB each): two fill their own limit
    // (ws-send-full), the third what is left of the total (ws-send-full-total).
    for (const f of from) for (let i = 0; i < 10_000; i++) server.send(f, new Uint8Array(1452));
    const q = from.map((f) => server.queued(f));
    process.stdout.write(`# one turn, 3 x 10000 frames: queued ${q.join(' + ')} bytes (total ${server.queuedTotal}), dropped ${server.counters.get('ws-send-full')} + ${server.counters.get('ws-send-full-total')} (total)\n`);
    for (const b of q) assert.ok(b > 0 && b <= per, `${b} bytes queued (corked) on one connection`);
    assert.ok(server.queuedTotal <= total, `${server.queuedTotal} bytes queued in all`);
    assert.ok(server.counters.get('ws-send-full') > 0 && server.counters.get('ws-send-full-total') > 0, 'both bounds dropped');
    // The clients go away in the same turn, their sockets still corked: every byte comes back.
    server.close();
    await until(() => server.queuedTotal === 0);
  } finally {
    for (const c of clients) c.terminate();
    server.close();
  }
});

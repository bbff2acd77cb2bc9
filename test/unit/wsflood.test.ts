// Attack: one WebSocket connection floods the server with frames beyond its rates. Dropping
// them (ws-rate, ws-relay-rate) still cost the server the framing, unmasking and a Buffer for
// every frame, as fast as TCP carried them: bench/wsflood.ts measured 170 000 junk frames/s read
// from one connection, 0.9 of a core, every one of them dropped. Now a connection beyond a rate
// is not read for WS_RATE_PAUSE (src/net/wsserver.ts `throttle`): what its socket has read is
// still parsed, the rest waits in TCP, which holds the sender back. Real server on 127.0.0.1,
// real `ws` clients, the server's clock virtual (frozen: no rate refills, no pause ends unless
// the test advances it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { encodeWsFrame, WS_DATAGRAM } from '../../src/proto/wsframe.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { WsServerTransport } from '../../src/net/wsserver.js';
import { WS_MESSAGES_BURST, WS_RATE_PAUSE, WS_SUBPROTOCOL } from '../../src/params.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('attack: a connection flooding beyond its message rate is read about one socket read per pause, not as fast as TCP carries it; another connection is served', async () => {
  const clock = new VirtualClock();
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock });
  let datagrams = 0;
  server.setReceiver(() => { datagrams++; });
  const connect = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.local.port}/`, WS_SUBPROTOCOL, { perMessageDeflate: false });
    await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
    return ws;
  };
  const seen = () => server.counters.get('ws-rate') + server.counters.get('ws-rx');
  /** Waits until the server's count of messages stops moving for 100 ms of real time. */
  const settle = async () => { for (let last = -1; last !== seen();) { last = seen(); await sleep(100); } };
  const flooder = await connect(), other = await connect();
  try {
    const N = 50_000, junk = encodeWsFrame({ type: WS_DATAGRAM, data: new Uint8Array(180) });
    for (let i = 0; i < N; i++) flooder.send(junk);
    await settle();
    const read = seen();
    process.stdout.write(`# ${N} frames sent at once: ${read} read by the server while paused (${server.counters.get('ws-rate')} beyond the rate), ${server.counters.get('ws-paused')} pause(s); the rest held in TCP (client bufferedAmount ${flooder.bufferedAmount})\n`);
    assert.equal(datagrams, WS_MESSAGES_BURST, 'the burst passed');
    assert.ok(read < N / 10, `the server read ${read} of ${N} frames with the connection paused`);
    assert.ok(server.counters.get('ws-paused') >= 1);
    // Another connection, within its rates, is read and served meanwhile.
    other.send(junk);
    await sleep(100);
    assert.equal(datagrams, WS_MESSAGES_BURST + 1);
    // The pause ends: the flooder is read again (and paused again at its next frame beyond the rate).
    await clock.run(WS_RATE_PAUSE);
    await settle();
    assert.ok(seen() > read + 1, 'read again after the pause');
    assert.ok(seen() < N / 5, `still held back: ${seen()}`);
  } finally {
    flooder.terminate();
    other.terminate();
    server.close();
  }
});

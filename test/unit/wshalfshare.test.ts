// Attack: many sessions half in the kernel (src/relay/kernel.ts forwardToWs: a UDP member bound
// to the session's port, the other member over WebSocket), each flooding the port. Before this
// test the port-to-WebSocket direction was limited by the kernel path's own fair share, counted
// over the sessions the kernel forwards (none of these: they are half), so each session got the
// whole RELAY_SESSION_PPS and together they got K times it, past RELAY_GLOBAL_PPS. Now both
// directions of a half session take from the relay's daemon-path budget (src/relay/server.ts
// `budget`): the session's fair share among the live sessions, and the global rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { RELAY_GLOBAL_PPS, RELAY_SESSION_PPS } from '../../src/params.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const hex = () => Buffer.from(generateSecret(sodium).subarray(0, 32)).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

test('attack: K sessions half in the kernel flooding their ports get the relay\'s budget between them, not K times a session\'s', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'wshalfshare', transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
  const ports = new Map<number, FakeTransport>();
  let nextPort = 41000;
  const ws = new Set<string>();
  let toWs = 0;
  const server = new RelayServer({
    dht: R, log: quietLog(), clock, canRelay: () => true,
    forward: {
      install: async () => undefined, remove: async () => undefined, route: async () => ({ dev: 'eth0', via: '10.0.0.1' }),
      openPort: async () => { const port = nextPort++; const transport = net.bind({ host: '192.0.2.1', port }); ports.set(port, transport); return { port, transport }; },
    },
    wsFrom: (to) => { if (!ws.has(addrKey(to))) return false; toWs++; return true; },
    wsCarries: (a) => ws.has(addrKey(a)),
  });
  const K = 4, N = 6000;
  try {
    const bound: { port: number; from: Addr }[] = [];
    for (let k = 0; k < K; k++) {
      // A UDP member U (bound to the port from its own address) and a WebSocket member W.
      const u = hex(), w = hex(), uAddr = { host: `203.0.113.${10 + k}`, port: 51820 }, wAddr = { host: `198.51.100.${10 + k}`, port: 40000 + k };
      ws.add(addrKey(wAddr));
      assert.equal(server.sessions.open(u, w, uAddr, 0), 'ok');
      assert.equal(server.sessions.open(w, u, wAddr, 0), 'ok');
      const port = (await server.kernel!.portFor(u, w))!;
      assert.ok(server.sessions.bind(u, w, port, uAddr, 0));
      bound.push({ port, from: uAddr });
    }
    // N datagrams on each port at one instant (the burst).
    for (const b of bound) for (let i = 0; i < N; i++) ports.get(b.port)!.receiver!(wg(), b.from);
    const share = Math.min(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS / K);
    process.stdout.write(`# ${K} half sessions x ${N} datagrams at once: ${toWs} to their WebSocket members (a session's burst ${share / 10}; ${R.rpc.counters.get('relay-port-rate-limited')} dropped)\n`);
    assert.equal(toWs, K * (share / 10), 'each session its fair share of the relay\'s budget');
    assert.ok(toWs <= RELAY_GLOBAL_PPS / 10, `${toWs}: more than the relay's own burst share`);
  } finally {
    await server.close();
    R.close();
  }
});

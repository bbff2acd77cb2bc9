// Attack on the relay's fair share (src/relay/fair.ts), found by a reviewing helper: an attacker
// with M sessions keeps only one of them established at a time (each slot it closes one member
// of the previous session and opens the next one again). When the share was counted over the
// sessions established (with a session that closed leaving the counts at once), the counts
// stayed at "victim + 1" (50 000/s, burst 5 000 each) while the closed sessions' buckets kept
// filling, so each session opened again came with a full burst: the attacker passed about M x
// RELAY_SESSION_PPS, the global bucket ran dry and a victim within its share lost datagrams.
// Now activity is counted by bucket (the same two keys, the same bucket): a session closed and
// opened again stays counted while its bucket can hold tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { RELAY_GLOBAL_PPS, RELAY_HALF_OPEN_SECONDS, RELAY_SESSION_PPS } from '../../src/params.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const hex = () => Buffer.from(generateSecret(sodium).subarray(0, 32)).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

test('attack: rotating which of M sessions is established keeps the counts low while every bucket refills', async () => {
  const M = 3, K = M + 1, SLOT = 50; // session 0 the victim, 1..M the attacker's; (M-1) x SLOT = 100 ms = a bucket's refill
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'fairtoggle', transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
  const ports = new Map<number, FakeTransport>();
  let nextPort = 41000;
  const ws = new Map<string, number>();
  const toWs = new Array<number>(K).fill(0);
  const server = new RelayServer({
    dht: R, log: quietLog(), clock, canRelay: () => true,
    forward: {
      install: async () => undefined, remove: async () => undefined, route: async () => ({ dev: 'eth0', via: '10.0.0.1' }),
      openPort: async () => { const port = nextPort++; const transport = net.bind({ host: '192.0.2.1', port }); ports.set(port, transport); return { port, transport }; },
    },
    wsFrom: (to) => { const k = ws.get(addrKey(to)); if (k === undefined) return false; toWs[k]!++; return true; },
    wsCarries: (a) => ws.has(addrKey(a)),
  });
  try {
    // K sessions half in the kernel: u bound to the port over UDP, w over WebSocket.
    const S: { u: string; w: string; uAddr: Addr; wAddr: Addr; port: number }[] = [];
    for (let k = 0; k < K; k++) {
      const u = hex(), w = hex(), uAddr = { host: `203.0.113.${10 + k}`, port: 51820 }, wAddr = { host: `198.51.100.${10 + k}`, port: 40000 + k };
      ws.set(addrKey(wAddr), k);
      assert.equal(server.sessions.open(u, w, uAddr, 0), 'ok');
      assert.equal(server.sessions.open(w, u, wAddr, 0), 'ok');
      const port = (await server.kernel!.portFor(u, w))!;
      assert.ok(server.sessions.bind(u, w, port, uAddr, 0));
      S.push({ u, w, uAddr, wAddr, port });
    }
    const sendOne = (k: number) => { const s = S[k]!; ports.get(s.port)!.receiver!(wg(), s.uAddr); };
    // Only attacker session 1 established at first (the others' w closed).
    for (let k = 2; k <= M; k++) server.sessions.close(S[k]!.w, S[k]!.u);
    const victimPerMs = 10, attackPerMs = 150;
    const fair = Math.min(RELAY_SESSION_PPS, Math.floor(RELAY_GLOBAL_PPS / K));
    assert.ok(victimPerMs * 1000 < fair, 'the victim stays within its fair share among all K sessions');
    // Stay below RELAY_HALF_OPEN_SECONDS from the sessions' creation (a half-open session older
    // than that is deleted at the next expire(); a real attacker re-opens both members then).
    const END = RELAY_HALF_OPEN_SECONDS * 1000 - 500;
    let open = 1, sent = 0;
    for (let t = 0; t < END; t++) {
      const want = 1 + (Math.floor(t / SLOT) % M);
      if (want !== open) {
        server.sessions.close(S[open]!.w, S[open]!.u); // relay-close from the previous one's w
        assert.equal(server.sessions.open(S[want]!.w, S[want]!.u, S[want]!.wAddr, clock.now()), 'ok'); // relay-open from the next one's
        open = want;
      }
      // This millisecond's datagrams, the victim's and the open attacker session's interleaved in proportion.
      const order: { at: number; k: number }[] = [];
      for (let i = 0; i < victimPerMs; i++) order.push({ at: (i + 0.5) / victimPerMs, k: 0 });
      for (let i = 0; i < attackPerMs; i++) order.push({ at: (i + 0.5) / attackPerMs, k: open });
      order.sort((a, b) => a.at - b.at);
      for (const o of order) sendOne(o.k);
      sent += victimPerMs;
      await clock.run(1);
    }
    const attacker = toWs.slice(1).reduce((a, b) => a + b, 0);
    process.stdout.write(`# rotating ${M} sessions every ${SLOT} ms: victim ${toWs[0]} of ${sent}, attacker ${attacker} in ${END} ms\n`);
    assert.ok(toWs[0]! >= 0.99 * sent, `the victim, within its fair share, got ${toWs[0]} of ${sent} datagrams`);
  } finally {
    await server.close();
    R.close();
  }
});

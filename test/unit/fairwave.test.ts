// An attack on the relay's fair share (src/relay/fair.ts), found by a reviewing helper:
// sessions established after a recount, bursting one after another: each session's bucket
//    started full, at the burst of the count at its own first packet, so together they took
//    sum_i global / (10 (E + i)), not global / 10 (99 999 and, once sessions counted from
//    their first datagram, 41 972 of a 10 000 bound). The relay's global bucket now has that
//    bound as its burst (RELAY_GLOBAL_BURST; it was a whole second's worth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { RELAY_GLOBAL_PPS } from '../../src/params.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const hex = () => Buffer.from(generateSecret(sodium).subarray(0, 32)).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

test('sessions established after a recount burst past RELAY_GLOBAL_PPS / 10 together', async () => {
  const M = 100, N = 6000;
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'burstwave', transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
  const ports = new Map<number, FakeTransport>();
  let nextPort = 41000, toWs = 0, victimWs = 0;
  const ws = new Map<string, number>();
  const server = new RelayServer({
    dht: R, log: quietLog(), clock, canRelay: () => true,
    forward: {
      install: async () => undefined, remove: async () => undefined, route: async () => ({ dev: 'eth0', via: '10.0.0.1' }),
      openPort: async () => { const port = nextPort++; const transport = net.bind({ host: '192.0.2.1', port }); ports.set(port, transport); return { port, transport }; },
    },
    wsFrom: (to) => { const k = ws.get(addrKey(to)); if (k === undefined) return false; if (k === 0) victimWs++; else toWs++; return true; },
    wsCarries: (a) => ws.has(addrKey(a)),
  });
  try {
    const S = Array.from({ length: M + 1 }, (_, k) => ({ u: hex(), w: hex(), uAddr: { host: `203.0.113.${10 + k}`, port: 51820 } as Addr, wAddr: { host: `198.51.100.${10 + k}`, port: 40000 + k } as Addr, port: 0 }));
    const full = async (k: number) => {
      const s = S[k]!;
      ws.set(addrKey(s.wAddr), k);
      assert.equal(server.sessions.open(s.w, s.u, s.wAddr, 0), 'ok');
      s.port = (await server.kernel!.portFor(s.u, s.w))!;
      assert.ok(server.sessions.bind(s.u, s.w, s.port, s.uAddr, 0));
    };
    const send = (k: number, n: number) => { const s = S[k]!; for (let i = 0; i < n; i++) ports.get(s.port)!.receiver!(wg(), s.uAddr); };
    // The victim's session, whole; the attacker's sessions half-open (one member each).
    for (const s of S) assert.equal(server.sessions.open(s.u, s.w, s.uAddr, 0), 'ok');
    await full(0);
    send(0, 1); // a recount: established 1, active 1
    assert.equal(victimWs, 1);
    for (let k = 1; k <= M; k++) await full(k); // the attacker's second members, same instant
    for (let k = 1; k <= M; k++) send(k, N); // each bursts in turn
    process.stdout.write(`# ${M} sessions established after the recount, ${N} datagrams each at once: ${toWs} relayed (claimed bound RELAY_GLOBAL_PPS / 10 = ${RELAY_GLOBAL_PPS / 10})\n`);
    assert.ok(toWs <= RELAY_GLOBAL_PPS / 10, `${toWs} relayed in one instant: more than a tenth of RELAY_GLOBAL_PPS`);
  } finally {
    await server.close();
    R.close();
  }
});

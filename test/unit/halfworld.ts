// A relay (real RelayServer and DhtNode over fakenet.ts, one virtual clock) with K sessions half
// in the kernel: a UDP member u bound to the session's port, the other member w over WebSocket.
// The fair-share tests (wshalfshare, fairsqueeze, fairtoggle) drive it.
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { FakeNet, quietLog, type FakeTransport } from './fakenet.js';

const sodium = await sodiumReady();
const hex = () => Buffer.from(generateSecret(sodium).subarray(0, 32)).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

export interface HalfSession { u: string; w: string; uAddr: Addr; wAddr: Addr; port: number }

/** `toWs[k]` counts what session k's WebSocket member got. The K sessions' keys and addresses
 *  are made at once; `openU(k)` opens u's half, `openW(k)` w's half and binds u to the port. */
export async function halfRelay(K: number, namespace: string) {
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace, transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
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
  const S: HalfSession[] = Array.from({ length: K }, (_, k) => ({
    u: hex(), w: hex(), uAddr: { host: `203.0.113.${10 + k}`, port: 51820 }, wAddr: { host: `198.51.100.${10 + k}`, port: 40000 + k }, port: 0,
  }));
  const openU = (k: number) => { const s = S[k]!; assert.equal(server.sessions.open(s.u, s.w, s.uAddr, 0), 'ok'); };
  const openW = async (k: number) => {
    const s = S[k]!;
    ws.set(addrKey(s.wAddr), k);
    assert.equal(server.sessions.open(s.w, s.u, s.wAddr, 0), 'ok');
    s.port = (await server.kernel!.portFor(s.u, s.w))!;
    assert.ok(server.sessions.bind(s.u, s.w, s.port, s.uAddr, 0));
  };
  /** One datagram on session k's port from its bound member, now. */
  const sendOne = (k: number) => { const s = S[k]!; ports.get(s.port)!.receiver!(wg(), s.uAddr); };
  const send = (k: number, n: number) => { for (let i = 0; i < n; i++) sendOne(k); };
  /** This instant's datagrams, `perK[k]` of session k's, the sessions' interleaved in proportion
   *  (as independent senders' datagrams arrive). */
  const interleaved = (perK: number[]) => {
    const order: { at: number; k: number }[] = [];
    perK.forEach((n, k) => { for (let i = 0; i < n; i++) order.push({ at: (i + 0.5) / n, k }); });
    order.sort((a, b) => a.at - b.at);
    for (const o of order) sendOne(o.k);
  };
  const close = async () => { await server.close(); R.close(); };
  return { clock, R, server, S, toWs, openU, openW, sendOne, send, interleaved, close };
}

/** halfRelay with all K sessions whole. */
export async function halfWorld(K: number, namespace: string) {
  const w = await halfRelay(K, namespace);
  for (let k = 0; k < K; k++) { w.openU(k); await w.openW(k); }
  return w;
}

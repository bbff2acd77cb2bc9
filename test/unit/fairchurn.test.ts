// Attack on the relay's fair share (src/relay/fair.ts), found by a reviewing helper: activity is
// counted per bucket (pair of keys), and a pair stays counted for RELAY_SHARE_ACTIVE after its
// last packet whether or not its session still exists. An attacker churning distinct pairs
// (open, one datagram, close; 64 keys give 1024 pairs, no quota hit) inflated the count past
// the sessions a relay can hold, diluting every session's rate far below RELAY_GLOBAL_PPS /
// RELAY_MAX_SESSIONS, what holding the whole table allows. The divisor is now capped at
// RELAY_MAX_SESSIONS (at most that many sessions can send at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import type { Incoming } from '../../src/dht/rpc.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { RelayServer } from '../../src/relay/server.js';
import { RELAY_GLOBAL_PPS, RELAY_MAX_SESSIONS } from '../../src/params.js';
import { FakeNet, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const key = () => new Uint8Array(generateSecret(sodium).subarray(0, 32));
const hexOf = (k: Uint8Array) => Buffer.from(k).toString('hex');
const wg = () => { const d = new Uint8Array(48); d.set([4, 0, 0, 0]); return d; };

test('churning distinct key pairs dilutes the fair share below what holding every session allows', async () => {
  const clock = new VirtualClock(), net = new FakeNet();
  const R = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'fairchurn', transport: net.bind({ host: '192.0.2.1', port: 8080 }), clock, refresh: false });
  const v1 = key(), v2 = key(), v1Addr: Addr = { host: '203.0.113.1', port: 1 }, v2Addr: Addr = { host: '203.0.113.2', port: 2 };
  let victimGot = 0;
  const server = new RelayServer({
    dht: R, log: quietLog(), clock, canRelay: () => true,
    // Everything "goes over WebSocket": count the victim's deliveries, swallow the rest.
    wsFrom: (to) => { if (addrKey(to) === addrKey(v2Addr)) victimGot++; return true; },
  });
  const relay = (from: Uint8Array, fromAddr: Addr, to: Uint8Array) => {
    const inc = { msg: { t: 'relay', k: to, d: wg() }, sender: from, senderHex: hexOf(from), from: fromAddr, size: 100 } as unknown as Incoming;
    server.onRelay(inc, { t: 'relay', k: to, d: wg() }, clock.now());
  };
  try {
    assert.equal(server.sessions.open(hexOf(v1), hexOf(v2), v1Addr, 0), 'ok');
    assert.equal(server.sessions.open(hexOf(v2), hexOf(v1), v2Addr, 0), 'ok');
    const A = Array.from({ length: 32 }, key), B = Array.from({ length: 32 }, key);
    const addr = (side: number, i: number): Addr => ({ host: `198.51.${100 + side}.${i + 1}`, port: 4000 });
    const END = 3000;
    let sent = 0, gotAt2s = 0, sentAt2s = 0;
    for (let t = 0; t < END; t++) {
      const now = clock.now();
      if (t === 2000) { gotAt2s = victimGot; sentAt2s = sent; }
      // Attacker: one fresh pair every 2 ms (500 pairs/s, ~2 500 requests/s in all).
      if (t % 2 === 0) {
        const p = (t / 2) % 1024, i = p >> 5, j = p & 31;
        const a = A[i]!, b = B[j]!;
        assert.equal(server.sessions.open(hexOf(a), hexOf(b), addr(0, i), now), 'ok');
        assert.equal(server.sessions.open(hexOf(b), hexOf(a), addr(1, j), now), 'ok');
        relay(a, addr(0, i), b); // one datagram: a new bucket, active++
        server.sessions.close(hexOf(a), hexOf(b));
        server.sessions.close(hexOf(b), hexOf(a));
      }
      // Victim: 300 datagrams/s, below RELAY_GLOBAL_PPS / RELAY_MAX_SESSIONS.
      if (t % 10 < 3) { relay(v1, v1Addr, v2); sent++; }
      await clock.run(1);
    }
    const got = victimGot - gotAt2s, of = sent - sentAt2s;
    process.stdout.write(`# victim in the last second: ${got} of ${of} (live sessions ${server.sessions.size})\n`);
    assert.ok(of < RELAY_GLOBAL_PPS / RELAY_MAX_SESSIONS, 'the victim is within the share it would keep against an attacker holding every other session');
    assert.ok(got >= 0.99 * of, `the victim got ${got} of ${of}`);
  } finally {
    await server.close();
    R.close();
  }
});

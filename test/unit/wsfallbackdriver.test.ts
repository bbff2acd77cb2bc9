// The fallback driver (src/daemon/wsfallback.ts) on a virtual clock with a fake node context:
// only the fallback boot node's own key, answering at its UDP address, says "UDP works".
// Attacks: a third party answering from that address (spoofing it, or sitting there after a
// change) keeps or moves a blocked node off WebSocket; a boot node whose UDP and WebSocket
// lines share host and port (UDP 443 and TCP 443) must still be probed over UDP, and an
// answer over its WebSocket link is no UDP answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeContext } from '../../src/daemon/context.js';
import { FallbackDriver } from '../../src/daemon/wsfallback.js';
import type { FallbackLink } from '../../src/daemon/wstransports.js';
import type { Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { WS_FALLBACK_AFTER, WS_UDP_PROBE_INTERVAL } from '../../src/params.js';

/** A WebSocket link's address (src/proto/addr.ts `via`). */
const wsAddr = (a: Addr): Addr => ({ ...a, via: 'ws' }) as Addr;
const via = (a: Addr): string | undefined => (a as { via?: string }).via;
const K = new Uint8Array(32).fill(7), STRANGER = new Uint8Array(32).fill(9);

function world(udp: Addr, ws: Addr) {
  const clock = new VirtualClock();
  const pings: Addr[] = [];
  let on = 0, off = 0;
  const link = { switchOn: () => { on++; }, switchOff: () => { off++; } };
  const ctx = {
    clock, stopping: false,
    log: { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined },
    join: { boots: [{ key: K, addr: udp }, { key: K, addr: ws }] },
    dht: { ping: async (_k: Uint8Array, a: Addr) => { pings.push(a); return undefined; }, bootstrap: async () => 0 },
    paths: { udpLost: () => undefined },
    traversal: { renewNow: () => undefined },
    nat: { checkNat: async () => undefined },
  } as unknown as NodeContext;
  const links = [{ key: K, addr: ws, link }] as unknown as FallbackLink[];
  const d = new FallbackDriver(ctx, links);
  return { clock, d, pings, counts: () => ({ on, off }) };
}

const UDP: Addr = { host: '192.0.2.1', port: 62096 };

test('on WebSocket, an answer from the boot node\'s UDP address by another key does not move it back to UDP', async () => {
  const w = world(UDP, wsAddr({ host: '192.0.2.1', port: 443 }));
  await w.clock.run(WS_FALLBACK_AFTER);
  assert.equal(w.d.state, 'ws');
  w.d.heard(UDP, STRANGER);
  assert.equal(w.d.state, 'ws', 'a stranger at the boot node\'s UDP address moved the node back to UDP');
  w.d.heard(UDP, K);
  assert.equal(w.d.state, 'udp');
  assert.deepEqual(w.counts(), { on: 1, off: 1 });
  w.d.close();
});

test('on UDP, a stranger answering at the boot node\'s UDP address does not hold off the fallback', async () => {
  const w = world(UDP, wsAddr({ host: '192.0.2.1', port: 443 }));
  for (let t = 0; t < WS_FALLBACK_AFTER; t += WS_UDP_PROBE_INTERVAL / 2) {
    await w.clock.run(WS_UDP_PROBE_INTERVAL / 2);
    w.d.heard(UDP, STRANGER);
  }
  assert.equal(w.d.state, 'ws');
  w.d.close();
});

test('UDP and WebSocket lines on the same host and port: probes go to UDP; an answer over the link is not UDP', async () => {
  const same = { host: '192.0.2.1', port: 443 };
  const w = world(same, wsAddr(same));
  await w.clock.run(WS_FALLBACK_AFTER);
  assert.equal(w.d.state, 'ws');
  assert.ok(w.pings.some((p) => p.port === 443 && via(p) === undefined), `no UDP probe went to ${same.host}:443: ${JSON.stringify(w.pings)}`);
  assert.ok(w.pings.every((p) => via(p) === undefined), 'a probe went over the WebSocket link');
  w.d.heard(wsAddr(same), K);
  assert.equal(w.d.state, 'ws', 'an answer over the WebSocket link counted as UDP');
  w.d.heard(same, K);
  assert.equal(w.d.state, 'udp');
  w.d.close();
});

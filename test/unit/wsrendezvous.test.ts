// The rendezvous/relay candidates of a node on WebSocket (src/daemon/natmonitor.ts
// relayCandidates, src/daemon/wsfallback.ts reachableNow): a boot node whose fallback link is
// not open is asked after those whose link is. A punch takes the first punch-ok in the order
// asked (src/nat/punch.ts), so a first boot node whose link is still connecting held every punch
// for REQUEST_TIMEOUT and its retry: 2 s of the proxy-only row in docs/NAT.md "The WebSocket
// rows". The driver and the monitor are the real ones; around them, a context with only what
// they touch, on a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../src/dht/id.js';
import type { NodeContext } from '../../src/daemon/context.js';
import { NatMonitor } from '../../src/daemon/natmonitor.js';
import { FallbackDriver } from '../../src/daemon/wsfallback.js';
import type { FallbackLink } from '../../src/daemon/wstransports.js';
import { WS_FALLBACK_AFTER } from '../../src/params.js';
import { wsAddr, type Addr } from '../../src/proto/addr.js';
import { VirtualClock } from '../../src/sim/clock.js';

const key = (b: number) => new Uint8Array(32).fill(b);
const K1 = key(1), K2 = key(2);
const udp1: Addr = { host: '20.0.1.1', port: 62096 }, ws1: Addr = wsAddr({ host: '20.0.1.1', port: 80 });
const udp2: Addr = { host: '20.0.1.2', port: 62096 }, ws2: Addr = wsAddr({ host: '20.0.1.2', port: 443 });

function world() {
  const clock = new VirtualClock();
  const open = new Map<string, boolean>([[toHex(K1), false], [toHex(K2), false]]);
  const link = { switchOn() {}, switchOff() {}, close() {} };
  const links = [
    { key: K1, addr: ws1, link, open: () => open.get(toHex(K1))! },
    { key: K2, addr: ws2, link, open: () => open.get(toHex(K2))! },
  ] as unknown as FallbackLink[];
  const quiet = () => {};
  const ctx = {
    clock,
    stopping: false,
    log: { warn: quiet, info: quiet, debug: quiet, error: quiet },
    // Boot lines in the network file's order: boot1 (UDP, then ws://), boot2 (UDP, then wss://).
    join: { boots: [{ key: K1, addr: udp1 }, { key: K1, addr: ws1 }, { key: K2, addr: udp2 }, { key: K2, addr: ws2 }] },
    dht: { hex: toHex(key(9)), ping: async () => undefined, bootstrap: async () => 0, table: { get: () => undefined, entries: () => [] } },
    paths: { udpLost: quiet, has: () => false, natChanged: quiet },
    traversal: { renewNow: quiet },
    config: { peers: [{ trusted: true }] },
    seams: { localAddresses: () => ['192.168.7.2'], discoverMapper: async () => undefined },
    opts: { listenPort: 62096 },
  } as unknown as { fallback?: FallbackDriver } & NodeContext;
  const driver = new FallbackDriver(ctx, links);
  (ctx as { fallback?: FallbackDriver }).fallback = driver;
  const monitor = new NatMonitor(ctx);
  (ctx as { nat?: NatMonitor }).nat = monitor;
  const order = () => monitor.relayCandidates([]).map((r) => `${r.hex === toHex(K1) ? 'boot1' : 'boot2'} ${r.addr.host}:${r.addr.port}`);
  return { clock, open, driver, order, ctx, monitor };
}

test('on WebSocket, a boot node whose link is not open is asked after one whose link is', async () => {
  const w = world();
  assert.deepEqual(w.order(), ['boot1 20.0.1.1:62096', 'boot2 20.0.1.2:62096'], 'on UDP: the file order, UDP addresses');
  await w.clock.run(WS_FALLBACK_AFTER);
  assert.equal(w.driver.state, 'ws');
  // boot1's link is still connecting (a ws:// no proxy carries), boot2's is open.
  w.open.set(toHex(K2), true);
  assert.equal(w.driver.reachableNow(toHex(K1)), false);
  assert.deepEqual(w.order(), ['boot2 20.0.1.2:443', 'boot1 20.0.1.1:80']);
  // Both open: the file order again (both sides of a pair then ask in the same order).
  w.open.set(toHex(K1), true);
  assert.deepEqual(w.order(), ['boot1 20.0.1.1:80', 'boot2 20.0.1.2:443']);
  // None open yet: the file order (nothing better to ask first).
  w.open.set(toHex(K1), false);
  w.open.set(toHex(K2), false);
  assert.deepEqual(w.order(), ['boot1 20.0.1.1:80', 'boot2 20.0.1.2:443']);
  w.driver.close();
});

test('on WebSocket, the NAT check takes no pong over a WebSocket link as NAT evidence: UDP is blocked, not "symmetric"', async () => {
  const w = world();
  // Each boot node answers over its link with the TCP source it sees, a new port per
  // connection: as UDP samples these read as a symmetric NAT (the grid's web-only node showed that).
  let tcpPort = 40000;
  const ctx = w.ctx as unknown as Record<string, unknown>;
  Object.assign(ctx.dht as object, {
    direct: false,
    ping: async (_key: Uint8Array, addr: Addr) => ({ from: addr, msg: { t: 'pong', a: { host: '30.0.0.7', port: tcpPort++ } } }),
  });
  let changed = 0;
  (ctx.paths as { natChanged: () => void }).natChanged = () => { changed++; };
  await w.clock.run(WS_FALLBACK_AFTER);
  assert.equal(w.driver.state, 'ws');
  w.open.set(toHex(K1), true);
  w.open.set(toHex(K2), true);
  await w.monitor.checkNat();
  assert.equal(w.monitor.verdict.type, 'blocked', JSON.stringify(w.monitor.verdict));
  assert.deepEqual(w.monitor.verdict.observed, [], 'no TCP source taken as an observed UDP address');
  assert.equal(changed, 1, 'the verdict changed once (unknown -> blocked)');
  w.driver.close();
});

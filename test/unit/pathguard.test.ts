// PathGuard (src/daemon/guard.ts): the path check as the daemon applies it, with a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/sim/clock.js';
import { PathGuard, type GuardEvent, type GuardHost, type GuardPeer } from '../../src/daemon/guard.js';
import type { TrustedPeer } from '../../src/daemon/peers.js';
import type { WgDump } from '../../src/wg/types.js';

const key = new Uint8Array(32).fill(9);
const keyB64 = Buffer.from(key).toString('base64');
const hex = Buffer.from(key).toString('hex');
const bobAt = { host: '203.0.113.7', port: 51820 };
const lan = ['127.0.0.1', '192.168.1.10'];

/** A host with one peer whose path the test sets (as its path machine would); the events the
 *  guard sends it are recorded, a pathDead drops the path as the machine does. */
function fakeHost(peer: TrustedPeer) {
  const path: GuardPeer = { hex, keyB64: peer.keyB64, state: 'searching' };
  const events: GuardEvent[] = [];
  const died: string[] = [];
  const host: GuardHost = {
    peers: () => [path],
    step: (_hex, ev) => {
      events.push(ev);
      if (ev.t === 'pathDead' && (path.state === 'direct' || path.state === 'relayed')) { died.push(ev.why); path.state = 'searching'; delete path.endpoint; }
    },
    count: () => {},
  };
  return { host, path, events, died };
}

function setup(peer: TrustedPeer) {
  const clock = new VirtualClock();
  const { host, path, died } = fakeHost(peer);
  const located = (addr: typeof bobAt) => { path.state = 'direct'; path.endpoint = addr; };
  return { clock, path, located, died, guard: new PathGuard(host, () => lan, () => undefined) };
}
const current = (p: GuardPeer) => (p.state === 'direct' ? p.endpoint : undefined);

function dump(tx: number, rx: number): WgDump {
  return { peers: [{ publicKey: keyB64, txBytes: tx, rxBytes: rx, latestHandshake: 100 }] } as unknown as WgDump;
}

test('guard: behind a NAT with no boot node, a trusted peer answering at its configured endpoint is located (the config vouches for that address)', () => {
  const peer = { key, keyB64, endpoint: bobAt };
  const { clock, path, guard } = setup(peer);
  // Bob sees us at our NAT's public IP, which no boot node told us (there is none).
  assert.equal(guard.judge(peer, hex, current(path), bobAt, { host: '198.51.100.20', port: 40001 }, clock.now()), undefined);
});

test('guard: our public IP changes (boot nodes have not said so yet): a working direct path is neither dropped nor refused for BAD_ENDPOINT_KEEP', async () => {
  const st = { key, keyB64 };
  const { clock, path, located, died, guard } = setup(st);
  guard.self.observed('198.51.100.20', clock.now());
  assert.equal(guard.judge(st, hex, current(path), bobAt, { host: '198.51.100.20', port: 40001 }, clock.now()), undefined);
  located(bobAt);
  guard.endpointSet(hex);
  guard.sample(dump(1000, 1000), clock.now());
  await clock.run(1000);
  guard.sample(dump(2000, 2000), clock.now()); // WireGuard hears Bob: the path works
  // The ISP gives our NAT another address; Bob's next pong names it before a boot node's does.
  await clock.run(1000);
  guard.judge(st, hex, current(path), bobAt, { host: '198.51.100.99', port: 40001 }, clock.now());
  assert.deepEqual(died, [], 'the working path was dropped');
  assert.equal(path.state, 'direct');
  // The boot node's next pong (the NAT check) tells us the new address: Bob's endpoint is good again.
  await clock.run(2000);
  guard.self.observed('198.51.100.99', clock.now());
  assert.equal(guard.judge(st, hex, current(path), bobAt, { host: '198.51.100.99', port: 40001 }, clock.now()), undefined, 'Bob\'s real endpoint refused after the change');
});

test('guard: a proxy on our own host (our interface IP, another port) does not pass for us; our own port does', () => {
  const clock = new VirtualClock();
  const st = { key, keyB64 };
  const { host } = fakeHost(st);
  const guard = new PathGuard(host, () => ['127.0.0.1', '203.0.113.1'], () => undefined, () => [51820, 51821]);
  // A rendezvous named a proxy another local user runs; Bob saw our ping come from it.
  const proxyAt = { host: '203.0.113.1', port: 40000 };
  assert.equal(guard.judge(st, hex, undefined, proxyAt, { host: '203.0.113.1', port: 40000 }, clock.now()), 'foreign-view');
  assert.equal(guard.judge(st, hex, undefined, bobAt, { host: '203.0.113.1', port: 51820 }, clock.now()), undefined);
});

test('guard: a peer whose path died comes back at the same address (a reboot): once WireGuard hears it there, that address is taken again at once, not refused for BAD_ENDPOINT_KEEP', async () => {
  const st = { key, keyB64 };
  const { clock, path, located, died, guard } = setup(st);
  guard.self.observed('198.51.100.20', clock.now());
  const view = { host: '198.51.100.20', port: 40001 };
  assert.equal(guard.judge(st, hex, current(path), bobAt, view, clock.now()), undefined);
  located(bobAt);
  guard.endpointSet(hex);
  const at = (tx: number, rx: number, endpoint?: string): WgDump =>
    ({ peers: [{ publicKey: keyB64, txBytes: tx, rxBytes: rx, latestHandshake: 100, ...(endpoint ? { endpoint } : {}) }] } as unknown as WgDump);
  guard.sample(at(1000, 1000, '203.0.113.7:51820'), clock.now());
  // Bob's host goes down: WireGuard sends, nothing comes back, until the path is judged dead.
  let tx = 1000;
  for (let i = 0; i < 40 && died.length === 0; i++) { await clock.run(500); tx += 148; guard.sample(at(tx, 1000, '203.0.113.7:51820'), clock.now()); }
  assert.equal(died.length, 1, 'the silent path was judged dead');
  assert.equal(guard.judge(st, hex, current(path), bobAt, view, clock.now()), 'bad-endpoint', 'just judged dead');
  // Bob is back a few seconds later; his WireGuard's handshake reaches ours from his address.
  await clock.run(5000);
  guard.sample(at(tx + 148, 1000 + 92, '203.0.113.7:51820'), clock.now());
  assert.equal(guard.judge(st, hex, current(path), bobAt, view, clock.now()), undefined, 'Bob\'s address is still refused though WireGuard hears him there');
});

/** A relayed peer's dump: WireGuard's endpoint and its rx counter. */
const relayedAt = (rx: number, endpoint: string | undefined): WgDump =>
  ({ peers: [{ publicKey: keyB64, txBytes: 1000, rxBytes: rx, latestHandshake: 100, ...(endpoint ? { endpoint } : {}) }] } as unknown as WgDump);

test('guard: pathHeard only when WireGuard received from the peer since the last sample and its endpoint is the relay link\'s', async () => {
  const st = { key, keyB64 };
  const clock = new VirtualClock();
  const { host, path, events } = fakeHost(st);
  const guard = new PathGuard(host, () => lan, () => undefined);
  const heard = () => events.filter((e) => e.t === 'pathHeard').length;
  const sample = async (rx: number, endpoint: string | undefined) => { await clock.run(500); guard.sample(relayedAt(rx, endpoint), clock.now()); };
  // Searching (no path): rx grows at the link's address, nothing is claimed.
  await sample(100, '127.0.0.1:5555');
  await sample(200, '127.0.0.1:5555');
  assert.equal(heard(), 0, 'not while searching');
  // Relayed through the link 127.0.0.1:5555 (the path machine's view).
  path.state = 'relayed';
  path.relayEndpoint = '127.0.0.1:5555';
  await sample(300, '203.0.113.7:51820'); // WireGuard roamed to (or still at) a direct address
  await sample(400, '203.0.113.7:51820');
  assert.equal(heard(), 0, 'rx from another endpoint is not the relay\'s');
  await sample(400, '127.0.0.1:5555');
  await sample(400, '127.0.0.1:5555');
  await sample(400, undefined);
  assert.equal(heard(), 0, 'nothing received: no evidence');
  await sample(492, '127.0.0.1:5555');
  assert.equal(heard(), 1, 'received through the link');
  // The relay's kernel path: WireGuard's endpoint is relay:port (as wg prints it).
  path.relayEndpoint = '198.51.100.1:41000';
  await sample(600, '127.0.0.1:5555');
  assert.equal(heard(), 1, 'the old link is not the one in use');
  await sample(700, '198.51.100.1:41000');
  assert.equal(heard(), 2);
  // A re-created WireGuard peer (counters from 0): bytes since count.
  await sample(0, '198.51.100.1:41000');
  await sample(92, '198.51.100.1:41000');
  assert.equal(heard(), 3);
  // Direct again: never pathHeard.
  path.state = 'direct';
  delete path.relayEndpoint;
  await sample(900, '198.51.100.1:41000');
  assert.equal(heard(), 3);
});

test('guard: IPv6 relay endpoints compare with wg\'s bracketed form', async () => {
  const st = { key, keyB64 };
  const clock = new VirtualClock();
  const { host, path, events } = fakeHost(st);
  const guard = new PathGuard(host, () => lan, () => undefined);
  path.state = 'relayed';
  path.relayEndpoint = '2001:db8::1:41000';
  guard.sample(relayedAt(0, '[2001:db8::1]:41000'), clock.now());
  await clock.run(500);
  guard.sample(relayedAt(200, '[2001:db8::1]:41000'), clock.now());
  assert.equal(events.filter((e) => e.t === 'pathHeard').length, 1);
});

test('guard: the first sample of a relayed peer counts what WireGuard received since the peer was made (a pair\'s first packets may all come before it)', () => {
  const clock = new VirtualClock();
  for (const [rx, expected] of [[412, 1], [0, 0]] as const) {
    const { host, path, events } = fakeHost({ key, keyB64 });
    const guard = new PathGuard(host, () => lan, () => undefined);
    path.state = 'relayed';
    path.relayEndpoint = '127.0.0.1:5555';
    guard.sample(relayedAt(rx, '127.0.0.1:5555'), clock.now());
    assert.equal(events.filter((e) => e.t === 'pathHeard').length, expected, `rx ${rx} at the first sample`);
  }
});

test('guard: in the relay\'s kernel path, the peer\'s datagrams the daemons relayed (WireGuard roamed to the link\'s loopback socket) count as heard through the relay', async () => {
  const clock = new VirtualClock();
  const { host, path, events } = fakeHost({ key, keyB64 });
  const guard = new PathGuard(host, () => lan, () => undefined);
  const heard = () => events.filter((e) => e.t === 'pathHeard').length;
  const sample = async (rx: number, endpoint: string) => { await clock.run(500); guard.sample(relayedAt(rx, endpoint), clock.now()); };
  path.state = 'relayed';
  path.relayEndpoint = '198.51.100.1:41000';
  path.relayLoopback = '127.0.0.1:5555';
  await sample(0, '127.0.0.1:5555');
  await sample(300, '127.0.0.1:5555');
  assert.equal(heard(), 1, 'received through the link\'s loopback socket while the kernel path is set');
  await sample(300, '127.0.0.1:6666');
  await sample(400, '127.0.0.1:6666');
  assert.equal(heard(), 1, 'another loopback socket is not this link\'s');
});

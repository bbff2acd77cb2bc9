// A whole node (src/daemon/daemon.ts) on injected seams: in-memory datagrams (test/unit/fakenet.ts),
// a fake data plane and firewall, no control socket, no DNS, no gateway. A public boot node and
// a trusted node join each other; `wh show`'s answer says so; stop() undoes every part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { DataPlane, SystemDeps, WgPeerConfig } from '../../src/daemon/dataplane.js';
import type { NodeSeams } from '../../src/daemon/seams.js';
import type { NodeTransport } from '../../src/net/transport.js';
import type { Addr } from '../../src/proto/addr.js';
import { FakeNet, quietLog } from './fakenet.js';
import type { ControlRequest } from '../../src/control/protocol.js';
import type { PingAnswer } from '../../src/daemon/pingpeer.js';

const sodium = await sodiumReady();

function seams(net: FakeNet, host: string, opened: string[]): Partial<NodeSeams> {
  return {
    bindTransport: async (_bind, port) => {
      const t = net.bind({ host, port });
      const n: NodeTransport = Object.assign(t, { kind: 'fake', carries: (_to: Addr) => true });
      return n;
    },
    discoverMapper: async () => undefined,
    localAddresses: () => [host],
    poker: () => ({ send: () => undefined, close: () => undefined }),
    lookup: async (h) => { throw new Error(`no DNS in this test (${h})`); },
    listenControl: async (file) => { opened.push(file); return { close: () => { opened.splice(opened.indexOf(file), 1); } }; },
  };
}

function fakeDeps(events: string[], peers: Map<string, WgPeerConfig>): SystemDeps {
  return {
    createDataPlane: async (o) => {
      events.push(`create ${o.name}`);
      const plane: DataPlane = {
        name: o.name, backend: 'fake',
        setPeer: async (p) => { peers.set(p.publicKey, { ...peers.get(p.publicKey), ...p }); },
        removePeer: async (k) => { peers.delete(k); },
        dump: async () => ({ publicKey: '', listenPort: o.listenPort, peers: [...peers.values()].map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps, latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: p.keepalive ?? 0 })) }),
        destroy: async () => { events.push(`destroy ${o.name}`); },
      };
      return plane;
    },
    installPortShare: async (o) => { events.push(`portshare ${o.table}`); },
    removePortShare: async (t) => { events.push(`unportshare ${t}`); },
  };
}

test('a public node and a trusted node run on injected seams: they join, show says so, stop undoes everything', async () => {
  const net = new FakeNet();
  const bootSecret = generateSecret(sodium), nodeSecret = generateSecret(sodium), otherSecret = generateSecret(sodium);
  const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));
  const bootText = ['name pub', 'workbit 0', `boot ${pub(bootSecret)} 192.0.2.1:62096`].join('\n') + '\n';
  const nodeText = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} 192.0.2.1:62096`,
    `trust n ${pub(nodeSecret)}`, `trust m ${pub(otherSecret)}`].join('\n') + '\n';
  const controls: string[] = [], events: string[] = [], peers = new Map<string, WgPeerConfig>();
  const boot = await Daemon.start({
    sodium, configPath: 'pub.conf', config: parseConfig(bootText, 'pub.conf', sodium), secret: bootSecret, iface: 'whtestpub',
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps: fakeDeps(events, new Map()), seams: seams(net, '192.0.2.1', controls),
  });
  const node = await Daemon.start({
    sodium, configPath: 't.conf', config: parseConfig(nodeText, 't.conf', sodium), secret: nodeSecret, iface: 'whtestn',
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps: fakeDeps(events, peers), seams: seams(net, '192.0.2.2', controls),
  });
  try {
    assert.equal(controls.length, 2, 'both control sockets were opened through the seam');
    assert.deepEqual(events, ['create whtestn', 'portshare ' + events[1]!.slice('portshare '.length)], 'only the trusted node made a data plane and a port share');
    assert.ok(peers.has(pub(otherSecret)), 'the trusted peer was given to the data plane');
    const deadline = Date.now() + 5000;
    let shown = await node.show(false);
    while (shown.boots?.[0]?.state !== 'answered' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      shown = await node.show(false);
    }
    assert.equal(shown.role, 'node');
    assert.equal(shown.dataPlane, 'up');
    assert.equal(shown.boots?.[0]?.state, 'answered', 'the boot node answered through the fake network');
    assert.ok(shown.dhtNodes >= 1, 'the boot node is in the table');
    assert.deepEqual(shown.peers.map((p) => p.name), ['m']);
    const b = await boot.show(false);
    assert.equal(b.role, 'public');
    assert.equal(b.nat, 'none');
  } finally {
    await node.stop();
    await boot.stop();
  }
  assert.equal(controls.length, 0, 'both control sockets were closed');
  assert.ok(events.includes('destroy whtestn') && events.some((e) => e.startsWith('unportshare')), `the data plane and port share were removed (${events.join(', ')})`);
  assert.equal(net.nodes.size, 0, 'every transport was closed');
});

test('the ping control request on injected seams: a trusted peer answers on its tunnel ping socket; unknown and stopped peers', async () => {
  const net = new FakeNet();
  const bootSecret = generateSecret(sodium), nSecret = generateSecret(sodium), mSecret = generateSecret(sodium);
  const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));
  const bootText = ['name pub', 'workbit 0', `boot ${pub(bootSecret)} 192.0.2.1:62096`].join('\n') + '\n';
  const text = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} 192.0.2.1:62096`,
    `trust n 10.0.0.1 ${pub(nSecret)}`, `trust m 10.0.0.2 ${pub(mSecret)}`].join('\n') + '\n';
  const controls: string[] = [];
  const handlers = new Map<string, (req: ControlRequest) => Promise<unknown>>();
  // The tunnel ping sockets are bound on the fake network at the overlay addresses (no tunnel
  // here: what is checked is the daemon's wiring, the tunnel itself is in the e2e test).
  const withOverlay = (host: string, iface: string): Partial<NodeSeams> => ({
    ...seams(net, host, controls),
    bindOverlay: async (ip, port) => Object.assign(net.bind({ host: ip, port }), { kind: 'fake', carries: (_to: Addr) => true }),
    listenControl: async (file, handler) => { handlers.set(iface, handler); controls.push(file); return { close: () => undefined }; },
  });
  const start = (secret: Uint8Array, iface: string, host: string, cfg: string) => Daemon.start({
    sodium, configPath: 'x.conf', config: parseConfig(cfg, 'x.conf', sodium), secret, iface, listenPort: 62096, daemonPort: 62097,
    log: quietLog(), deps: fakeDeps([], new Map()), seams: withOverlay(host, iface),
  });
  const boot = await start(bootSecret, 'whpb', '192.0.2.1', bootText);
  const n = await start(nSecret, 'whpn', '192.0.2.2', text);
  const m = await start(mSecret, 'whpm', '192.0.2.3', text);
  let mStopped = false;
  // The daemon's timers do not hold the process (realClock unrefs them); its sockets would.
  const hold = setInterval(() => undefined, 1000);
  try {
    const deadline = Date.now() + 8000;
    while ((await n.show(false)).peers[0]?.path !== 'direct' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const ping = (peer: string, timeoutMs?: number) => handlers.get('whpn')!({ cmd: 'ping', peer, ...(timeoutMs ? { timeoutMs } : {}) }) as Promise<PingAnswer>;
    const a = await ping('m');
    assert.equal(a.answered, true);
    assert.equal(a.ip, '10.0.0.2');
    assert.equal(a.path, 'direct');
    assert.equal(a.endpoint, (await n.show(false)).peers[0]!.endpoint);
    assert.ok(a.rttMs !== null && a.rttMs >= 0);
    assert.equal((await ping('10.0.0.2')).key, pub(mSecret), 'by overlay IP too');
    await assert.rejects(ping('nobody'), /no peer is named nobody/);
    await assert.rejects(handlers.get('whpb')!({ cmd: 'ping', peer: 'm' }), /public DHT node/);
    await m.stop();
    mStopped = true;
    const gone = await ping('m', 300);
    assert.deepEqual([gone.answered, gone.rttMs, gone.timeoutMs], [false, null, 300]);
  } finally {
    if (!mStopped) await m.stop();
    await n.stop();
    await boot.stop();
    clearInterval(hold);
  }
  assert.equal(net.nodes.size, 0, 'every transport, the tunnel ping sockets too, was closed');
});

// A whole node (src/daemon/daemon.ts) on a virtual clock: after stop() (or a failed start) no
// timer of the node is left armed (a timer left behind would keep working on a stopped node);
// and its port mapping's renewals run on the node's clock.
import dgram from 'node:dgram';
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
import type { Clock, TimerHandle } from '../../src/util/clock.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { PortMapper } from '../../src/nat/upnp.js';
import { PORTMAP_LEASE_SECONDS } from '../../src/params.js';
import { FakeNet, quietLog } from './fakenet.js';

const sodium = await sodiumReady();

/** The virtual clock, remembering where each armed timer was set. */
class TracingClock implements Clock {
  readonly armed = new Map<number, string>();
  /** Timers set after `stopped` became true. */
  readonly late: string[] = [];
  stopped = false;
  constructor(readonly inner: VirtualClock) {}
  now(): number { return this.inner.now(); }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const where = (new Error().stack ?? '').split('\n').slice(2, 5).map((l) => l.trim()).join(' < ');
    const h = this.inner.setTimeout(() => { this.armed.delete((h as { id: number }).id); fn(); }, ms);
    this.armed.set((h as { id: number }).id, where);
    if (this.stopped) this.late.push(where);
    return h;
  }
  clearTimeout(h: TimerHandle): void { this.armed.delete((h as { id: number }).id); this.inner.clearTimeout(h); }
}

function seams(net: FakeNet, host: string): Partial<NodeSeams> {
  return {
    bindTransport: async (_bind, port) => Object.assign(net.bind({ host, port }), { kind: 'fake', carries: (_to: Addr) => true }) as NodeTransport,
    discoverMapper: async () => undefined,
    localAddresses: () => [host],
    poker: () => ({ send: () => undefined, close: () => undefined }),
    lookup: async (h) => { throw new Error(`no DNS in this test (${h})`); },
    listenControl: async () => ({ close: () => undefined }),
  };
}

function fakeDeps(): SystemDeps {
  const peers = new Map<string, WgPeerConfig>();
  return {
    createDataPlane: async (o) => {
      const plane: DataPlane = {
        name: o.name, backend: 'fake',
        setPeer: async (p) => { peers.set(p.publicKey, { ...peers.get(p.publicKey), ...p }); },
        removePeer: async (k) => { peers.delete(k); },
        dump: async () => ({ publicKey: '', listenPort: o.listenPort, peers: [...peers.values()].map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps, latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: p.keepalive ?? 0 })) }),
        destroy: async () => undefined,
      };
      return plane;
    },
    installPortShare: async () => undefined,
    removePortShare: async () => undefined,
  };
}

/** A public boot node at 192.0.2.1 and a trusted node (with one more trusted peer) at
 *  192.0.2.2, on `net` and `clock`; `nodeSeams` changes the trusted node's seams. */
async function startPair(net: FakeNet, clock: Clock, nodeSeams: Partial<NodeSeams> = {}): Promise<{ boot: Daemon; node: Daemon }> {
  const bootSecret = generateSecret(sodium), nodeSecret = generateSecret(sodium), otherSecret = generateSecret(sodium);
  const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));
  const bootText = ['name pub', 'workbit 0', `boot ${pub(bootSecret)} 192.0.2.1:62096`].join('\n') + '\n';
  const nodeText = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} 192.0.2.1:62096`,
    `trust n ${pub(nodeSecret)}`, `trust m ${pub(otherSecret)}`].join('\n') + '\n';
  const boot = await Daemon.start({
    sodium, configPath: 'pub.conf', config: parseConfig(bootText, 'pub.conf', sodium), secret: bootSecret, iface: 'whtestpub',
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps: fakeDeps(), seams: seams(net, '192.0.2.1'), clock,
  });
  const node = await Daemon.start({
    sodium, configPath: 't.conf', config: parseConfig(nodeText, 't.conf', sodium), secret: nodeSecret, iface: 'whtestn',
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps: fakeDeps(), seams: { ...seams(net, '192.0.2.2'), ...nodeSeams }, clock,
  });
  return { boot, node };
}

for (const runFor of [0, 1, 50, 400, 1500, 120_000]) test(`after stop() no timer of a node is left armed (stopped after ${runFor} ms)`, async () => {
  const net = new FakeNet();
  const clock = new TracingClock(new VirtualClock());
  const { boot, node } = await startPair(net, clock);
  await clock.inner.run(runFor);
  await node.stop();
  await boot.stop();
  clock.stopped = true;
  await clock.inner.run(60_000);
  assert.deepEqual([...clock.armed.values()], [], 'timers left armed after stop()');
  assert.deepEqual(clock.late, [], 'timers set after stop()');
});

test('a start that fails at the control socket leaves no timer armed and no transport open', async () => {
  const net = new FakeNet();
  const clock = new TracingClock(new VirtualClock());
  const bootSecret = generateSecret(sodium), nodeSecret = generateSecret(sodium), otherSecret = generateSecret(sodium);
  const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));
  const nodeText = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} 192.0.2.1:62096`,
    `trust n ${pub(nodeSecret)}`, `trust m ${pub(otherSecret)}`].join('\n') + '\n';
  await assert.rejects(Daemon.start({
    sodium, configPath: 't.conf', config: parseConfig(nodeText, 't.conf', sodium), secret: nodeSecret, iface: 'whtestn',
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps: fakeDeps(), clock,
    seams: { ...seams(net, '192.0.2.2'), listenControl: async () => { throw new Error('control socket refused'); } },
  }), /control socket refused/);
  clock.stopped = true;
  await clock.inner.run(60_000);
  assert.equal(net.nodes.size, 0, 'the transport was closed');
  assert.deepEqual([...clock.armed.values()], [], 'timers left armed after the rollback');
  assert.deepEqual(clock.late, [], 'timers set after the rollback');
});

/** A NAT-PMP gateway on loopback (RFC 6886 answers to external-address and UDP map requests). */
async function natPmpGateway(): Promise<{ port: number; maps: number[]; close(): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  const gw = { port: 0, maps: [] as number[], close: () => new Promise<void>((r) => sock.close(() => r())) };
  sock.on('message', (msg, rinfo) => {
    const out = Buffer.alloc(msg[1] === 0 ? 12 : 16);
    out[1] = 128 + msg[1]!;
    if (msg[1] === 0) out.set([203, 0, 113, 7], 8);
    else {
      const lifetime = msg.readUInt32BE(8);
      if (lifetime > 0) gw.maps.push(msg.readUInt16BE(4));
      out.writeUInt16BE(msg.readUInt16BE(4), 8);
      out.writeUInt16BE(lifetime === 0 ? 0 : msg.readUInt16BE(6), 10);
      out.writeUInt32BE(lifetime, 12);
    }
    sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  gw.port = sock.address().port;
  return gw;
}

test('a node behind a NAT renews its port mapping at half the lease, on the node\'s clock', async () => {
  const net = new FakeNet();
  const clock = new VirtualClock();
  const gw = await natPmpGateway();
  const real = () => new Promise((r) => setTimeout(r, 2));
  // Virtual time in small steps, with real time between them for the gateway's answers.
  const drive = async (ms: number, until: () => boolean = () => false) => {
    for (const end = clock.now() + ms; clock.now() < end && !until();) { await clock.run(10); await real(); }
  };
  const { boot, node } = await startPair(net, clock, {
    // Behind a NAT: the address the boot node sees is not one of ours.
    localAddresses: () => ['10.9.9.9'],
    discoverMapper: (o) => PortMapper.discover({ ...o, methods: ['nat-pmp'], gateway: '127.0.0.1', natPmpPort: gw.port }),
  });
  try {
    await drive(10_000, () => gw.maps.length > 0);
    const mappedAt = clock.now();
    assert.equal(gw.maps.length, 1, 'the node asked the gateway for a mapping');
    let shown = await node.show(false);
    for (let i = 0; i < 100 && shown.portMapping === null; i++) { await drive(20); shown = await node.show(false); }
    assert.equal(shown.portMapping?.method, 'nat-pmp', 'wh show reports the mapping');
    const half = (PORTMAP_LEASE_SECONDS * 1000) / 2;
    await clock.run(mappedAt + half - 2_000 - clock.now());
    assert.equal(gw.maps.length, 1, 'no renewal before half the lease');
    await drive(4_000, () => gw.maps.length > 1);
    assert.equal(gw.maps.length, 2, 'the mapping was renewed at half its lease (node clock)');
  } finally {
    // (stop() removes the mapping: a NAT-PMP exchange on the node's clock, driven here.)
    let stopped = false;
    void Promise.all([node.stop(), boot.stop()]).then(() => { stopped = true; });
    await drive(10_000, () => stopped);
    await gw.close();
    assert.ok(stopped, 'both nodes stopped');
  }
});

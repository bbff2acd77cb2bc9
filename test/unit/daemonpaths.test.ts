// The path driver (src/daemon/paths.ts) in whole nodes on injected seams: two trusted nodes and
// a boot node on the in-memory network (test/unit/fakenet.ts, no NAT), fake data planes. Each
// node's path machine finds the other through the DHT and gives its data plane the other's
// address; `wh show` says direct; stop() leaves no timer running (the test process exits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { SystemDeps, WgPeerConfig } from '../../src/daemon/dataplane.js';
import type { NodeTransport } from '../../src/net/transport.js';
import { FakeNet, quietLog } from './fakenet.js';

const sodium = await sodiumReady();

/** A node on `net` at `host`: its config text, its data plane's peers (by key) and how many
 *  times each was removed (re-created). */
async function node(net: FakeNet, host: string, secret: Uint8Array, text: string) {
  const peers = new Map<string, WgPeerConfig>(), removed: string[] = [];
  const deps: SystemDeps = {
    createDataPlane: async (o) => ({
      name: o.name, backend: 'fake',
      setPeer: async (p) => { peers.set(p.publicKey, { ...peers.get(p.publicKey), ...p }); },
      removePeer: async (k) => { removed.push(k); peers.delete(k); },
      dump: async () => ({ publicKey: '', listenPort: o.listenPort, peers: [...peers.values()].map((p) => ({
        publicKey: p.publicKey, allowedIps: p.allowedIps, latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: p.keepalive ?? 0, ...(p.endpoint ? { endpoint: p.endpoint } : {}) })) }),
      destroy: async () => undefined,
    }),
    installPortShare: async () => undefined,
    removePortShare: async () => undefined,
  };
  const d = await Daemon.start({
    sodium, configPath: `${host}.conf`, config: parseConfig(text, `${host}.conf`, sodium), secret, iface: `wht${host.split('.')[3]}`,
    listenPort: 62096, daemonPort: 62097, log: quietLog(), deps,
    seams: {
      bindTransport: async (_b, port) => Object.assign(net.bind({ host, port }), { kind: 'fake', carries: () => true }) as NodeTransport,
      discoverMapper: async () => undefined, localAddresses: () => [host],
      poker: () => ({ send: () => undefined, close: () => undefined }),
      lookup: async (h) => { throw new Error(`no DNS (${h})`); },
      listenControl: async () => ({ close: () => undefined }),
      random: () => 0.5,
    },
  });
  return { d, peers, removed };
}

test('two trusted nodes on injected seams: their path machines find each other, the data planes get the direct endpoints, show says direct', async () => {
  const net = new FakeNet();
  const [bootS, nS, mS] = [generateSecret(sodium), generateSecret(sodium), generateSecret(sodium)];
  const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));
  const boot = `boot ${pub(bootS)} 192.0.2.1:62096`;
  const trusted = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', boot, `trust n 10.0.0.2 ${pub(nS)}`, `trust m 10.0.0.3 ${pub(mS)}`].join('\n') + '\n';
  const b = await node(net, '192.0.2.1', bootS, ['name t', 'workbit 0', boot].join('\n') + '\n');
  const n = await node(net, '192.0.2.2', nS, trusted);
  const m = await node(net, '192.0.2.3', mS, trusted);
  try {
    const deadline = Date.now() + 5000;
    const paths = async () => [(await n.d.show(false)).peers[0]?.path, (await m.d.show(false)).peers[0]?.path];
    while ((await paths()).some((p) => p !== 'direct') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await paths(), ['direct', 'direct'], 'both nodes show the other as direct');
    assert.equal(n.peers.get(pub(mS))?.endpoint, '192.0.2.3:62097', "n's data plane sends to m's address");
    assert.equal(m.peers.get(pub(nS))?.endpoint, '192.0.2.2:62097', "m's data plane sends to n's address");
    const shown = (await n.d.show(false)).peers[0]!;
    assert.equal(shown.endpoint, '192.0.2.3:62097');
    assert.equal(shown.relay, null);
    // No handshake ever comes (a fake data plane): each side's handshake watch re-creates the peer.
    const until = Date.now() + 4000;
    while ((n.removed.length === 0 || m.removed.length === 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(n.removed.length > 0 && m.removed.length > 0, 'the handshake repair re-created the peer on both sides');
  } finally {
    await m.d.stop();
    await n.d.stop();
    await b.d.stop();
  }
});

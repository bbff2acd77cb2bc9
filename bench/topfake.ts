// A fake `show` answer for bench/topui.ts: `n` peers whose counters grow every tick, a DHT of
// a few buckets, some relay sessions. Numbers only, derived from `n` and `tick`.
import type { ShowPeer, ShowResult } from '../src/control/show.js';

const PATHS: ShowPeer['path'][] = ['direct', 'direct', 'direct', 'relay', 'searching', 'offline'];

export function fakeShow(n: number, tick: number, nowSeconds: number): ShowResult {
  const peers: ShowPeer[] = [];
  for (let i = 0; i < n; i++) {
    const path = PATHS[i % PATHS.length]!;
    peers.push({
      name: `peer-${String(i).padStart(3, '0')}`, key: Buffer.alloc(32, i + 1).toString('base64'),
      ipv4: `10.0.${42 + (i >> 8)}.${(i % 250) + 2}`, ipv6: null, path, endpoint: path === 'direct' ? `198.51.100.${i % 250}:51820` : null,
      relay: path === 'relay' ? Buffer.alloc(32, 200).toString('base64') : null, relayForwarding: path === 'relay' ? 'kernel' : null,
      since: 30 + tick + i, rttMs: path === 'direct' || path === 'relay' ? 1 + ((i * 7 + tick) % 90) : null, wgEndpoint: null,
      lastHandshake: path === 'offline' ? null : nowSeconds - ((i + tick) % 120),
      rxBytes: (i + 1) * 1000 * (tick + 1) + tick * tick, txBytes: (n - i) * 700 * (tick + 1),
    });
  }
  return {
    interface: 'wh0', network: 'bench', config: '/etc/wirehub/bench.conf', publicKey: Buffer.alloc(32, 7).toString('base64'),
    role: 'node', backend: 'wireguard-go', dataPlane: 'up', dataPlaneRestarts: 0, dataPlaneError: null,
    ipv4: '10.0.42.1', ipv6: null, listenPort: 51820, nat: 'endpoint-independent', natObservers: 3, publicAddress: '198.51.100.1:51820',
    portMapping: { method: 'upnp-igd2', external: '198.51.100.1:51820', lease: 3600 - tick }, uptime: 600 + tick, dhtNodes: 57,
    relaying: { sessions: 3, kernel: 2 }, peers,
    dht: {
      buckets: [0, 1, 2, 3, 4].map((index) => ({ index, size: Math.max(1, 20 - index * 5), replacements: 0 })),
      counters: {}, rpc: {}, reach: { confirmed: [], refuted: [] },
    },
  };
}

// The node's counters in the Prometheus text exposition format (version 0.0.4): what
// `wh metrics` prints and the `metrics HOST:PORT` endpoint serves (src/daemon/metricsserver.ts).
// Made from the `show all` answer (src/control/show.ts), so it holds nothing `wh show` does not:
// public keys, names, addresses and counts, never a secret. Pure: the caller gives the time.
// The metric names and labels are listed in docs/NODE.md ("Metrics").
import type { ShowPath, ShowResult } from '../control/show.js';

/** The content type of the format (Prometheus' text format, version 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const PATHS: (ShowPath | 'down')[] = ['direct', 'relay', 'searching', 'offline', 'down'];

/** Counters of the DHT node (dht.counters) that count a packet dropped, with the reason shown.
 *  The RPC layer's drops are those named 'drop:REASON' (received) and 'drop-out:REASON' (not
 *  sent); these others are kept by other parts under their own names. */
const OTHER_DROPS: Record<string, string> = {
  'dns.foreign': 'dns-foreign', 'dns.oversize': 'dns-oversize', 'dns.ratelimited': 'dns-rate-limited', 'dns.malformed': 'dns-malformed',
  'tunnel-ping-dropped': 'tunnel-ping-unexpected', 'tunnel-ping-refused': 'tunnel-ping-refused',
  'relay-port-malformed': 'relay-port-malformed', 'relay-port-unexpected': 'relay-port-unexpected',
  'relay-link-foreign': 'relay-link-foreign', 'relay-link-too-large': 'relay-link-too-large',
  'alias-relayed-refused': 'alias-relayed-refused',
};

type Labels = Record<string, string>;
interface Sample { labels: Labels; value: number }
interface Family { name: string; type: 'gauge' | 'counter'; help: string; samples: Sample[] }

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A number as the format writes it (integers without exponent, NaN and infinities by name). */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

function render(families: Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      out.push(`${f.name}${labels ? `{${labels}}` : ''} ${num(s.value)}`);
    }
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}

/** The Prometheus text for these nodes' show answers (with their `dht` part, from `show all`)
 *  at wall-clock time `nowSeconds` (Unix seconds: handshake ages). Every sample carries the
 *  node's `interface` label, so that several nodes of one host make one valid text. */
export function formatMetrics(nodes: ShowResult[], nowSeconds: number): string {
  const fam = (name: string, type: Family['type'], help: string): Family => ({ name, type, help, samples: [] });
  const info = fam('wirehub_node_info', 'gauge', 'The node: its network, public key, role and NAT type (value 1).');
  const up = fam('wirehub_uptime_seconds', 'gauge', 'Seconds since the daemon started.');
  const plane = fam('wirehub_data_plane_up', 'gauge', 'Whether the WireGuard interface is up (1) or down (0); absent on a public DHT node.');
  const restarts = fam('wirehub_data_plane_restarts_total', 'counter', 'Times the WireGuard interface was recreated after it died.');
  const byPath = fam('wirehub_peers', 'gauge', 'Trusted peers by path: direct, relay, searching, offline, down (the data plane is down).');
  const peerInfo = fam('wirehub_peer_info', 'gauge', 'A trusted peer: its key, overlay addresses and current path (value 1).');
  const rx = fam('wirehub_peer_receive_bytes_total', 'counter', 'Bytes received from a peer through WireGuard.');
  const tx = fam('wirehub_peer_transmit_bytes_total', 'counter', 'Bytes sent to a peer through WireGuard.');
  const hs = fam('wirehub_peer_last_handshake_age_seconds', 'gauge', 'Seconds since the latest WireGuard handshake with a peer (absent: none yet).');
  const rtt = fam('wirehub_peer_rtt_seconds', 'gauge', 'Round-trip time to a peer as the daemon last measured it.');
  const since = fam('wirehub_peer_path_age_seconds', 'gauge', 'Seconds since a peer entered its current path.');
  const dhtNodes = fam('wirehub_dht_nodes', 'gauge', 'Nodes in the DHT routing table.');
  const bucket = fam('wirehub_dht_bucket_nodes', 'gauge', 'Nodes in one k-bucket of the routing table (bucket: bits shared with our key).');
  const drops = fam('wirehub_dropped_packets_total', 'counter', 'Packets dropped, by direction (in: received and dropped; out: not sent) and reason.');
  const events = fam('wirehub_events_total', 'counter', 'Every other counter of the DHT node (source dht) and its RPC layer (source rpc), by name.');
  const relay = fam('wirehub_relay_sessions', 'gauge', 'Relay sessions this node serves for others.');
  const relayKernel = fam('wirehub_relay_sessions_kernel', 'gauge', 'Of those, sessions forwarded in the kernel.');

  for (const r of nodes) {
    const iface = r.interface;
    const at = (extra: Labels = {}): Labels => ({ interface: iface, ...extra });
    info.samples.push({ labels: at({ network: r.network, public_key: r.publicKey, role: r.role, nat: r.nat }), value: 1 });
    up.samples.push({ labels: at(), value: r.uptime });
    if (r.dataPlane !== null) {
      plane.samples.push({ labels: at(), value: r.dataPlane === 'up' ? 1 : 0 });
      restarts.samples.push({ labels: at(), value: r.dataPlaneRestarts });
    }
    if (r.role === 'node') {
      for (const p of PATHS) byPath.samples.push({ labels: at({ path: p }), value: r.peers.filter((x) => x.path === p).length });
    }
    for (const p of r.peers) {
      const peer = at({ peer: p.name ?? p.key });
      peerInfo.samples.push({ labels: { ...peer, key: p.key, ipv4: p.ipv4 ?? '', ipv6: p.ipv6 ?? '', path: p.path }, value: 1 });
      rx.samples.push({ labels: peer, value: p.rxBytes });
      tx.samples.push({ labels: peer, value: p.txBytes });
      if (p.lastHandshake !== null) hs.samples.push({ labels: peer, value: Math.max(0, Math.round(nowSeconds - p.lastHandshake)) });
      if (p.rttMs !== null) rtt.samples.push({ labels: peer, value: p.rttMs / 1000 });
      since.samples.push({ labels: peer, value: p.since });
    }
    dhtNodes.samples.push({ labels: at(), value: r.dhtNodes });
    relay.samples.push({ labels: at(), value: r.relaying.sessions });
    relayKernel.samples.push({ labels: at(), value: r.relaying.kernel });
    if (r.dht === undefined) continue;
    for (const b of r.dht.buckets) bucket.samples.push({ labels: at({ bucket: String(b.index) }), value: b.size });
    // A reason counted by both layers is one sample, their sum.
    const dropped = new Map<string, number>();
    const counted = (source: 'dht' | 'rpc', counters: Record<string, number>) => {
      for (const [name, value] of Object.entries(counters)) {
        const m = /^drop(-out)?:(.+)$/.exec(name);
        const key = m ? `${m[1] ? 'out' : 'in'} ${m[2]!}` : OTHER_DROPS[name] !== undefined ? `in ${OTHER_DROPS[name]!}` : undefined;
        if (key !== undefined) dropped.set(key, (dropped.get(key) ?? 0) + value);
        else events.samples.push({ labels: at({ source, event: name }), value });
      }
    };
    counted('rpc', r.dht.rpc);
    counted('dht', r.dht.counters);
    for (const [key, value] of [...dropped].sort(([a], [b]) => a.localeCompare(b))) {
      const [direction, reason] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
      drops.samples.push({ labels: at({ direction, reason }), value });
    }
  }
  return render([info, up, plane, restarts, byPath, peerInfo, rx, tx, hs, rtt, since, dhtNodes, bucket, drops, events, relay, relayKernel]);
}

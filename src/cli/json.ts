// What `wh ... --json` prints: one documented, versioned schema for every command
// (docs/JSON.md, docs/wh-json.schema.json). The daemon's control answers are internal; this
// file maps them to the public form: camelCase names, keys in base64, durations in seconds in
// fields named ...Seconds, timestamps as ISO 8601 UTC strings, absent values as null.
import type { NetworkConfigJSON } from '../config/index.js';
import type { ShowPeer, ShowResult } from '../control/show.js';

/** Bumped when a field is renamed, removed or changes meaning (adding one does not). */
export const SCHEMA_VERSION = 1;

/** An epoch time in seconds (as WireGuard reports it) as ISO 8601 UTC. */
export function isoTime(unixSeconds: number | null): string | null {
  return unixSeconds === null ? null : new Date(unixSeconds * 1000).toISOString();
}

/** Why the NAT type is not known yet, for `wh show` and its JSON (undefined when it is). */
export function natReason(nat: string, observers: number): string | undefined {
  if (nat === 'blocked') return 'no boot node answers over UDP (WebSocket, where a boot line offers it)';
  if (nat !== 'unknown') return undefined;
  if (observers === 0) return 'no node has answered yet';
  if (observers < 2) return `seen by ${observers} node only: telling the NAT type takes 2 observers with different IP addresses (2 boot nodes, or other public nodes)`;
  return 'the observers disagree';
}

export function peerJSON(p: ShowPeer) {
  return {
    hostname: p.name,
    key: p.key,
    ipv4: p.ipv4,
    ipv6: p.ipv6,
    path: p.path,
    pathSeconds: p.since,
    endpoint: p.endpoint,
    relay: p.relay,
    relayForwarding: p.relayForwarding,
    rttSeconds: p.rttMs === null ? null : p.rttMs / 1000,
    wgEndpoint: p.wgEndpoint,
    lastHandshake: isoTime(p.lastHandshake),
    rxBytes: p.rxBytes,
    txBytes: p.txBytes,
  };
}

function interfaceJSON(r: ShowResult) {
  // A daemon of an older build (still running across an upgrade) does not send natObservers.
  const observers = r.natObservers ?? 0;
  const reason = natReason(r.nat, observers);
  return {
    interface: r.interface,
    network: r.network,
    config: r.config,
    publicKey: r.publicKey,
    role: r.role,
    backend: r.backend,
    dataPlane: r.dataPlane,
    dataPlaneRestarts: r.dataPlaneRestarts,
    dataPlaneError: r.dataPlaneError,
    ipv4: r.ipv4,
    ipv6: r.ipv6,
    listenPort: r.listenPort,
    nat: r.nat,
    natObservers: observers,
    ...(reason !== undefined ? { natReason: reason } : {}),
    publicAddress: r.publicAddress,
    portMapping: r.portMapping ? { method: r.portMapping.method, external: r.portMapping.external, leaseSeconds: r.portMapping.lease } : null,
    uptimeSeconds: r.uptime,
    dhtNodes: r.dhtNodes,
    boots: (r.boots ?? []).map((b) => ({ address: b.address, key: b.key, state: b.state, workbit: b.workbit, namespace: b.namespace, message: b.message })),
    transports: (r.transports ?? []).map((t) => ({ kind: t.kind, role: t.role, address: t.address, state: t.state, connections: t.connections, ...(t.counters ? { counters: t.counters } : {}) })),
    relaying: { sessions: r.relaying.sessions, kernel: r.relaying.kernel },
    peers: r.peers.map(peerJSON),
    ...(r.dht ? { dht: { ...r.dht, nodes: r.dht.nodes ?? [] } } : {}),
  };
}

export function showJSON(results: ShowResult[]) {
  return { schema: 'wirehub.show', schemaVersion: SCHEMA_VERSION, interfaces: results.map(interfaceJSON) };
}

export function checkJSON(cfg: NetworkConfigJSON) {
  return { schema: 'wirehub.check', schemaVersion: SCHEMA_VERSION, ...cfg };
}

export interface ReloadAnswer { added: string[]; removed: string[]; changed: string[]; bootsAdded?: string[]; bootsRemoved?: string[]; transports?: string[]; errors?: string[] }

export function reloadJSON(iface: string, r: ReloadAnswer) {
  return {
    schema: 'wirehub.reload', schemaVersion: SCHEMA_VERSION, interface: iface,
    added: r.added, removed: r.removed, changed: r.changed,
    bootsAdded: r.bootsAdded ?? [], bootsRemoved: r.bootsRemoved ?? [], transports: r.transports ?? [], errors: r.errors ?? [],
  };
}

/** The text every --json command prints. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

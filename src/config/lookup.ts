// Queries on a parsed NetworkConfig, and its JSON form (what `wh check --json` prints).
import { isKeyText, keyToBase64, parseKey } from '../crypto/keys.js';
import { formatHostPort } from './host.js';
import type { NetworkConfig, Peer } from './types.js';

/** The trust/peer entry with this key (raw 32 bytes or base64 text), if any. */
export function findPeerByKey(cfg: NetworkConfig, key: Uint8Array | string): Peer | undefined {
  // Any accepted spelling of a key (URL-safe, unpadded) is that key: compare standard forms.
  const text = typeof key === 'string' ? key.trim() : undefined;
  if (text !== undefined && !isKeyText(text)) return undefined;
  const b64 = text !== undefined ? keyToBase64(parseKey(text)) : keyToBase64(key as Uint8Array);
  return cfg.peers.find((p) => p.keyB64 === b64);
}

/** The trust/peer entry with this hostname (case-insensitive), if any. */
export function findPeerByHostname(cfg: NetworkConfig, hostname: string): Peer | undefined {
  const h = hostname.toLowerCase();
  return cfg.peers.find((p) => p.hostname !== undefined && p.hostname.toLowerCase() === h);
}

export function trustedPeers(cfg: NetworkConfig): Peer[] {
  return cfg.peers.filter((p) => p.trusted);
}

export interface NetworkConfigJSON {
  file: string;
  name: string;
  namespace: string;
  workbit: number;
  subnets: { v4?: string; v6?: string };
  boots: { key: string; host: string; port: number; line: number }[];
  peers: {
    hostname: string | null;
    key: string;
    trusted: boolean;
    ipv4: string | null;
    ipv4Allocated: boolean;
    ipv6: string | null;
    ipv6Allocated: boolean;
    endpoint: string | null;
    line: number;
  }[];
}

/** Plain JSON-ready form: keys in base64, subnets and endpoints as text. */
export function configToJSON(cfg: NetworkConfig): NetworkConfigJSON {
  const subnets: NetworkConfigJSON['subnets'] = {};
  if (cfg.subnets.v4) subnets.v4 = cfg.subnets.v4.text;
  if (cfg.subnets.v6) subnets.v6 = cfg.subnets.v6.text;
  return {
    file: cfg.file,
    name: cfg.name,
    namespace: cfg.namespace,
    workbit: cfg.workbit,
    subnets,
    boots: cfg.boots.map((b) => ({ key: b.keyB64, host: b.host, port: b.port, line: b.line })),
    peers: cfg.peers.map((p) => ({
      hostname: p.hostname ?? null,
      key: p.keyB64,
      trusted: p.trusted,
      ipv4: p.ipv4 ?? null,
      ipv4Allocated: p.ipv4 !== undefined && !p.ipv4Explicit,
      ipv6: p.ipv6 ?? null,
      ipv6Allocated: p.ipv6 !== undefined && !p.ipv6Explicit,
      endpoint: p.endpoint ? formatHostPort(p.endpoint) : null,
      line: p.line,
    })),
  };
}

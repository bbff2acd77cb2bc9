// What the daemon takes from a config about the trusted peers and itself: the peers as the
// tracker wants them, their WireGuard allowed IPs, this node's own overlay addresses.
import { isIP } from 'node:net';
import type { NetworkConfig, Peer } from '../config/index.js';
import type { TrustedPeer } from './peers.js';

/** The trusted peers of a config, as the tracker wants them (ourselves excluded). */
export function trustedPeersOf(config: NetworkConfig, selfB64: string): TrustedPeer[] {
  return config.peers.filter((p) => p.trusted && p.keyB64 !== selfB64).map((p) => toTrusted(p));
}

function toTrusted(p: Peer): TrustedPeer {
  const t: TrustedPeer = { keyB64: p.keyB64, key: p.key };
  if (p.hostname !== undefined) t.hostname = p.hostname;
  if (p.ipv4 !== undefined) t.ipv4 = p.ipv4;
  if (p.ipv6 !== undefined) t.ipv6 = p.ipv6;
  if (p.endpoint !== undefined && isIP(p.endpoint.host)) t.endpoint = { host: p.endpoint.host, port: p.endpoint.port };
  return t;
}

export function allowedIpsOf(p: TrustedPeer): string[] {
  return [...(p.ipv4 ? [`${p.ipv4}/32`] : []), ...(p.ipv6 ? [`${p.ipv6}/128`] : [])];
}

/** This node's own overlay addresses with the subnets' prefix lengths. */
export function ownAddresses(config: NetworkConfig, self: Peer): string[] {
  const out: string[] = [];
  if (self.ipv4 && config.subnets.v4) out.push(`${self.ipv4}/${config.subnets.v4.prefix}`);
  if (self.ipv6 && config.subnets.v6) out.push(`${self.ipv6}/${config.subnets.v6.prefix}`);
  return out;
}

/** A config without trust lines: a public DHT node (no WireGuard). */
export function isPublicNodeConfig(config: NetworkConfig): boolean {
  return !config.peers.some((p) => p.trusted);
}

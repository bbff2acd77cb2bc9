// The DHT contacts a config names, and its names resolved to addresses.
//
// Seeds: every `boot` line, and every `peer` line with an endpoint (docs/CONFIG.md: a known,
// untrusted node that may seed the DHT). Both are authenticated by the key on their line, so
// the DHT may join through them; only boot lines make rendezvous and relay candidates (the
// config vouches for them as directly reachable), a `peer` line only seeds.
// Trust endpoints written as DNS names are resolved when the config is loaded (`wh up`, each
// `wh reload`): a name that does not resolve refuses the config, rather than being dropped.
import dns from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatHostPort, type HostKind, type NetworkConfig } from '../config/index.js';
import type { BootNode } from '../dht/node.js';
import { normalizeAddr, wsAddr } from '../proto/addr.js';
import { RESOLVE_TIMEOUT } from '../params.js';
import { withTimeout } from '../util/deadline.js';

/** Resolves a DNS name to one address (rejects when it cannot). */
export type Lookup = (host: string) => Promise<string>;

export const systemLookup: Lookup = (host) =>
  withTimeout(dns.lookup(host).then((r) => r.address), RESOLVE_TIMEOUT, () => new Error(`no answer within ${RESOLVE_TIMEOUT / 1000} s`));

export interface Seed {
  key: Uint8Array;
  keyB64: string;
  host: string;
  kind: HostKind;
  port: number;
  /** A `boot` line (else a `peer` line). */
  boot: boolean;
  /** A ws:// boot line of a key that also has a UDP line: used only while UDP gets no answer
   *  (src/daemon/wsfallback.ts), so not pinged at the join. */
  fallback?: boolean;
  /** The ws:// (or wss://) URL of a boot line over WebSocket. */
  ws?: string;
}

/** "HOST:PORT" as written in the config. */
export function seedLabel(s: Seed): string {
  return formatHostPort({ host: s.host, kind: s.kind, port: s.port });
}

/** The seeds of a config, without ourselves. */
export function seedsOf(config: NetworkConfig, selfB64: string): Seed[] {
  const out: Seed[] = config.boots.filter((b) => b.keyB64 !== selfB64)
    .map((b) => ({ key: b.key, keyB64: b.keyB64, host: b.host, kind: b.hostKind, port: b.port, boot: true,
      ...(b.ws !== undefined ? { ws: b.ws.url } : {}),
      ...(b.ws !== undefined && config.boots.some((o) => o.keyB64 === b.keyB64 && o.ws === undefined) ? { fallback: true } : {}) }));
  for (const p of config.peers) {
    if (p.trusted || p.endpoint === undefined || p.keyB64 === selfB64) continue;
    out.push({ key: p.key, keyB64: p.keyB64, host: p.endpoint.host, kind: p.endpoint.kind, port: p.endpoint.port, boot: false });
  }
  return out;
}

/** What makes two seeds the same line: kind, key, address as written and ws:// URL. */
export const seedId = (s: Seed) => `${s.boot ? 'boot' : 'peer'} ${s.keyB64} ${seedLabel(s)}${s.ws !== undefined ? ` ${s.ws}` : ''}`;

/** The seeds a new config adds and removes. */
export function seedDiff(before: NetworkConfig, after: NetworkConfig, selfB64: string): { added: Seed[]; removed: Seed[] } {
  const a = seedsOf(before, selfB64), b = seedsOf(after, selfB64);
  const ids = (l: Seed[]) => new Set(l.map(seedId));
  const had = ids(a), has = ids(b);
  return { added: b.filter((s) => !had.has(seedId(s))), removed: a.filter((s) => !has.has(seedId(s))) };
}

/** Seeds with addresses: DNS names resolved; those that do not resolve are listed in `failed`. */
export async function resolveSeeds(seeds: readonly Seed[], lookup: Lookup): Promise<{ nodes: (BootNode & { seed: Seed })[]; failed: string[] }> {
  const nodes: (BootNode & { seed: Seed })[] = [];
  const failed: string[] = [];
  await Promise.all(seeds.map(async (s) => {
    try {
      const host = s.kind === 'hostname' ? await lookup(s.host) : s.host;
      // A ws:// line's address is its link's ('ws': src/daemon/wstransports.ts), never UDP's;
      // an IPv4-mapped one is the IPv4 address its answers come from (normalizeAddr).
      const addr = normalizeAddr({ host, port: s.port });
      nodes.push({ key: s.key, addr: s.ws !== undefined ? wsAddr(addr) : addr, seed: s });
    } catch (e) {
      failed.push(`${seedLabel(s)}: cannot resolve ${s.host} (${e instanceof Error ? e.message : String(e)})`);
    }
  }));
  return { nodes, failed };
}

export class ResolveError extends Error {}

/** A copy of `config` whose `trust` endpoints written as DNS names are resolved to addresses;
 *  throws ResolveError naming every name that does not resolve. */
export async function resolveTrustEndpoints(config: NetworkConfig, lookup: Lookup): Promise<NetworkConfig> {
  const failed: string[] = [];
  const peers = await Promise.all(config.peers.map(async (p) => {
    if (!p.trusted || p.endpoint === undefined || p.endpoint.kind !== 'hostname') return p;
    try {
      const host = await lookup(p.endpoint.host);
      const family = isIP(host);
      if (family === 0) throw new Error(`not an address: ${host}`);
      return { ...p, endpoint: { host, kind: family === 4 ? 'ipv4' as const : 'ipv6' as const, port: p.endpoint.port } };
    } catch (e) {
      failed.push(`${config.file}:${p.line}: the endpoint ${formatHostPort(p.endpoint)} of ${p.hostname ?? p.keyB64} does not resolve (${e instanceof Error ? e.message : String(e)})`);
      return p;
    }
  }));
  if (failed.length > 0) throw new ResolveError(failed.join('; '));
  return { ...config, peers };
}

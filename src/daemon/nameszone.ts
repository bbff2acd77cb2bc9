// The names a node publishes (`hosts yes`, `dns yes`: docs/CONFIG.md, "Names for every
// program"), built from the config: every trusted peer with a hostname, this node included,
// with its overlay addresses. Pure.
import type { NetworkConfig } from '../config/index.js';

export interface NameEntry {
  /** The hostname as written in the config (compared case-insensitively). */
  name: string;
  ipv4?: string;
  ipv6?: string;
}

export interface Zone {
  /** The network name: every entry is also published as NAME.NETWORK. */
  network: string;
  /** Sorted by lowercase name. */
  entries: NameEntry[];
}

/** The zone of `config`: its trusted peers that have a hostname and an overlay address. This
 *  node is one of them when its own trust line names it (selfB64 is not needed to find it:
 *  the config lists it like any other trusted peer). */
export function zoneOf(config: NetworkConfig): Zone {
  const entries: NameEntry[] = [];
  for (const p of config.peers) {
    if (!p.trusted || p.hostname === undefined || (p.ipv4 === undefined && p.ipv6 === undefined)) continue;
    entries.push({ name: p.hostname, ...(p.ipv4 ? { ipv4: p.ipv4 } : {}), ...(p.ipv6 ? { ipv6: p.ipv6 } : {}) });
  }
  entries.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0));
  return { network: config.name, entries };
}

/** Which publications a config asks for (both off when the directives are absent). */
export function namesWanted(config: NetworkConfig): { hosts: boolean; dns: boolean } {
  return { hosts: config.names?.hosts === true, dns: config.names?.dns === true };
}

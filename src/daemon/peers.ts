// The trusted peers as the daemon holds them (src/daemon/trusted.ts makes them from a config),
// and the difference between two lists of them (a config reload). Where each one is reached is
// its path machine's business (src/path/machine.ts, driven by src/daemon/paths.ts).
import type { Addr } from '../proto/addr.js';

export interface TrustedPeer {
  keyB64: string;
  key: Uint8Array;
  hostname?: string;
  ipv4?: string;
  ipv6?: string;
  /** Static endpoint hint from the config, tried before the DHT knows better. */
  endpoint?: Addr;
}

export interface PeerDiff {
  added: TrustedPeer[];
  removed: TrustedPeer[];
  /** Same key, different overlay addresses or name. */
  changed: { before: TrustedPeer; after: TrustedPeer }[];
}

export const peerHex = (p: TrustedPeer): string => Buffer.from(p.key).toString('hex');

/** What a reload changes: the peers of `next` against those of `before` (by key). */
export function diffPeers(before: ReadonlyMap<string, TrustedPeer>, next: readonly TrustedPeer[]): PeerDiff {
  const diff: PeerDiff = { added: [], removed: [], changed: [] };
  const keys = new Set(next.map(peerHex));
  for (const [hex, p] of before) if (!keys.has(hex)) diff.removed.push(p);
  for (const p of next) {
    const old = before.get(peerHex(p));
    if (old === undefined) diff.added.push(p);
    else if (old.ipv4 !== p.ipv4 || old.ipv6 !== p.ipv6 || old.hostname !== p.hostname) diff.changed.push({ before: old, after: p });
  }
  return diff;
}

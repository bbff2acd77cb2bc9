// What the control socket's `resolve` request answers (src/control/protocol.ts):
// src/daemon/resolvehandler.ts builds it, src/cli/commands/resolve.ts and src/cli/peerarg.ts read it.
import type { ShowPeer } from './show.js';

export interface ResolvedPeer {
  interface: string;
  network: string;
  key: string;
  hostname: string | null;
  ipv4: string | null;
  ipv6: string | null;
  /** The text named this node itself (it has no path to itself). */
  self: boolean;
  /** Which rule matched (src/daemon/resolve.ts). */
  matchedBy: 'key' | 'ip' | 'hostname' | 'prefix';
  /** The peer as `wh show` sees it (its path now); null for the node itself. */
  state: ShowPeer | null;
}

export type ResolveAnswer =
  | { found: true; peer: ResolvedPeer }
  /** unknown: nothing matched; ambiguous: several did; invalid: the text names no peer at all. */
  | { found: false; reason: 'unknown' | 'ambiguous' | 'invalid'; error: string };

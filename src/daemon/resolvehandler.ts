// The control socket's `resolve` answer: the peer (or this node) a text names, resolved over
// what `show` reports (src/daemon/resolve.ts has the rules), with its current path.
import type { ResolveAnswer } from '../control/resolve.js';
import type { ShowPeer, ShowResult } from '../control/show.js';
import { matchPeer, type PeerView } from './resolve.js';

interface Candidate extends PeerView { state: ShowPeer | null }

/** `show` is the node's own show answer; `selfHostname` its name on its trust line, if any. */
export function answerResolve(show: ShowResult, selfHostname: string | null, query: string): ResolveAnswer {
  const self: Candidate = { key: show.publicKey, hostname: selfHostname, ipv4: show.ipv4, ipv6: show.ipv6, state: null };
  const peers: Candidate[] = show.peers.map((p) => ({ key: p.key, hostname: p.name, ipv4: p.ipv4, ipv6: p.ipv6, state: p }));
  const m = matchPeer(query, [self, ...peers], { network: show.network });
  if (m.kind !== 'match') return { found: false, reason: m.kind, error: m.error };
  const p = m.peer;
  return {
    found: true,
    peer: {
      interface: show.interface, network: show.network, key: p.key, hostname: p.hostname ?? null, ipv4: p.ipv4 ?? null,
      ipv6: p.ipv6 ?? null, self: p === self, matchedBy: m.by, state: p.state,
    },
  };
}

// Which trusted peer a command's argument names: its hostname, an overlay IP, its full key or
// a unique prefix of the key (pure). (A minimal version, kept to the shared signature; the
// `names` branch owns this file.)

export interface PeerView {
  /** Base64 public key. */
  key: string;
  hostname: string | null;
  ipv4: string | null;
  ipv6: string | null;
}

export function resolvePeer(query: string, peers: readonly PeerView[]): { peer: PeerView } | { error: string } {
  const q = query.trim();
  if (q === '') return { error: 'no peer given' };
  const exact = peers.filter((p) => p.hostname === q || p.ipv4 === q || p.ipv6 === q || p.key === q);
  if (exact.length === 1) return { peer: exact[0]! };
  const byPrefix = exact.length === 0 ? peers.filter((p) => p.key.startsWith(q)) : exact;
  if (byPrefix.length === 1) return { peer: byPrefix[0]! };
  if (byPrefix.length === 0) return { error: `no peer is named ${q} (not a hostname, overlay IP or key prefix of this network)` };
  return { error: `${q} is ambiguous: it names ${byPrefix.map((p) => p.hostname ?? p.key).join(', ')}` };
}

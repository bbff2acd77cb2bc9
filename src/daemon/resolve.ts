// Which peer a command-line argument names (`wh resolve`, `wh show IFACE PEER`, `wh ping`, ...).
// Pure: a text and the peers a node knows in, one peer or a sentence out. The rules
// (docs/CONFIG.md, "Naming a peer"), tried in this order, the first that applies deciding:
//   1. a full key (any form a config accepts, or 64 hex digits): that key, exactly;
//   2. an IP address (IPv4, IPv6 in any spelling, in brackets or not, IPv4-mapped IPv6 for an
//      IPv4): the peer with that overlay address;
//   3. a hostname, case-insensitively ('_' allowed, as config files allow it), also written
//      HOSTNAME.NETWORK when the network's name is given (the DNS form);
//   4. a prefix of the base64 key, PEER_PREFIX_MIN characters or more, case-sensitively
//      (URL-safe '-' and '_' read as '+' and '/'): the one peer whose key starts with it.
// So a peer's exact hostname wins over another's key prefix. Errors never quote a full key
// (a private key pasted by mistake would be echoed); they quote other texts, shortened.
import { isKeyText, keyToBase64, parseKey } from '../crypto/keys.js';
import { PEER_PREFIX_MIN, PEER_QUERY_MAX } from '../params.js';
import { formatIPv4, parseIp } from '../util/ip.js';

/** What the resolver needs to know of a peer (the daemon's per-peer view has more). */
export interface PeerView {
  /** Standard base64. */
  key: string;
  hostname?: string | null;
  ipv4?: string | null;
  ipv6?: string | null;
}

export type MatchedBy = 'key' | 'ip' | 'hostname' | 'prefix';

export type PeerMatch<T> =
  | { kind: 'match'; peer: T; by: MatchedBy }
  | { kind: 'ambiguous'; candidates: T[]; by: MatchedBy; error: string }
  /** Nothing matched; `error` says what was tried. */
  | { kind: 'unknown'; error: string }
  /** The text cannot name a peer at all (empty, too long, a subnet, a zone id). */
  | { kind: 'invalid'; error: string };

export interface ResolveOptions {
  /** The network's name: HOSTNAME.NETWORK then names HOSTNAME too. */
  network?: string;
}

/** Texts that may be key material (a full key, or one with a typo: a character more, one
 *  changed, hex one digit short): 32 or more characters of the base64/hex alphabet. */
const KEY_LIKE = /^[A-Za-z0-9+/=_-]{32,}$/;
/** Whether an error must not quote the peer argument `text` (it may be a private key). */
export function keyLike(text: string): boolean {
  return KEY_LIKE.test(text.trim());
}
const quote = (s: string): string => (keyLike(s) ? `a ${s.length}-character text like a key (not quoted)` : JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s));
const short = (p: PeerView): string => (p.hostname ? `${p.hostname} (${p.key.slice(0, 12)}...)` : `${p.key.slice(0, 12)}...`);
const HEX_KEY = /^[0-9A-Fa-f]{64}$/;
const PREFIX = /^[A-Za-z0-9+/_-]+$/;

/** The standard base64 of a full key written in any accepted form, else undefined. */
function fullKey(q: string): string | undefined {
  if (isKeyText(q)) return keyToBase64(parseKey(q));
  if (HEX_KEY.test(q)) return Buffer.from(q, 'hex').toString('base64');
  return undefined;
}

/** An address as comparable text: canonical IPv6, IPv4-mapped IPv6 as IPv4. */
function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  if (ip === undefined) return undefined;
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) return formatIPv4(ip.value & 0xffffffffn);
  return ip.family === 4 ? formatIPv4(ip.value) : `6:${ip.value.toString(16)}`;
}

function one<T extends PeerView>(found: T[], by: MatchedBy, what: string): PeerMatch<T> | undefined {
  if (found.length === 1) return { kind: 'match', peer: found[0]!, by };
  if (found.length > 1) {
    return { kind: 'ambiguous', candidates: found, by, error: `${what} is ambiguous: it names ${found.length} peers: ${found.map(short).join(', ')}${by === 'prefix' ? '; give more characters of the key' : ''}` };
  }
  return undefined;
}

/** Which of `peers` the text `query` names, with the reason when it names none or several. */
export function matchPeer<T extends PeerView>(query: string, peers: readonly T[], opts: ResolveOptions = {}): PeerMatch<T> {
  const q = query.trim();
  if (q.length === 0) return { kind: 'invalid', error: 'empty peer name (give a hostname, an overlay IP, a key or a key prefix)' };
  if (q.length > PEER_QUERY_MAX) return { kind: 'invalid', error: `a peer name of ${q.length} characters is longer than any peer's (at most ${PEER_QUERY_MAX})` };
  // 1. A full key.
  const key = fullKey(q);
  if (key !== undefined) {
    return one(peers.filter((p) => p.key === key), 'key', 'that key')
      ?? { kind: 'unknown', error: 'no peer has that key (it is neither a trusted peer of this node nor the node itself)' };
  }
  // 2. An overlay address.
  const bare = q.startsWith('[') && q.endsWith(']') ? q.slice(1, -1) : q;
  if (bare.includes('%')) return { kind: 'invalid', error: `${quote(q)}: overlay addresses have no zone id ('%...')` };
  if (bare.includes('/') && canonicalIp(bare.slice(0, bare.indexOf('/'))) !== undefined) {
    return { kind: 'invalid', error: `${quote(q)} is a subnet; a peer has a single address` };
  }
  const ip = canonicalIp(bare);
  if (ip !== undefined) {
    const has = (a: string | null | undefined) => a !== undefined && a !== null && canonicalIp(a) === ip;
    return one(peers.filter((p) => has(p.ipv4) || has(p.ipv6)), 'ip', quote(q))
      ?? { kind: 'unknown', error: `no peer has the overlay address ${bare}` };
  }
  // 3. A hostname, or HOSTNAME.NETWORK.
  const named = (h: string) => peers.filter((p) => p.hostname !== undefined && p.hostname !== null && p.hostname.toLowerCase() === h.toLowerCase());
  const byName = one(named(q), 'hostname', quote(q));
  if (byName) return byName;
  const suffix = opts.network !== undefined ? `.${opts.network.toLowerCase()}` : undefined;
  if (suffix !== undefined && q.length > suffix.length && q.toLowerCase().endsWith(suffix)) {
    const byDns = one(named(q.slice(0, -suffix.length)), 'hostname', quote(q));
    if (byDns) return byDns;
  }
  // 4. A key prefix.
  if (q.length < PEER_PREFIX_MIN || !PREFIX.test(q)) {
    const why = PREFIX.test(q) ? ` (a key prefix needs at least ${PEER_PREFIX_MIN} characters)` : '';
    return { kind: 'unknown', error: `no peer is named ${quote(q)}${why}` };
  }
  const prefix = q.replace(/-/g, '+').replace(/_/g, '/');
  const byPrefix = one(peers.filter((p) => p.key.startsWith(prefix)), 'prefix', `key prefix ${quote(q)}`);
  if (byPrefix) return byPrefix;
  const otherCase = peers.filter((p) => p.key.toLowerCase().startsWith(prefix.toLowerCase()));
  const hint = otherCase.length > 0 ? `; keys are case-sensitive: ${otherCase.map(short).join(', ')} differ only in case` : '';
  return { kind: 'unknown', error: `no peer is named ${quote(q)} or has a key starting with it${hint}` };
}

/** The peer `query` names, or why it names none or several (the form every command uses). */
export function resolvePeer<T extends PeerView>(query: string, peers: readonly T[], opts: ResolveOptions = {}): { peer: T } | { error: string } {
  const m = matchPeer(query, peers, opts);
  return m.kind === 'match' ? { peer: m.peer } : { error: m.error };
}

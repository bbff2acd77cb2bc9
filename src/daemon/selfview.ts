// Which IP addresses are this node's own, as far as its trusted peers' pongs go. Pure: the
// time is passed in, the host's interface addresses come from an injected function.
//
// A pong carries `a`, the address the responder saw the ping come from, sealed by the
// responder: its own authenticated view. When a third party relays our datagrams (a proxy a
// rendezvous pointed us at), the peer sees the proxy, not us; so a trusted peer's pong counts
// as locating it only if `a` is one of our addresses: an interface address of this host, an
// address a boot node (the configuration vouches for them) saw us at, or our port mapping's
// external IP. Only the IP is compared: behind a symmetric NAT the port differs per
// destination, the IP does not. (A NAT that uses a different public IP per destination, or an
// attacker behind our own public IP, defeats or escapes the check: docs/NAT.md.)
import { SELF_VIEW_KEEP, SELF_VIEW_MAX } from '../params.js';

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) compares as plain IPv4; IPv6 case-insensitively. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}

export class SelfView {
  /** IP -> when a boot node last saw us there (ms). */
  private readonly seen = new Map<string, number>();

  /** `localIps`: this host's interface addresses; `mappedIp`: our port mapping's external IP. */
  constructor(private readonly localIps: () => readonly string[], private readonly mappedIp: () => string | undefined = () => undefined) {}

  /** A boot node says it saw us at `ip`. */
  observed(ip: string, now: number): void {
    const k = normalizeIp(ip);
    this.seen.delete(k);
    this.seen.set(k, now);
    while (this.seen.size > SELF_VIEW_MAX) this.seen.delete(this.seen.keys().next().value!);
  }

  /** Whether `ip` is one of ours. */
  isOwn(ip: string, now: number): boolean {
    const k = normalizeIp(ip);
    const mapped = this.mappedIp();
    if (mapped !== undefined && normalizeIp(mapped) === k) return true;
    const at = this.seen.get(k);
    if (at !== undefined && now - at <= SELF_VIEW_KEEP) return true;
    return this.localIps().some((l) => normalizeIp(l) === k);
  }

  /** For display: the addresses boot nodes saw us at, still valid. */
  list(now: number): string[] {
    return [...this.seen].filter(([, at]) => now - at <= SELF_VIEW_KEEP).map(([ip]) => ip);
  }
}

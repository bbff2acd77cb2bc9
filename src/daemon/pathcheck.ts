// Which answers of a trusted peer may set its WireGuard endpoint (docs/NAT.md "Endpoint
// acceptance"). Pure: the time is passed in.
//
// Every way a trusted peer gets located ends in a ping we sent to some address and the peer's
// authenticated pong from there: the config's endpoint, the DHT's hearsay (a lookup's answer),
// a rendezvous's punch-notify or punch-ok address, the source of a request it sent us. The
// address comes from a third party in most of these, and a pong proves only that the peer is
// behind it, not that it is the peer's own. So a pong locates the peer only if
//   1. it says it saw us at one of our own IPs (src/daemon/selfview.ts): not through a proxy;
//   2. the address is not one whose path was judged dead lately (src/daemon/liveness.ts: the
//      daemon's pings passed there while WireGuard's traffic did not);
//   3. it does not replace a direct path that works (WireGuard heard the peer lately): a new
//      address is tried only when the current one fails.
// Rejected answers change nothing; a rejected answer from the current endpoint itself (1 or 2)
// drops that path.
import { addrKey, type Addr } from '../proto/addr.js';
import { BAD_ENDPOINT_KEEP, BAD_ENDPOINTS_MAX } from '../params.js';

export type Rejection = 'no-view' | 'foreign-view' | 'bad-endpoint' | 'working-path';

export interface AcceptInput {
  /** Where the pong came from (the address we pinged). */
  addr: Addr;
  /** Where the peer says it saw us (the pong's `a`); undefined for answers that carry none. */
  seenAs: Addr | undefined;
  /** Whether `seenAs`'s IP is one of ours. */
  isOwn: (ip: string) => boolean;
  /** The peer's current direct endpoint (undefined if it has none) and whether WireGuard
   *  works on the current path. */
  current: Addr | undefined;
  working: boolean;
}

export class BadEndpoints {
  /** peer hex -> endpoint -> until when (ms). */
  private readonly bad = new Map<string, Map<string, number>>();

  add(hex: string, addr: Addr, now: number): void {
    let m = this.bad.get(hex);
    if (m === undefined) this.bad.set(hex, (m = new Map()));
    m.delete(addrKey(addr));
    m.set(addrKey(addr), now + BAD_ENDPOINT_KEEP);
    while (m.size > BAD_ENDPOINTS_MAX) m.delete(m.keys().next().value!);
  }

  has(hex: string, addr: Addr, now: number): boolean {
    const m = this.bad.get(hex);
    const until = m?.get(addrKey(addr));
    if (until === undefined) return false;
    if (until > now) return true;
    m!.delete(addrKey(addr));
    return false;
  }

  forget(hex: string): void {
    this.bad.delete(hex);
  }
}

/** Whether a trusted peer's answer may locate it; the reason when not. */
export function judgeAnswer(hex: string, i: AcceptInput, bad: BadEndpoints, now: number): Rejection | undefined {
  if (i.seenAs === undefined) return 'no-view';
  if (!i.isOwn(i.seenAs.host)) return 'foreign-view';
  if (bad.has(hex, i.addr, now)) return 'bad-endpoint';
  if (i.current !== undefined && addrKey(i.current) !== addrKey(i.addr) && i.working) return 'working-path';
  return undefined;
}

// Fair sharing of a relay's packet budget between its sessions (pure; the clock is passed in):
// a token bucket per session whose rate is the session's share, min(per-session cap, global /
// sessions), so that the shares add up to at most the global budget and flooding sessions
// cannot take it from the others. The kernel path does the same in nftables
// (src/firewall/relayforward.ts, sessionShare).
import { sessionShare } from '../firewall/relayforward.js';

export class FairShare {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(private readonly sessionPps: number, private readonly globalPps: number, private readonly maxKeys: number) {}

  /** Takes one packet for session `key` among `sessions` sharing the budget at time `now` (ms). */
  take(key: string, sessions: number, now: number): boolean {
    const rate = sessionShare({ sessionPps: this.sessionPps, globalPps: this.globalPps }, sessions);
    const burst = Math.max(1, Math.round(rate / 10));
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: burst, last: now };
    } else {
      this.buckets.delete(key); // re-insert: Map order is our LRU order
      b.tokens = Math.min(burst, b.tokens + ((now - b.last) * rate) / 1000);
      b.last = now;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

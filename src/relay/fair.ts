// Fair sharing of a relay's packet budget between its sessions (pure; the clock is passed in):
// a token bucket per session whose rate is the session's share, min(per-session cap, global /
// active sessions), so that the rates of the sessions that use the budget add up to at most the
// global one and flooding sessions cannot take it from the others, while idle ones take nothing.
// A bucket's burst is a tenth of the share among all the sessions that may use it, so that the
// bursts add up to at most a tenth of the global rate even when idle sessions wake at once
// (sessions made one after another each start with the burst of the count at their first
// packet, together past it: the relay's global bucket, whose burst is that tenth, bounds them:
// src/relay/server.ts). The
// kernel path shares among the sessions it forwards in nftables (src/firewall/relayforward.ts,
// sessionShare).
import { sessionShare } from '../firewall/relayforward.js';

export class FairShare {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(private readonly sessionPps: number, private readonly globalPps: number, private readonly maxKeys: number) {}

  /** Takes one packet for session `key` at time `now` (ms): its rate shared among `active`
   *  sessions, its burst among `sessions` (all that may use the budget; active ones among them). */
  take(key: string, sessions: number, now: number, active = sessions): boolean {
    const limits = { sessionPps: this.sessionPps, globalPps: this.globalPps };
    const rate = sessionShare(limits, Math.min(active, sessions));
    const burst = Math.max(1, Math.round(sessionShare(limits, sessions) / 10));
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

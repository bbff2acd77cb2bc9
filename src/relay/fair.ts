// Fair sharing of a relay's packet budget between its sessions (pure; the clock is passed in):
// a token bucket per session whose rate is the session's share, min(per-session cap, global /
// active sessions), so that flooding sessions cannot take the budget from the others while idle
// ones take nothing. A session is active while its bucket took a packet (passed or refused) in
// the last RELAY_SHARE_ACTIVE: counted by bucket, not by session, so that a session closed and
// opened again (the same two keys, the same bucket) stays counted while its bucket can hold
// tokens, and one waking up is counted from its first packet (the count is rebuilt every
// RELAY_SHARE_RECOUNT and only grows in between). Pairs whose session is gone stay counted for
// RELAY_SHARE_ACTIVE, so the count is capped at RELAY_MAX_SESSIONS, the most that can send at
// once (pairs churned through the table dilute no more than holding it whole would). A
// bucket's burst is a tenth of the share among all the sessions that may use it (the caller's
// established sessions, or the active buckets if more); buckets woken one after another each start with the burst of the count at their first
// packet, together past that tenth: the relay's global bucket, whose burst is that tenth
// (src/relay/server.ts, RELAY_GLOBAL_BURST), bounds them. The kernel path shares among the
// sessions it forwards in nftables (src/firewall/relayforward.ts, sessionShare).
import { sessionShare } from '../firewall/relayforward.js';
import { RELAY_MAX_SESSIONS, RELAY_SHARE_ACTIVE, RELAY_SHARE_RECOUNT } from '../params.js';

export class FairShare {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  /** Buckets that took a packet in the last RELAY_SHARE_ACTIVE (rebuilt at each recount). */
  private active = 0;
  private countedAt = -Infinity;

  constructor(
    private readonly sessionPps: number,
    private readonly globalPps: number,
    private readonly maxKeys: number,
    /** At most this many sessions can send at once: the divisor never passes it (else pairs
     *  churned through the table, each counted for RELAY_SHARE_ACTIVE, would dilute everyone). */
    private readonly maxSessions = RELAY_MAX_SESSIONS,
  ) {}

  /** Takes one packet for session `key` among `sessions` that may use the budget, at `now` (ms). */
  take(key: string, sessions: number, now: number): boolean {
    this.recount(now);
    let b = this.buckets.get(key);
    if (b === undefined || now - b.last >= RELAY_SHARE_ACTIVE || now < b.last) this.active++;
    const limits = { sessionPps: this.sessionPps, globalPps: this.globalPps };
    const active = Math.min(this.active, this.maxSessions);
    const rate = sessionShare(limits, active);
    const burst = Math.max(1, Math.round(sessionShare(limits, Math.max(sessions, active)) / 10));
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

  private recount(now: number): void {
    if (now - this.countedAt < RELAY_SHARE_RECOUNT && now >= this.countedAt) return;
    this.active = 0;
    for (const b of this.buckets.values()) if (now - b.last < RELAY_SHARE_ACTIVE && now >= b.last) this.active++;
    this.countedAt = now;
  }
}

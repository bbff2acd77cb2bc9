// Relay holds of one peer's path machine (src/path/machine.ts): after a relay path to the peer
// died unanswered, that relay is not used for the peer for a while (a relay opened from a
// stale DHT entry of a peer that is gone reaches no one); other relays stay allowed. Pure.
import { RELAY_HOLD_MAX, RELAY_HOLD_MIN } from '../params.js';

export class RelayHolds {
  /** Per relay (key hex): not before `until`; `len` doubles per death, 0 once the peer is heard. */
  private readonly holds = new Map<string, { until: number; len: number }>();

  /** Whether a relay may be opened through `relayHex` at `now`. */
  may(relayHex: string, now: number): boolean {
    return (this.holds.get(relayHex)?.until ?? -Infinity) <= now;
  }

  /** A relay path through `relayHex` died at `now`: holds it RELAY_HOLD_MIN, doubling up to
   *  RELAY_HOLD_MAX on each death since WireGuard last heard the peer. The hold's length (ms). */
  hold(relayHex: string, now: number): number {
    const h = this.holds.get(relayHex);
    const len = Math.min(RELAY_HOLD_MAX, h !== undefined && h.len > 0 ? 2 * h.len : RELAY_HOLD_MIN);
    this.holds.set(relayHex, { until: now + len, len });
    // Expired holds of relays that were never used again go (bounded by the relays tried).
    for (const [k, v] of this.holds) if (v.until <= now && v.len === 0) this.holds.delete(k);
    return len;
  }

  /** WireGuard heard the peer: the next hold of any relay starts from the minimum again. */
  heard(): void {
    for (const h of this.holds.values()) h.len = 0;
  }
}

// Relay holds of one peer's path machine (src/path/machine.ts): after a relay path to the peer
// died unanswered, that relay is not used for the peer for a while (a relay opened from a
// stale DHT entry of a peer that is gone reaches no one); other relays stay allowed; and the
// relays one attempt tries. Pure.
import { PATH_RELAY_TRIES, RELAY_HOLD_MAX, RELAY_HOLD_MIN } from '../params.js';
import type { RelayId } from './types.js';

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

/** The relays of one attempt to reach the peer: the rendezvous that knew it first (punch-ok),
 *  then the other candidates, at most PATH_RELAY_TRIES, none held for the peer. */
export class RelayAttempt<R extends RelayId> {
  readonly holds = new RelayHolds();
  private located: R | undefined;
  private readonly tried = new Set<string>();

  /** A rendezvous knew the peer: its relay comes first in this attempt. */
  locate(via: R): void {
    this.located ??= via;
  }

  /** A new attempt (`keepLocated`: only the relays tried are forgotten). */
  reset(keepLocated = false): void {
    this.tried.clear();
    if (!keepLocated) this.located = undefined;
  }

  /** The next relay to open among `candidates` at `now` (marked tried), if any is left. */
  next(candidates: readonly R[], now: number): R | undefined {
    if (this.tried.size >= PATH_RELAY_TRIES) return undefined;
    const located = this.located;
    const next = [...(located ? [located] : []), ...candidates.filter((r) => r.hex !== located?.hex)]
      .find((r) => !this.tried.has(r.hex) && this.holds.may(r.hex, now));
    if (next !== undefined) this.tried.add(next.hex);
    return next;
  }
}

// Repairing crossed WireGuard handshakes (docs/NODE.md "First handshake"). Pure: the time is
// passed in.
//
// Two nodes usually locate each other at the same moment, and each then makes its WireGuard
// initiate a handshake at once (the daemon's poke, or the first persistent keepalive). When the
// two initiations cross, wireguard-go answers the other side's initiation with the very
// handshake state its own initiation was waiting on: both responses are then rejected ("invalid
// response message"), and neither side has a usable session until WireGuard retries, 5 s later
// (REKEY_TIMEOUT), which may cross again.
//
// So the daemon watches every endpoint it gives WireGuard. If the peer still has no live
// session after a delay, it re-creates the WireGuard peer (fresh handshake state) and pokes it
// again: a single initiation, which the other side answers. The delay depends on which key is
// smaller, so the two sides never repair at the same moment: by the time the second looks, the
// first one's repair has worked.
import { HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_SECOND } from '../params.js';

export class HandshakeWatch {
  /** When to look at each watched peer (by key hex). */
  private readonly watched = new Map<string, number>();

  constructor(private readonly selfHex: string) {}

  /** WireGuard was just given an endpoint for peer `hex`: look again after the delay. */
  expect(hex: string, now: number): void {
    this.watched.set(hex, now + (this.selfHex < hex ? HANDSHAKE_REPAIR_FIRST : HANDSHAKE_REPAIR_SECOND));
  }

  forget(hex: string): void {
    this.watched.delete(hex);
  }

  /** Peers whose delay has passed (each is returned once per expect()). */
  due(now: number): string[] {
    const out: string[] = [];
    for (const [hex, at] of this.watched) {
      if (at > now) continue;
      this.watched.delete(hex);
      out.push(hex);
    }
    return out;
  }

  get size(): number {
    return this.watched.size;
  }
}

export { hasSession } from '../wg/session.js';

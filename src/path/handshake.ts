// The handshake watch of one peer's path machine (src/path/machine.ts). Pure: the machine
// passes the time and asks, at the watch's deadline, whether the WireGuard peer is to be
// re-created.
//
// Crossed handshakes (docs/NODE.md "First handshake"): when both sides' WireGuard initiate at
// once, wireguard-go rejects both responses and neither has a session until its 5 s retry. So
// the smaller key initiates at once (the machine pokes when it sets an endpoint), and each side
// checks for a session after its own delay: without one, the WireGuard peer is re-created (a
// single fresh initiation, which the other side answers).
import { HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_REPEATS, HANDSHAKE_REPAIR_SECOND } from '../params.js';

export class HandshakeWatch {
  /** When the watch is next due (ms), Infinity when off. */
  at = Infinity;
  private seen = false;
  private repairs = 0; // repairs since the watch started

  /** `initiator`: our key is the smaller one (this side pokes first). */
  constructor(private readonly initiator: boolean) {}

  /** An endpoint was set, or the data plane re-created: a session is looked for from now on. */
  watch(now: number): void {
    this.seen = false;
    this.repairs = 0;
    this.at = now + this.delay();
  }

  /** WireGuard has a session with the peer: no repair is needed. */
  sessionSeen(): void {
    this.seen = true;
  }

  stop(): void {
    this.at = Infinity;
  }

  /** The watch at `now`: whether the WireGuard peer is to be re-created (only while `onPath`,
   *  and no session was seen). The side that did not poke checks again, twice as late each
   *  time (HANDSHAKE_REPAIR_REPEATS). */
  due(now: number, onPath: boolean): boolean {
    if (this.at > now) return false;
    this.at = Infinity;
    if (!onPath || this.seen) return false;
    if (!this.initiator && this.repairs < HANDSHAKE_REPAIR_REPEATS) this.at = now + HANDSHAKE_REPAIR_FIRST * 2 ** ++this.repairs;
    return true;
  }

  /** The side that did not poke repairs first. wireguard-go sends no initiation within 5 s
   *  (REKEY_TIMEOUT) of its last attempt, even one that failed for want of an endpoint. */
  private delay(): number {
    return this.initiator ? HANDSHAKE_REPAIR_SECOND : HANDSHAKE_REPAIR_FIRST;
  }
}

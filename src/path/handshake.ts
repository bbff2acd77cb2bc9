// The handshake watch of one peer's path machine (src/path/machine.ts). Pure: the machine
// passes the time and asks, at the watch's deadline, whether the WireGuard peer is to be
// re-created.
//
// Crossed handshakes (docs/NODE.md "First handshake"): when both sides' WireGuard initiate at
// once, wireguard-go rejects both responses and neither has a session until its 5 s retry. So
// the smaller key initiates at once (the machine pokes when it sets an endpoint), and each side
// checks for a session after its own delay: without one, the WireGuard peer is re-created (a
// single fresh initiation, which the other side answers).
//
// Initiations still crossed at relay links (docs/NODE.md "First handshake"), in two ways, and
// wireguard-go can then take the crossed initiation and response in its two handshake workers at
// once and keep keys the peer does not hold. So the watch also says how an endpoint is given:
//   - without the keepalive, which follows once a session is seen, on the side that does not
//     initiate and for any relay endpoint: turning WireGuard's keepalive on sends one at once,
//     an initiation when there is no session;
//   - the initiator pokes a relay endpoint RELAY_POKE_DELAY late: a peer that opened its half
//     first has its repair's initiation held by the relay, delivered as our half opens. (A
//     direct endpoint is given to the initiator with its keepalive, and poked, at once.)
import { HANDSHAKE_REPAIR_FIRST, HANDSHAKE_REPAIR_REPEATS, HANDSHAKE_REPAIR_SECOND, RELAY_POKE_DELAY } from '../params.js';

export class HandshakeWatch {
  /** When the watch is next due (ms), Infinity when off. */
  at = Infinity;
  private seen = false;
  private repairs = 0; // repairs since the watch started
  /** The initiator's poke of a relay endpoint (ms), Infinity when none is due. */
  private pokeAt = Infinity;
  /** The keepalive (s) held back until a session is seen (endpointSet says when). */
  private held: number | undefined;

  /** `initiator`: our key is the smaller one (this side pokes first). */
  constructor(private readonly initiator: boolean) {}

  /** An endpoint was set, or the data plane re-created: a session is looked for from now on. */
  watch(now: number): void {
    this.seen = false;
    this.repairs = 0;
    this.at = now + this.delay();
  }

  /** An endpoint was set (`relay`: a relay's) whose keepalive is `keepalive` (s): the keepalive
   *  to give WireGuard now, and whether to poke now; the watch starts. */
  endpointSet(now: number, relay: boolean, keepalive: number): { keepalive: number; poke: boolean } {
    this.watch(now);
    this.held = (!this.initiator || relay) && keepalive > 0 ? keepalive : undefined;
    this.pokeAt = this.initiator && relay ? now + RELAY_POKE_DELAY : Infinity;
    return { keepalive: this.held === undefined ? keepalive : 0, poke: this.initiator && !relay };
  }

  /** WireGuard has a session with the peer: no repair is needed. The keepalive held back, once. */
  sessionSeen(): number | undefined {
    this.seen = true;
    const held = this.held;
    this.held = undefined;
    return held;
  }

  /** Whether the delayed poke is due at `now` (once). */
  pokeDue(now: number): boolean {
    if (this.pokeAt > now) return false;
    this.pokeAt = Infinity;
    return true;
  }

  /** When the watch next wants a tick (ms). */
  next(): number {
    return Math.min(this.at, this.pokeAt);
  }

  stop(): void {
    this.at = this.pokeAt = Infinity;
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

// Whether one peer's relayed path counts (src/path/machine.ts): only once WireGuard received the
// peer's packets through the relay link in use (the `pathHeard` event, src/daemon/guard.ts). A
// rendezvous may answer punch-ok, and a relay open a session, from a stale DHT entry of a peer
// that is gone: such a relay reaches no one, and is dropped after PATH_RELAY_HEARD_TIMEOUT. Pure.
import { PATH_RELAY_HEARD_TIMEOUT } from '../params.js';

export class RelayHeard {
  /** The peer was heard through the relay in use. */
  heard = false;
  /** Until when it may be unheard (ms), Infinity when not waited for. */
  by = Infinity;
  private poked = false;

  /** A relay (another one) is in use from `now`: the peer is yet to be heard through it. */
  expect(now: number): void {
    this.heard = false;
    this.poked = false;
    this.by = now + PATH_RELAY_HEARD_TIMEOUT;
  }

  /** The path is no longer relayed. */
  clear(): void {
    this.heard = false;
    this.poked = false;
    this.by = Infinity;
  }

  /** WireGuard has a session with the peer while it is waited for: whether to send one packet
   *  through the relay now (once per relay). The peer, still on its old direct path, follows us
   *  onto the relay only once something of ours comes through it (src/daemon/paths.ts
   *  directFailing); the side that does not initiate would otherwise send nothing until traffic
   *  or a keepalive, and the relay would not be heard. */
  pokeOnce(): boolean {
    if (this.heard || this.by === Infinity || this.poked) return false;
    this.poked = true;
    return true;
  }

  /** Heard through it: whether that is news. */
  confirm(): boolean {
    if (this.heard) return false;
    this.heard = true;
    this.by = Infinity;
    return true;
  }

  /** Whether the wait ran out at `now` without the peer heard. */
  due(now: number): boolean {
    if (this.by > now) return false;
    this.by = Infinity;
    return !this.heard;
  }
}

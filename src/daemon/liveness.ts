// Judging a peer's path by WireGuard's own counters, not by the daemons' pings. Pure: the
// daemon feeds it one sample of `wg` per peer and tick (the monotonic time is passed in) and
// acts on the answer.
//
// A daemon ping proves only that the peer's daemon is behind an address; whoever sits there
// may still drop WireGuard's datagrams. So while WireGuard sends to a peer (its tx counter
// grows) and receives nothing back (rx stands still), the path is suspect:
//   - from the start, and then every WG_SILENT_POKE: poke (one data packet into the tunnel: a
//     live peer's WireGuard answers it, with its kernel's ICMP or its passive keepalive);
//   - after WG_FRESH_REPAIR, when a handshake completed on this endpoint and nothing was received
//     since: re-create the WireGuard peer, once per endpoint (the two sides hold different keys,
//     which crossed handshakes can leave behind);
//   - after WG_SILENT_REPAIR (past the peer's passive keepalive): re-create the WireGuard peer (a fresh handshake, in case the
//     peer lost its session: a live peer answers that within a round trip);
//   - after WG_SILENT_DEAD: the path is dead.
// Anything received ends the suspicion. An idle tunnel (neither counter moves) is never judged.
// A new endpoint starts a new judgement (counts from its own sends only).
import { WG_FRESH_REPAIR, WG_SILENT_DEAD, WG_SILENT_POKE, WG_SILENT_REPAIR, WG_WORKING_WINDOW } from '../params.js';

export interface WgSample {
  txBytes: number;
  rxBytes: number;
  /** Unix seconds of the last completed handshake (WireGuard's wall clock), 0 = never. */
  latestHandshake: number;
}

export type LivenessAction = 'none' | 'poke' | 'repair' | 'dead';

interface Track {
  tx: number;
  rx: number;
  handshake: number;
  /** When rx last grew (ms). */
  heardAt: number | undefined;
  /** Since when sends go unanswered (the first tx growth after the last rx growth). */
  silentSince: number | undefined;
  pokedAt: number;
  repaired: boolean;
  /** Whether the fresh-handshake repair (WG_FRESH_REPAIR) was spent on the current endpoint. */
  freshRepaired: boolean;
  /** The handshake time when the current endpoint was set, and whether rx grew since. */
  handshakeAtSet: number;
  heardSinceSet: boolean;
}

export class WgLiveness {
  private readonly tracks = new Map<string, Track>();

  /** WireGuard was given a new endpoint for `hex`: judge it afresh. */
  endpointSet(hex: string): void {
    const t = this.tracks.get(hex);
    if (t === undefined) return; // the first sample sets everything
    t.silentSince = undefined;
    t.repaired = false;
    t.freshRepaired = false;
    t.handshakeAtSet = t.handshake;
    t.heardSinceSet = false;
  }

  forget(hex: string): void {
    this.tracks.delete(hex);
  }

  /** One sample of the peer's counters; what to do now. */
  observe(hex: string, s: WgSample, now: number): LivenessAction {
    const t = this.tracks.get(hex);
    if (t === undefined) {
      this.tracks.set(hex, { tx: s.txBytes, rx: s.rxBytes, handshake: s.latestHandshake, heardAt: undefined, silentSince: undefined,
        pokedAt: -Infinity, repaired: false, freshRepaired: false, handshakeAtSet: s.latestHandshake, heardSinceSet: false });
      return 'none';
    }
    // Counters only grow, except when the WireGuard peer was re-created (they restart at 0).
    const rxGrew = s.rxBytes > t.rx || (s.rxBytes < t.rx && s.rxBytes > 0);
    const txGrew = s.txBytes > t.tx || (s.txBytes < t.tx && s.txBytes > 0);
    t.tx = s.txBytes;
    t.rx = s.rxBytes;
    t.handshake = s.latestHandshake;
    if (rxGrew) {
      t.heardAt = now;
      t.heardSinceSet = true;
      t.silentSince = undefined;
      t.repaired = false;
      return 'none';
    }
    if (t.silentSince === undefined) {
      if (!txGrew) return 'none';
      t.silentSince = now;
    }
    const silent = now - t.silentSince;
    if (silent >= WG_SILENT_DEAD) {
      t.silentSince = undefined; // judged once; the caller moves on to another path
      t.repaired = false;
      return 'dead';
    }
    // (The silence began after the handshake: the last rx growth was the handshake, or later.)
    if (silent >= WG_FRESH_REPAIR && !t.freshRepaired && t.handshake > 0 && t.handshake !== t.handshakeAtSet) {
      t.freshRepaired = true;
      t.pokedAt = now;
      return 'repair';
    }
    if (silent >= WG_SILENT_REPAIR && !t.repaired) {
      t.repaired = true;
      t.pokedAt = now;
      return 'repair';
    }
    if (now - t.pokedAt >= WG_SILENT_POKE) {
      t.pokedAt = now;
      return 'poke';
    }
    return 'none';
  }

  /** How long WireGuard received nothing from the peer (ms; Infinity when it never did). */
  quietFor(hex: string, now: number): number {
    const at = this.tracks.get(hex)?.heardAt;
    return at === undefined ? Infinity : now - at;
  }

  /** Whether the peer was sampled before (its counters have a baseline). */
  known(hex: string): boolean {
    return this.tracks.has(hex);
  }

  /** Whether the last sample (at `now`) showed the peer's rx counter grow. */
  heardAt(hex: string, now: number): boolean {
    return this.tracks.get(hex)?.heardAt === now;
  }

  /** Whether WireGuard heard the peer lately: the current path works. */
  working(hex: string, now: number): boolean {
    const at = this.tracks.get(hex)?.heardAt;
    return at !== undefined && now - at <= WG_WORKING_WINDOW;
  }

  /** Whether a handshake completed since the current endpoint was set (the handshake repair's
   *  question). Compares WireGuard's handshake times with each other, never with our clock. */
  handshakeSinceSet(hex: string): boolean {
    const t = this.tracks.get(hex);
    return t !== undefined && t.handshake > 0 && t.handshake !== t.handshakeAtSet;
  }

  /** Whether anything was received since the current endpoint was set. */
  heardSinceSet(hex: string): boolean {
    return this.tracks.get(hex)?.heardSinceSet ?? false;
  }
}

// The daemon's side of path acceptance and WireGuard liveness: it holds the pure parts
// (src/daemon/selfview.ts, liveness.ts, pathcheck.ts), feeds them the daemon's observations and
// turns their verdicts into the daemon's actions, through the callbacks of GuardHost.
import type { Addr } from '../proto/addr.js';
import { sameAddr } from '../proto/addr.js';
import type { WgDump } from '../wg/types.js';
import type { PeerTracker, PeerState } from './peers.js';
import { SelfView } from './selfview.js';
import { WgLiveness } from './liveness.js';
import { BadEndpoints, judgeAnswer, type Rejection } from './pathcheck.js';

export interface GuardHost {
  tracker: PeerTracker;
  /** One data packet into the tunnel towards the peer. */
  poke(st: PeerState): void;
  /** Re-creates the peer in WireGuard (a fresh handshake) and pokes it. */
  recreate(hex: string): Promise<void>;
  /** The peer's path died: the relay link (if any) is to be closed, the event logged. */
  pathDied(st: PeerState, why: string): void;
  count(what: string): void;
}

export class PathGuard {
  readonly self: SelfView;
  readonly live = new WgLiveness();
  readonly bad = new BadEndpoints();

  constructor(private readonly host: GuardHost, localIps: () => readonly string[], mappedIp: () => string | undefined) {
    this.self = new SelfView(localIps, mappedIp);
  }

  /** A trusted peer answered at `addr`: undefined if that locates it, else why not. A rejected
   *  answer from the peer's current direct endpoint drops that path. */
  judge(st: PeerState, hex: string, addr: Addr, seenAs: Addr | undefined, now: number): Rejection | undefined {
    const current = st.path === 'direct' ? st.endpoint : undefined;
    const why = judgeAnswer(hex, { addr, seenAs, isOwn: (ip) => this.self.isOwn(ip, now), current, working: this.live.working(hex, now) }, this.bad, now);
    if (why === undefined || why === 'no-view') return why;
    this.host.count(`path-${why}`);
    if (why === 'foreign-view') this.bad.add(hex, addr, now);
    if ((why === 'foreign-view' || why === 'bad-endpoint') && sameAddr(current, addr)) {
      this.host.pathDied(st, why === 'foreign-view' ? `the peer's pong says it saw us at ${seenAs!.host}, not one of our addresses (a proxy sits in between)` : 'its endpoint was judged dead lately');
      this.host.tracker.pathDead(hex, now);
    }
    return why;
  }

  /** WireGuard was given a new endpoint for the peer. */
  endpointSet(hex: string): void {
    this.live.endpointSet(hex);
  }

  forget(hex: string): void {
    this.live.forget(hex);
    this.bad.forget(hex);
  }

  /** One WireGuard dump: judges every located peer's path by its counters. */
  async sample(dump: WgDump, now: number): Promise<void> {
    for (const st of this.host.tracker.all()) {
      const w = dump.peers.find((p) => p.publicKey === st.peer.keyB64);
      if (w === undefined) continue;
      const hex = Buffer.from(st.peer.key).toString('hex');
      const action = this.live.observe(hex, w, now);
      if (this.live.working(hex, now)) this.host.tracker.heard(hex);
      // Only a path the daemon chose is judged (a peer being searched has none).
      if (st.path !== 'direct' && st.path !== 'relay') continue;
      if (action === 'poke') this.host.poke(st);
      else if (action === 'repair') await this.host.recreate(hex);
      else if (action === 'dead') {
        this.host.count('path-wg-silent');
        if (st.path === 'direct' && st.endpoint) this.bad.add(hex, st.endpoint, now);
        this.host.pathDied(st, 'WireGuard got no answer on it');
        this.host.tracker.pathDead(hex, now);
      }
    }
  }
}

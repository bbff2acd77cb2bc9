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

  constructor(private readonly host: GuardHost, localIps: () => readonly string[], mappedIp: () => string | undefined, localPorts: () => readonly number[] = () => []) {
    this.self = new SelfView(localIps, mappedIp, localPorts);
  }

  /** A trusted peer answered at `addr`: undefined if that locates it, else why not. A rejected
   *  answer from the peer's current direct endpoint drops that path. */
  judge(st: PeerState, hex: string, addr: Addr, seenAs: Addr | undefined, now: number): Rejection | undefined {
    const current = st.path === 'direct' ? st.endpoint : undefined;
    const working = this.live.working(hex, now);
    // The config's own endpoint for the peer is vouched for like a boot node's address: its
    // answer there locates it whatever it saw us as (a NAT'd node with no boot node knows no
    // public IP of its own).
    const configured = sameAddr(st.peer.endpoint, addr);
    const why = judgeAnswer(hex, { addr, seenAs, isOwn: (ip, port) => configured || this.self.isOwn(ip, now, port), current, working }, this.bad, now);
    if (why === undefined || why === 'no-view') return why;
    this.host.count(`path-${why}`);
    // A foreign view does not put the address on the bad list, and does not drop a path on
    // which WireGuard works: our own public IP may just have changed, before a boot node told
    // us (a proxy's address is refused at every answer anyway; WireGuard's liveness judges
    // the path).
    if ((why === 'bad-endpoint' || (why === 'foreign-view' && !working)) && sameAddr(current, addr)) {
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
      // WireGuard just got the peer's authenticated traffic from where it now sends (it roams
      // to the source): that address works, whatever was judged of it (a peer back after a
      // reboot at the address its dead path had).
      if (w.endpoint !== undefined && this.live.heardAt(hex, now)) this.bad.clear(hex, w.endpoint);
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

// The daemon's side of path acceptance and WireGuard liveness: it holds the pure parts
// (src/daemon/selfview.ts, liveness.ts, pathcheck.ts), feeds them the daemon's observations and
// turns their verdicts into events of the peers' path machines (src/path/machine.ts), through
// GuardHost.
import type { Addr } from '../proto/addr.js';
import { sameAddr } from '../proto/addr.js';
import type { PathState } from '../path/types.js';
import type { WgDump } from '../wg/types.js';
import type { TrustedPeer } from './peers.js';
import { SelfView } from './selfview.js';
import { WgLiveness } from './liveness.js';
import { BadEndpoints, judgeAnswer, type Rejection } from './pathcheck.js';

/** What the guard sees of a peer's path. */
export interface GuardPeer {
  hex: string;
  keyB64: string;
  state: PathState;
  /** The direct endpoint, while direct. */
  endpoint?: Addr;
  /** While relayed: WireGuard's endpoint for the relay link (the loopback socket, or relay:port). */
  relayEndpoint?: string;
  /** ... and the link's loopback socket in the kernel path: the peer's datagrams that the
   *  daemons relayed (before, or besides, the kernel's) come through the relay from there. */
  relayLoopback?: string;
}

/** The guard's verdicts, as path-machine events. */
export type GuardEvent = { t: 'heard' } | { t: 'pathHeard' } | { t: 'pathSuspect' } | { t: 'pathSilent' } | { t: 'pathDead'; why: string };

/** An endpoint as text, compared with `wg`'s ("[v6]:port" or "v6:port" alike). */
const endpointKey = (e: string) => e.replace(/^\[(.*)\]:(\d+)$/, '$1:$2').toLowerCase();

export interface GuardHost {
  /** The trusted peers and their paths now. */
  peers(): GuardPeer[];
  /** An event for the peer's path machine. */
  step(hex: string, ev: GuardEvent): void;
  count(what: string): void;
}

export class PathGuard {
  readonly self: SelfView;
  readonly live = new WgLiveness();
  readonly bad = new BadEndpoints();

  constructor(private readonly host: GuardHost, localIps: () => readonly string[], mappedIp: () => string | undefined, localPorts: () => readonly number[] = () => []) {
    this.self = new SelfView(localIps, mappedIp, localPorts);
  }

  /** Trusted peer `peer` answered at `addr` (`current`: its direct endpoint, if direct):
   *  undefined if that locates it, else why not. A rejected answer from the current direct
   *  endpoint drops that path. */
  judge(peer: TrustedPeer, hex: string, current: Addr | undefined, addr: Addr, seenAs: Addr | undefined, now: number): Rejection | undefined {
    const working = this.live.working(hex, now);
    // The config's own endpoint for the peer is vouched for like a boot node's address: its
    // answer there locates it whatever it saw us as (a NAT'd node with no boot node knows no
    // public IP of its own).
    const configured = sameAddr(peer.endpoint, addr);
    const why = judgeAnswer(hex, { addr, seenAs, isOwn: (ip, port) => configured || this.self.isOwn(ip, now, port), current, working }, this.bad, now);
    if (why === undefined || why === 'no-view') return why;
    this.host.count(`path-${why}`);
    // A foreign view does not put the address on the bad list, and does not drop a path on
    // which WireGuard works: our own public IP may just have changed, before a boot node told
    // us (a proxy's address is refused at every answer anyway; WireGuard's liveness judges
    // the path).
    if ((why === 'bad-endpoint' || (why === 'foreign-view' && !working)) && sameAddr(current, addr)) {
      this.host.step(hex, { t: 'pathDead', why: why === 'foreign-view' ? `the peer's pong says it saw us at ${seenAs!.host}, not one of our addresses (a proxy sits in between)` : 'its endpoint was judged dead lately' });
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
  sample(dump: WgDump, now: number): void {
    for (const p of this.host.peers()) {
      const w = dump.peers.find((x) => x.publicKey === p.keyB64);
      if (w === undefined) continue;
      const first = !this.live.known(p.hex);
      const action = this.live.observe(p.hex, w, now);
      if (this.live.working(p.hex, now)) this.host.step(p.hex, { t: 'heard' });
      // WireGuard just got the peer's authenticated traffic from where it now sends (it roams
      // to the source): that address works, whatever was judged of it (a peer back after a
      // reboot at the address its dead path had).
      if (w.endpoint !== undefined && this.live.heardAt(p.hex, now)) this.bad.clear(p.hex, w.endpoint);
      // WireGuard moves its endpoint to the source of every authenticated datagram: received
      // since the last sample (or, at the first, since the WireGuard peer was made: a relayed
      // pair's first packets may come before the daemon's first sample) with the relay link as
      // its endpoint, the newest datagram came through the relay. (One that came another way
      // just before WireGuard was given the link counts too: only a live peer sends anything.)
      const viaRelay = w.endpoint !== undefined && [p.relayEndpoint, p.relayLoopback].some((e) => e !== undefined && endpointKey(w.endpoint!) === endpointKey(e));
      if (p.state === 'relayed' && p.relayEndpoint !== undefined && viaRelay
        && (this.live.heardAt(p.hex, now) || (first && w.rxBytes > 0))) this.host.step(p.hex, { t: 'pathHeard' });
      // Only a path the daemon chose is judged (a peer being searched has none).
      if (p.state !== 'direct' && p.state !== 'relayed') continue;
      if (action === 'poke') this.host.step(p.hex, { t: 'pathSuspect' });
      else if (action === 'repair') this.host.step(p.hex, { t: 'pathSilent' });
      else if (action === 'dead') {
        this.host.count('path-wg-silent');
        if (p.state === 'direct' && p.endpoint) this.bad.add(p.hex, p.endpoint, now);
        this.host.step(p.hex, { t: 'pathDead', why: 'WireGuard got no answer on it' });
      }
    }
  }
}

// The path driver: one path machine per trusted peer (src/path/machine.ts, docs/NAT.md "The
// per-peer path machine"), driven on the daemon's clock. It owns the map of machines and one
// timer, at the earliest of their deadlines; it feeds them what the node observes (lookups,
// answers that passed the path check, punches, relay links, WireGuard's counters) and performs
// the actions they ask for, each peer's in order: DHT lookups and pings, punches and relay
// links (src/nat/traversal.ts), WireGuard endpoints, pokes and re-creations (src/daemon/wgsync.ts).
import { toHex } from '../dht/id.js';
import { PathMachine, type PathAction, type PathEndpoint, type PathEvent, type PathState, type PathView } from '../path/machine.js';
import { addrKey, isUdpAddr, type Addr } from '../proto/addr.js';
import type { RelayLink, RelayRef } from '../relay/link.js';
import type { TimerHandle } from '../util/clock.js';
import type { NodeContext } from './context.js';
import { diffPeers, peerHex, type PeerDiff, type TrustedPeer } from './peers.js';
import { allowedIpsOf } from './trusted.js';
import { WG_SILENT_POKE } from '../params.js';

interface PeerPath {
  peer: TrustedPeer;
  readonly hex: string;
  readonly m: PathMachine<RelayRef>;
  started: boolean;
  /** The actions asked for and not yet performed (each peer's in order: a relay closes only
   *  once WireGuard was given the endpoint that replaces it). */
  chain: Promise<void>;
  /** The DHT lookup under way, if any: one per peer at a time (a lookup through nodes that do not
   *  answer can outlive the machine's PATH_OP_TIMEOUT, and an early report frees the machine's
   *  slot before the lookup ends). `waiting`: a lookupResult is owed when it settles. */
  lookup?: { found?: Addr; waiting: boolean };
}

export class Paths {
  private readonly peers = new Map<string, PeerPath>();
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private started = false;
  private closed = false;

  constructor(private readonly ctx: NodeContext, peers: readonly TrustedPeer[]) {
    for (const p of peers) this.add(p);
  }

  private add(p: TrustedPeer): PeerPath {
    const { ctx } = this, hex = peerHex(p);
    const m = new PathMachine<RelayRef>({
      now: ctx.clock.now(), random: ctx.seams.random, rendezvous: () => ctx.nat.relayCandidates([hex]),
      initiator: ctx.dht.hex < hex, keepalive: ctx.nat.keepalive(), ...(p.endpoint ? { hint: p.endpoint } : {}),
    });
    const pp: PeerPath = { peer: p, hex, m, started: false, chain: Promise.resolve() };
    this.peers.set(hex, pp);
    return pp;
  }

  /** Starts searching every peer (once the DHT can be searched: the join's first answer). Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const pp of this.peers.values()) this.begin(pp);
  }

  /** Stops the timer; the machines ask for nothing more. */
  close(): void {
    this.closed = true;
    if (this.timer) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  has(hex: string): boolean {
    return this.peers.has(hex);
  }

  state(hex: string): PathState | undefined {
    return this.peers.get(hex)?.m.state;
  }

  /** The peers with their paths, in config order. */
  all(): { peer: TrustedPeer; hex: string; view: PathView<RelayRef> }[] {
    return [...this.peers.values()].map((pp) => ({ peer: pp.peer, hex: pp.hex, view: pp.m.view() }));
  }

  /** One event for peer `hex` (an unknown peer's is dropped). */
  step(hex: string, ev: PathEvent<RelayRef>): void {
    const pp = this.peers.get(hex);
    if (pp === undefined || this.closed || this.ctx.stopping) return;
    // (A peer heard from before the search began is started first: its answer then counts.)
    this.begin(pp, true);
    this.run(pp, pp.m.step(ev, this.ctx.clock.now()));
  }

  /** An async result for `pp`: dropped if the peer was removed and added again meanwhile (the
   *  new machine did not ask for it). */
  private stepIf(pp: PeerPath, ev: PathEvent<RelayRef>): void {
    if (this.peers.get(pp.hex) === pp) this.step(pp.hex, ev);
  }

  /** Replaces the peer list (a reload): added peers are searched, removed ones let go (their
   *  relay link closed), a changed endpoint hint is tried. */
  setPeers(peers: readonly TrustedPeer[]): PeerDiff {
    const diff = diffPeers(new Map([...this.peers].map(([hex, pp]) => [hex, pp.peer])), peers);
    for (const p of diff.removed) {
      const hex = peerHex(p), pp = this.peers.get(hex)!;
      if (pp.started) this.run(pp, pp.m.step({ t: 'removed' }, this.ctx.clock.now()));
      this.peers.delete(hex);
      this.ctx.traversal.closeLink(hex);
    }
    for (const p of peers) {
      const pp = this.peers.get(peerHex(p));
      if (pp === undefined) { const added = this.add(p); if (this.started) this.begin(added); continue; }
      const before = pp.peer.endpoint;
      pp.peer = p;
      if ((before === undefined) !== (p.endpoint === undefined) || (before && p.endpoint && addrKey(before) !== addrKey(p.endpoint))) {
        this.step(pp.hex, { t: 'configChanged', ...(p.endpoint ? { endpoint: p.endpoint } : {}) });
      }
    }
    this.schedule();
    return diff;
  }

  /** A node answered us directly: if it is a trusted peer whose answer passes the path check
   *  (src/daemon/pathcheck.ts), that is where it is. A boot node's pong says where we are. */
  heard(id: Uint8Array, addr: Addr, rtt: number | undefined, seenAs: Addr | undefined): void {
    // An answer over a WebSocket connection is no direct WireGuard path, and what it saw of
    // us is a TCP source, not our UDP address.
    if (!isUdpAddr(addr)) return;
    const { ctx } = this;
    const hex = toHex(id), now = ctx.clock.now();
    if (seenAs !== undefined && ctx.join.boots.some((b) => toHex(b.key) === hex)) ctx.guard.self.observed(seenAs.host, now);
    const pp = this.peers.get(hex);
    if (pp === undefined) return;
    const v = pp.m.view();
    const why = ctx.guard.judge(pp.peer, hex, v.state === 'direct' ? v.endpoint : undefined, addr, seenAs, now);
    if (why !== undefined) {
      if (why !== 'no-view') ctx.log.debug(`peer ${name(pp.peer)}: answer from ${addrKey(addr)} not taken (${why})`);
      return;
    }
    this.step(hex, { t: 'answered', addr, ...(rtt !== undefined ? { rtt } : {}) });
  }

  /** A relay link for a peer is ready, moved, or changed its data path (src/relay/client.ts). */
  relayReady(hex: string, link: RelayLink): void {
    const { ctx } = this;
    if (!this.peers.has(hex) || ctx.wg === undefined || ctx.stopping) { ctx.traversal.closeLink(hex); return; }
    this.step(hex, { t: 'relayReady', relay: link.relay, endpoint: link.endpoint, kernel: link.kernelPort !== undefined, transport: link.overWs ? 'ws' : 'udp' });
  }

  /** UDP to the boot nodes stopped (src/daemon/wsfallback.ts): a direct path over UDP is
   *  most likely dead too; each direct peer searches again (a LAN peer's comes back at once). */
  udpLost(why: string): void {
    for (const [hex, pp] of [...this.peers]) if (pp.m.state === 'direct') this.step(hex, { t: 'pathDead', why });
  }

  /** A relayed datagram from a peer we reach directly, that introduced itself through that relay
   *  lately (src/relay/client.ts; it does so only when it is not on a direct path itself): if
   *  WireGuard heard it over this path, then nothing for WG_SILENT_POKE, the direct path is dropped now
   *  (true) rather than after WG_SILENT_DEAD (which needs our own sends), and the caller follows
   *  the peer onto the relay. A direct path that carries the peer's traffic is never dropped so. */
  directFailing(hex: string): boolean {
    const pp = this.peers.get(hex), now = this.ctx.clock.now();
    const live = this.ctx.guard.live;
    // (Only a direct path that carried the peer's traffic and then went quiet: one just taken,
    // with the peer's relayed datagrams still coming, is not judged so.)
    if (pp === undefined || pp.m.state !== 'direct') return false;
    if (!live.heardSinceSet(hex) || live.quietFor(hex, now) < WG_SILENT_POKE) { this.ctx.dht.counters.add('relayed-while-direct-heard'); return false; }
    this.step(hex, { t: 'pathDead', why: 'nothing heard over it, and the peer relays to us' });
    return pp.m.state !== 'direct';
  }

  /** The NAT check's verdict changed: the direct peers' keepalive follows it. */
  natChanged(): void {
    const seconds = this.ctx.nat.keepalive();
    for (const hex of [...this.peers.keys()]) this.step(hex, { t: 'keepalive', seconds });
  }

  // ---- the machines' timer and actions -------------------------------------------------------

  /** Starts one peer's machine: once the driver started, or `now` (an event came for it). */
  private begin(pp: PeerPath, now = false): void {
    if (pp.started || (!this.started && !now) || this.closed) return;
    pp.started = true;
    this.run(pp, pp.m.start(this.ctx.clock.now()));
  }

  private run(pp: PeerPath, actions: PathAction<RelayRef>[]): void {
    if (actions.length > 0) {
      pp.chain = pp.chain.then(() => this.perform(pp, actions))
        .catch((e: unknown) => this.ctx.log.warn(`peer ${name(pp.peer)}: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.schedule();
  }

  /** One timer, at the earliest deadline of all the machines. */
  private schedule(): void {
    let at = Infinity;
    for (const pp of this.peers.values()) if (pp.started) at = Math.min(at, pp.m.nextDeadline());
    if (at === this.timerAt || this.closed) return;
    if (this.timer) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      const now = this.ctx.clock.now();
      for (const pp of [...this.peers.values()]) if (pp.started && pp.m.nextDeadline() <= now) this.run(pp, pp.m.step({ t: 'tick' }, now));
      this.schedule();
    }, Math.max(0, at - this.ctx.clock.now()));
  }

  private async perform(pp: PeerPath, actions: PathAction<RelayRef>[]): Promise<void> {
    const { ctx } = this;
    for (const a of actions) {
      if (ctx.stopping) return;
      // A removed peer's last actions still run (its relay closes); once it was added again,
      // the old machine's actions are dropped (they would close or set the new one's path).
      const current = this.peers.get(pp.hex);
      if (current !== undefined && current !== pp) return;
      switch (a.a) {
        case 'lookup': this.lookup(pp); break;
        case 'ping':
          void ctx.dht.ping(pp.peer.key, a.addr).then((r) => { if (r === undefined) this.stepIf(pp, { t: 'unanswered', addr: a.addr }); });
          break;
        case 'punch': void this.punch(pp, a.rendezvous); break;
        case 'openRelay': void this.openRelay(pp, a.relay); break;
        case 'closeRelay': this.closeRelay(pp, a.relay); break;
        case 'setEndpoint': await this.setEndpoint(pp, a.endpoint, a.keepalive); break;
        case 'keepalive': await ctx.wgSync.keepalive(pp.hex, a.seconds); break;
        case 'poke': ctx.wgSync.poke(pp.peer); break;
        case 'recreate': await this.recreate(pp, a.why); break;
        case 'log': ctx.log[a.level](`peer ${name(pp.peer)}: ${a.msg}`); break;
      }
    }
  }

  /** A DHT lookup; reported as soon as an answer names the peer (the lookup's end is not waited
   *  for). While one runs, a new request starts none: it gets the running one's address, or its
   *  result when it ends. */
  private lookup(pp: PeerPath): void {
    const running = pp.lookup;
    if (running !== undefined) {
      if (running.found !== undefined) this.stepIf(pp, { t: 'lookupResult', found: running.found });
      else running.waiting = true;
      return;
    }
    const l: { found?: Addr; waiting: boolean } = { waiting: true };
    pp.lookup = l;
    const report = () => {
      if (!l.waiting) return;
      l.waiting = false;
      this.stepIf(pp, { t: 'lookupResult', ...(l.found ? { found: l.found } : {}) });
    };
    this.ctx.dht.findNode(pp.peer.key, (found) => { l.found ??= found; report(); })
      .then((r) => { l.found ??= r.found; }, () => undefined)
      .finally(() => { if (pp.lookup === l) pp.lookup = undefined; report(); });
  }

  private async punch(pp: PeerPath, rendezvous: readonly RelayRef[]): Promise<void> {
    const { ctx } = this;
    if (ctx.wg !== undefined) {
      await ctx.traversal.punch(pp.peer.key, [...rendezvous], () => this.state(pp.hex) === 'direct', (via) => this.stepIf(pp, { t: 'punchAccepted', via }))
        .catch((e: unknown) => ctx.log.warn(`peer ${name(pp.peer)}: punch: ${e instanceof Error ? e.message : String(e)}`));
    }
    this.stepIf(pp, { t: 'punchEnded' });
  }

  private async openRelay(pp: PeerPath, relay: RelayRef): Promise<void> {
    const link = await this.ctx.traversal.openLink(pp.peer.key, relay).catch(() => undefined);
    // (A link to the peer that already existed, through another relay, is the one in use.)
    if (link === undefined || link.relay.hex !== relay.hex) this.stepIf(pp, { t: 'relayFailed', relay });
    // (Unless it closed meanwhile: a direct path won while it opened, and the machine knows.)
    if (link !== undefined && this.peers.get(pp.hex) === pp && this.ctx.traversal.links.get(pp.hex) === link) this.relayReady(pp.hex, link);
  }

  /** Closes the peer's relay link if it goes through `relay` and the machine does not use it
   *  (again: a link that came up since is the machine's to judge). */
  private closeRelay(pp: PeerPath, relay: RelayRef): void {
    const link = this.ctx.traversal.links.get(pp.hex);
    if (link === undefined || link.relay.hex !== relay.hex) return;
    const v = pp.m.view();
    if (v.state === 'relayed' && v.via?.relay.hex === relay.hex) return;
    this.ctx.traversal.closeLink(pp.hex);
  }

  /** Re-creates the peer in WireGuard; for the handshake watch, only if a fresh dump still
   *  shows no session (the watch's samples are PEER_TICK apart). */
  private async recreate(pp: PeerPath, why: 'handshake' | 'silent'): Promise<void> {
    if (why === 'handshake') {
      if (await this.ctx.wgSync.hasSession(pp.peer)) { this.stepIf(pp, { t: 'handshakeSeen' }); return; }
      this.ctx.log.debug(`peer ${name(pp.peer)}: no handshake yet; re-creating the WireGuard peer`);
    }
    await this.ctx.wgSync.recreate(pp.hex);
  }

  private async setEndpoint(pp: PeerPath, e: PathEndpoint<RelayRef>, keepalive: number): Promise<void> {
    const { ctx } = this;
    if (ctx.wg === undefined) return;
    const endpoint = e.kind === 'direct' ? addrKey(e.addr) : e.endpoint;
    await ctx.wgSync.setEndpoint(pp.hex, { publicKey: pp.peer.keyB64, endpoint, allowedIps: allowedIpsOf(pp.peer), keepalive })
      .catch((err: unknown) => ctx.log.error(`peer ${pp.peer.keyB64}: cannot set WireGuard endpoint ${endpoint}: ${err instanceof Error ? err.message : String(err)}`));
  }
}

const name = (p: TrustedPeer) => p.hostname ?? p.keyB64;

// The relay client: this node's relay links to its trusted peers (src/relay/link.ts). It
// opens them, renews their sessions and moves them to another relay when one stops
// answering, follows a peer that relays to us first (only on the peer's own introduction
// through that relay), and binds them to the relay's kernel path when it offers one.
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import { addrKey, sameAddr, type Addr } from '../proto/addr.js';
import type { MessageOf } from '../proto/messages.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { RELAY_BIND_BACKOFF, RELAY_BIND_INTERVAL, RELAY_BIND_REFRESH_TRIES, RELAY_BIND_TRIES, RELAY_RENEW, RELAY_RENEW_RETRIES, RELAY_RENEW_TIMEOUT } from '../params.js';
import { RelayLink, type OpenRelayEndpoint, type RelayRef, type WsRelaySend } from './link.js';
import type { Fragment } from './fragment.js';
import { strayStep } from './stray.js';
import { isSealedFrameShaped, isWireGuardShaped } from './wgshape.js';

export interface RelayClientHost {
  dht: DhtNode;
  log: Logger;
  clock: Clock;
  /** WireGuard's port on this host; undefined on a public node without WireGuard. */
  wgPort: number | undefined;
  /** Whether a key is one of our trusted peers (we relay only for them). */
  isTrusted(hex: string): boolean;
  /** Whether we reach this trusted peer directly now. */
  isDirect(hex: string): boolean;
  /** A peer we reach directly relays to us: true when the daemon dropped that direct path now
   *  (WireGuard's sends there go unanswered), so the peer is followed onto the relay. */
  directFailing?(hex: string): boolean;
  /** Whether a node may relay for us (a boot node, or a verified directly reachable node). */
  isRendezvous(hex: string): boolean;
  /** A relay link for a peer is ready (or moved): point WireGuard at link.endpoint. */
  relayReady(peerHex: string, link: RelayLink): void;
  /** Relay candidates other than `exclude`. */
  relayCandidates(exclude: string[]): RelayRef[];
  /** Asks `relay` to tell the peer to open its half there (a punch-req, src/nat/punch.ts). */
  notifyPeer(relay: RelayRef, peerKey: Uint8Array): void;
  /** Whether the peer introduced itself through `relayHex` lately (src/nat/punch.ts). */
  introducedVia(peerHex: string, relayHex: string): boolean;
  /** Opens a link's loopback socket (default: a real one; a simulation hands its own). */
  openRelayEndpoint?: OpenRelayEndpoint;
  /** The WebSocket links that carry relayed frames (WS_TO/WS_FROM); absent: none. */
  ws?: WsRelaySend;
  /** A whole sealed DHT frame relayed to us (never WireGuard's): true when taken (an invitation's
   *  joiner behind a relay, src/daemon/inviterelay.ts); absent or false: dropped and counted. */
  onRelayedFrame?(inc: Incoming, m: MessageOf<'relayed'>): boolean;
}

export class RelayClient {
  readonly links = new Map<string, RelayLink>();
  private closed = false;

  constructor(private readonly host: RelayClientHost) {}

  private get rpc() {
    return this.host.dht.rpc;
  }

  close(): void {
    this.closed = true;
    for (const l of this.links.values()) l.close();
    this.links.clear();
  }

  /** A `relayed` datagram from a relay: to the peer's link, or a new link following the peer. */
  onRelayed(inc: Incoming, m: MessageOf<'relayed'>): void {
    const { dht } = this.host;
    const peerHex = toHex(m.k);
    if (m.g === undefined && isSealedFrameShaped(m.d)) {
      // Not for WireGuard: a DHT frame, which only an invitation's exchange sends this way, and
      // only through a rendezvous of ours (as a relayed peer is followed only through one).
      if (!this.host.isRendezvous(inc.senderHex) || this.host.onRelayedFrame?.(inc, m) !== true) dht.counters.add('relayed-frame-refused');
      return;
    }
    this.relayedFrom(inc, m.k, { d: m.d, ...(m.g !== undefined ? { g: m.g, i: m.i!, c: m.c! } : {}) });
  }

  /** A WS_FROM frame from the WebSocket server at `from` (our relay, or one of our rendezvous):
   *  a WireGuard datagram of peer `key`, taken as a `relayed` message from that node. */
  onWsFrom(from: Addr, key: Uint8Array, data: Uint8Array): void {
    const link = this.links.get(toHex(key));
    const relay = link !== undefined && sameAddr(link.relay.addr, from) ? link.relay : this.host.relayCandidates([]).find((r) => sameAddr(r.addr, from));
    if (relay === undefined || !isWireGuardShaped(data)) { this.host.dht.counters.add('relayed-ws-refused'); return; }
    this.relayedFrom({ sender: relay.key, senderHex: relay.hex, from }, key, { d: data.slice() });
  }

  /** Whether the peer introduced itself through `relayHex` lately (counted when not). */
  private introduced(peerHex: string, relayHex: string): boolean {
    const yes = this.host.introducedVia(peerHex, relayHex);
    if (!yes) this.host.dht.counters.add('relayed-while-direct-no-intro');
    return yes;
  }

  /** A relayed WireGuard datagram (or fragment) of `peerKey`, through the node `inc`. */
  private relayedFrom(inc: Pick<Incoming, 'sender' | 'senderHex' | 'from'>, peerKey: Uint8Array, frag: Fragment): void {
    const { dht } = this.host;
    const peerHex = toHex(peerKey);
    if (!this.host.isTrusted(peerHex) || this.host.wgPort === undefined) { dht.counters.add('relayed-refused'); return; }
    const link = this.links.get(peerHex);
    if (link !== undefined) {
      link.deliver(frag, inc.senderHex);
      this.strayed(link, inc);
    } else if (this.host.isDirect(peerHex) && !(this.host.isRendezvous(inc.senderHex) && this.introduced(peerHex, inc.senderHex) && this.host.directFailing?.(peerHex) === true)) {
      // We reach this peer directly: its relayed packets are late, or it has not switched
      // yet (it will, as our direct probes reach it). Following it back would pull
      // WireGuard's endpoint onto the relay again.
      dht.counters.add('relayed-late');
    } else if (this.host.isRendezvous(inc.senderHex) && this.host.introducedVia(peerHex, inc.senderHex)) {
      // The peer relays to us before we chose to: follow it through the same relay, if it
      // asked that relay to tell us (its own sealed introduction, lately); on a third
      // party's word alone, following would show it whom we trust.
      // The datagram goes to WireGuard before it is given the link's endpoint: it is usually the
      // peer's initiation, which WireGuard then answers before it initiates itself (two
      // initiations crossing would fail both).
      void this.openLink(peerKey, { key: inc.sender, hex: inc.senderHex, addr: inc.from }, false, frag);
    } else {
      dht.counters.add('relayed-refused');
    }
  }

  /** The peer's datagram came through `inc` (src/relay/stray.ts): follow it there once it is
   *  plain that the peer relays through that node and not through ours. Only to a node that may
   *  relay for us and through which the peer introduced itself lately (its own sealed
   *  punch-req): anyone can send us `relayed` messages naming the peer, and following them
   *  would let any public node pull our WireGuard traffic to itself. */
  private strayed(link: RelayLink, inc: Pick<Incoming, 'sender' | 'senderHex' | 'from'>): void {
    const now = this.host.clock.now();
    const r = strayStep(link.stray, inc.senderHex, link.relay.hex, link.setAt, now, this.host.dht.hex < link.peerHex);
    link.stray = r.state;
    if (!r.follow || !this.host.isRendezvous(inc.senderHex) || !this.introduced(link.peerHex, inc.senderHex)) return;
    this.host.log.warn(`relay: ${link.peerHex.slice(0, 8)} moved from ${link.relay.hex.slice(0, 8)} (${addrKey(link.relay.addr)}) to ${inc.senderHex.slice(0, 8)} (${addrKey(inc.from)}): the peer's datagrams come through it`);
    this.host.dht.counters.add('relay-followed-stray');
    link.switchTo({ key: inc.sender, hex: inc.senderHex, addr: inc.from });
    this.host.relayReady(link.peerHex, link);
  }

  /** The peer asked through `rendezvous` to punch: open our half of a relay session there, so
   *  that relaying can start at once; if we already relay to this peer, follow it to this relay
   *  (it moved, or it chose this one). */
  follow(rendezvous: RelayRef, peerKey: Uint8Array): void {
    void this.rpc.request(rendezvous.addr, rendezvous.key, (x) => ({ t: 'relay-open', x, k: peerKey })).then((r) => {
      const link = this.links.get(toHex(peerKey));
      // Follow the peer to another relay only when ours has not confirmed our session lately
      // (it died, or is dying): a rendezvous cannot pull a working relay link to itself.
      if (r?.msg.t === 'relay-ok' && link !== undefined && link.relay.hex !== rendezvous.hex && this.host.clock.now() - link.confirmedAt > 2 * RELAY_RENEW) {
        link.switchTo(rendezvous);
        this.host.relayReady(link.peerHex, link);
        this.offered(link, r.msg.p);
      }
    });
  }

  /** Opens (or reuses) a relay link for a peer through `relay`; `first`: a datagram from the peer
   *  through it, delivered once the link is open (or to the link that already exists). */
  async openLink(peerKey: Uint8Array, relay: RelayRef, announce = true, first?: Fragment): Promise<RelayLink | undefined> {
    const peerHex = toHex(peerKey);
    const wgPort = this.host.wgPort;
    if (wgPort === undefined || this.closed || !this.host.isTrusted(peerHex)) return undefined;
    const existing = this.links.get(peerHex);
    if (existing) { if (first) existing.deliver(first, relay.hex); return existing; }
    const reply = await this.rpc.request(relay.addr, relay.key, (x) => ({ t: 'relay-open', x, k: peerKey }));
    if (reply?.msg.t !== 'relay-ok' || this.closed) return undefined;
    if (announce) {
      // The peer may not have opened its half yet (it does when notified): ask the relay to tell it.
      this.host.notifyPeer(relay, peerKey);
    }
    const again = this.links.get(peerHex);
    if (again) { if (first) again.deliver(first, relay.hex); return again; }
    let link: RelayLink;
    try {
      link = await RelayLink.open(this.rpc, peerKey, peerHex, relay, wgPort, () => this.host.clock.now(), this.host.openRelayEndpoint, this.host.ws);
    } catch (e) {
      this.host.log.error(`relay: cannot open a loopback socket for ${peerHex.slice(0, 8)}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    this.links.set(peerHex, link);
    this.host.log.info(`relay: ${peerHex.slice(0, 8)} via ${addrKey(relay.addr)}`);
    if (first) link.deliver(first, relay.hex);
    this.host.relayReady(peerHex, link);
    this.offered(link, reply.msg.p);
    return link;
  }

  /** The link's relay answered relay-ok, offering a kernel path at `port` or none. */
  private offered(link: RelayLink, port: number | undefined): void {
    // Another port than the one WireGuard uses (the relay restarted), or none: back to the
    // daemon path at once, rather than sending into a port that no longer forwards.
    if (link.kernelPort !== undefined && link.kernelPort !== port) this.daemonPath(link);
    // (Over a WebSocket there is no kernel path: its relay-binds would go over the UDP we lack.)
    if (port !== undefined && !link.overWs && this.host.clock.now() >= link.kernelRetryAt) void this.bindKernel(link, port);
  }

  private daemonPath(link: RelayLink): void {
    if (link.kernelPort === undefined) return;
    link.kernelPort = undefined;
    this.host.log.info(`relay: ${link.peerHex.slice(0, 8)} back to relaying through the daemons`);
    this.host.relayReady(link.peerHex, link);
  }

  /**
   * Binds the link to its relay's kernel path: relay-bind to relay:port from the shared port
   * until the relay says both sides are bound (then WireGuard moves to relay:port), or the tries
   * run out (then the link stays on the daemon path). Already bound: a few tries only, to
   * refresh the relay's view of our NAT mapping; `r = 0` then means the relay stopped
   * forwarding, and the link goes back to the daemon path at once. When the port never answers
   * (a firewall in front of the relay), the link leaves that relay's kernel path alone for
   * RELAY_BIND_BACKOFF.
   */
  private async bindKernel(link: RelayLink, port: number): Promise<void> {
    const { clock } = this.host;
    // One exchange per link at a time; an offer for another relay or port replaces it (the
    // older loop stops at its next step).
    const target = `${link.relay.hex}:${port}`;
    if (link.binding === target) return;
    link.binding = target;
    const relay = link.relay;
    const current = () => !this.closed && link.relay === relay && link.binding === target && this.links.get(link.peerHex) === link;
    let answered = false;
    try {
      const tries = link.kernelPort === port ? RELAY_BIND_REFRESH_TRIES : RELAY_BIND_TRIES;
      for (let i = 0; i < tries && current(); i++) {
        const r = await this.rpc.request({ host: relay.addr.host, port }, relay.key, (x) => ({ t: 'relay-bind', x, k: link.peerKey }),
          { timeout: RELAY_BIND_INTERVAL, retries: 0 });
        if (r === undefined) continue;
        answered = true;
        if (r.msg.t === 'error') break; // the relay forgot the session: the next renewal re-opens it
        if (r.msg.t === 'relay-bound' && r.msg.r === 1) {
          if (current() && link.kernelPort !== port) {
            link.kernelPort = port;
            this.host.log.info(`relay: ${link.peerHex.slice(0, 8)} forwarded in the kernel of ${addrKey(relay.addr)} (port ${port})`);
            this.host.relayReady(link.peerHex, link);
          }
          return;
        }
        if (current()) this.daemonPath(link); // r = 0: not (or no longer) forwarded
        await new Promise<void>((r) => clock.setTimeout(r, RELAY_BIND_INTERVAL));
      }
      if (current()) {
        this.daemonPath(link);
        if (!answered) link.kernelRetryAt = clock.now() + RELAY_BIND_BACKOFF;
      }
    } finally {
      if (link.binding === target) link.binding = undefined;
    }
  }

  closeLink(peerHex: string): void {
    const l = this.links.get(peerHex);
    if (l) {
      l.close();
      this.links.delete(peerHex);
      // Leave the session at once rather than let it expire: the relay stops forwarding the
      // peer's datagrams to us (WireGuard would follow them back to the relay's port).
      void this.rpc.request(l.relay.addr, l.relay.key, (x) => ({ t: 'relay-close', x, k: l.peerKey }), { retries: 0 });
      this.host.log.info(`relay: ${peerHex.slice(0, 8)} closed (direct path)`);
    }
  }

  /** Renews every link's session; a relay that does not answer is replaced by another. */
  async renewAll(): Promise<void> {
    const opts = { timeout: RELAY_RENEW_TIMEOUT, retries: RELAY_RENEW_RETRIES };
    for (const link of [...this.links.values()]) {
      if (this.closed) return;
      const r = await this.rpc.request(link.relay.addr, link.relay.key, (x) => ({ t: 'relay-open', x, k: link.peerKey }), opts);
      // (A link closed meanwhile, a direct path having won, is left alone.)
      const live = () => !this.closed && this.links.get(link.peerHex) === link;
      if (!live()) continue;
      if (r?.msg.t === 'relay-ok') { link.confirmedAt = this.host.clock.now(); this.offered(link, r.msg.p); continue; }
      const dead = link.relay.hex, deadAddr = link.relay.addr;
      // (The same relay at another address counts: a boot node reached over UDP or WebSocket.)
      for (const next of this.host.relayCandidates([link.peerHex]).filter((c) => c.hex !== dead || !sameAddr(c.addr, deadAddr))) {
        const ok = await this.rpc.request(next.addr, next.key, (x) => ({ t: 'relay-open', x, k: link.peerKey }), opts);
        if (!live()) break;
        if (ok?.msg.t !== 'relay-ok') continue;
        // Tell the peer (the new relay notifies it, and it opens its half there).
        this.host.notifyPeer(next, link.peerKey);
        link.switchTo(next);
        link.confirmedAt = this.host.clock.now();
        this.host.log.warn(`relay: ${link.peerHex.slice(0, 8)} moved from ${dead.slice(0, 8)} (${addrKey(deadAddr)}) to ${next.hex.slice(0, 8)} (${addrKey(next.addr)})`);
        this.host.relayReady(link.peerHex, link);
        this.offered(link, ok.msg.p);
        break;
      }
    }
  }
}

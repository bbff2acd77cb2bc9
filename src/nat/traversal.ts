// Getting through NATs, both roles (docs/NODE.md "Through NATs"):
// - as a checker (only nodes directly reachable): `reach` — ping a node from a fresh port and
//   say whether it answered (src/nat/reach.ts);
// - as a rendezvous: `punch-req` from A naming B → `punch-notify` to B and `punch-ok` to A
//   (src/nat/punch.ts);
// - as a relay (only nodes directly reachable): `relay-open` sessions between two keys that
//   both asked, and forwarding of `relay` → `relayed` between them, rate limited; and, where
//   the system allows, forwarding of their WireGuard datagrams in the kernel (src/relay/kernel.ts);
// - as a client: asking rendezvous nodes to coordinate a punch, probing the other side's
//   address (src/nat/punch.ts: on a notification, only with the peer's own sealed
//   introduction), and keeping relay links (src/relay/link.ts) alive, moving them to another
//   relay when one stops answering; binding them to the relay's kernel path when it offers one.
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import { addrKey, sameAddr, type Addr } from '../proto/addr.js';
import { ERR_BUSY, ERR_REFUSED, type Message } from '../proto/messages.js';
import type { Transport } from '../net/transport.js';
import { RateLimiter } from '../util/ratelimit.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import {
  PING_PAD_TO, RATE_LIMIT_SOURCES, REACH_MAX_INFLIGHT, REACH_TIMEOUT, RELAY_BIND_BACKOFF, RELAY_BIND_INTERVAL, RELAY_BIND_TRIES,
  RELAY_FAIR_BUCKETS, RELAY_GLOBAL_PPS, RELAY_RENEW, RELAY_SESSION_PPS, RELAY_SESSION_SECONDS,
} from '../params.js';
import { RelaySessions } from '../relay/sessions.js';
import { RelayLink, type RelayRef } from '../relay/link.js';
import { KernelRelay, type KernelForwardDeps } from '../relay/kernel.js';
import { FairShare } from '../relay/fair.js';
import { fragmentShapeOk } from '../relay/wgshape.js';
import { relayExemption } from '../relay/exempt.js';
import { Puncher, reachable, type Notice } from './punch.js';

export interface TraversalHost {
  dht: DhtNode;
  log: Logger;
  /** Monotonic time and timers (realClock in the daemon, a virtual clock in tests). */
  clock: Clock;
  /** Whether a key is one of our trusted peers (we punch and relay only for them). */
  isTrusted(hex: string): boolean;
  /** Whether this node may serve as a relay (it is directly reachable). */
  canRelay(): boolean;
  /** WireGuard's port on this host; undefined on a public node without WireGuard. */
  wgPort: number | undefined;
  /** A relay link for a peer is ready (or moved): point WireGuard at link.endpoint. */
  relayReady(peerHex: string, link: RelayLink): void;
  /** Our address as a port mapping (UPnP/NAT-PMP) publishes it, to be announced in punches. */
  announceAddr(): Addr | undefined;
  /** Whether we reach this trusted peer directly now. */
  isDirect(hex: string): boolean;
  /** Whether a node may coordinate punches and relay for us: a boot node, or a directly
   *  reachable node verified in our table. Anyone else's punch-notify or relayed is ignored. */
  isRendezvous(hex: string): boolean;
  /** Relay candidates other than `exclude`: directly reachable DHT nodes we know. */
  relayCandidates(exclude: string[]): RelayRef[];
  /** The system's support for relaying in the kernel; absent: relay through the daemon only. */
  forward?: KernelForwardDeps;
  /** Binds a UDP socket on a fresh port (for `reach` checks); absent: this node checks nothing. */
  openPort?: () => Promise<{ port: number; transport: Transport }>;
}

export class Traversal {
  readonly sessions = new RelaySessions();
  readonly links = new Map<string, RelayLink>();
  readonly kernel: KernelRelay | undefined;
  private readonly punchLimiter = new RateLimiter(20, 40, RATE_LIMIT_SOURCES);
  private readonly globalRelay = new RateLimiter(RELAY_GLOBAL_PPS, RELAY_GLOBAL_PPS, 1);
  private readonly sessionRelay = new FairShare(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS, RELAY_FAIR_BUCKETS);
  private readonly clock: Clock;
  private readonly puncher: Puncher;
  private renewTimer: TimerHandle | undefined;
  private reachInflight = 0;
  private closed = false;

  constructor(private readonly host: TraversalHost) {
    this.clock = host.clock;
    this.puncher = new Puncher(host);
    // Relay traffic passes the per-source packet limit, and only it (src/relay/exempt.ts).
    host.dht.rpc.isExempt = relayExemption(this.sessions, () => this.links.values(), () => this.clock.now());
    host.dht.extend({ request: (req, max) => this.onRequest(req, max), oneWay: (m) => this.onOneWay(m) });
    this.kernel = host.forward ? new KernelRelay(this.sessions, host.dht.rpc, host.forward, host.log, () => this.clock.now(), this.clock) : undefined;
    const renew = () => {
      this.renewTimer = this.clock.setTimeout(() => { if (this.closed) return; renew(); void this.renewAll(); void this.kernel?.sync(); }, RELAY_RENEW);
    };
    renew();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.puncher.closed = true;
    if (this.renewTimer) this.clock.clearTimeout(this.renewTimer);
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.kernel?.close();
  }

  private get rpc() {
    return this.host.dht.rpc;
  }

  // ---- server side -------------------------------------------------------------------------------

  private onRequest(req: Incoming, maxSize: number): number | undefined {
    const m = req.msg;
    const now = this.clock.now();
    const reply = (msg: Message) => this.rpc.send(req.from, req.sender, msg, maxSize);
    switch (m.t) {
      case 'punch-req': {
        if (!this.punchLimiter.take(req.from.host, now)) return reply({ t: 'error', x: m.x, c: ERR_BUSY });
        return this.puncher.rendezvous(req, m, reply);
      }
      case 'punch-notify': {
        const { sent, notice } = this.puncher.notified(req, m, reply);
        // The address may be the rendezvous's word (an intro without `a`): never this host's own
        // loopback or an unspecified address.
        if (notice) void this.notified(reachable(notice.addr) ? notice : { ...notice, probes: 0 });
        return sent;
      }
      case 'reach': {
        // Only for a node in our table at the address it asks from (so never for a spoofed
        // source), padded to PING_PAD_TO like the single ping it causes, and never towards this
        // host's own loopback or an unspecified address.
        const asker = this.host.dht.table.get(req.senderHex);
        if (!this.host.canRelay() || this.host.openPort === undefined || req.size < PING_PAD_TO || asker === undefined ||
            !sameAddr(asker.addr, req.from) || !reachable(m.a)) return reply({ t: 'error', x: m.x, c: ERR_REFUSED });
        if (!this.punchLimiter.take(req.from.host, now) || this.reachInflight >= REACH_MAX_INFLIGHT) return reply({ t: 'error', x: m.x, c: ERR_BUSY });
        void this.reach(m.k, m.a).then((ok) => {
          if (!this.closed) reply(ok === undefined ? { t: 'error', x: m.x, c: ERR_BUSY } : { t: 'reach-ok', x: m.x, r: ok ? 1 : 0 });
        });
        return 0;
      }
      case 'relay-close': {
        this.sessions.close(req.senderHex, toHex(m.k));
        void this.kernel?.sync();
        return reply({ t: 'ack', x: m.x });
      }
      case 'relay-open': {
        if (!this.host.canRelay()) return reply({ t: 'error', x: m.x, c: ERR_REFUSED, m: 'not a relay' });
        const peerHex = toHex(m.k), evictions = this.sessions.evictions;
        const opened = this.sessions.open(req.senderHex, peerHex, req.from, now);
        if (opened !== 'ok') { this.host.dht.counters.add(`relay-open-${opened}`); return reply({ t: 'error', x: m.x, c: ERR_BUSY, m: `relay ${opened}` }); }
        if (this.sessions.evictions !== evictions) void this.kernel?.sync(); // an evicted session's port and rules go
        if (this.kernel === undefined) return reply({ t: 'relay-ok', x: m.x, l: RELAY_SESSION_SECONDS });
        // The session's own port (bound on first use) lets the members move to the kernel path.
        void this.kernel.portFor(req.senderHex, peerHex).then((p) => {
          if (!this.closed) reply({ t: 'relay-ok', x: m.x, l: RELAY_SESSION_SECONDS, ...(p !== undefined ? { p } : {}) });
        });
        return 0;
      }
      default:
        return undefined;
    }
  }

  private onOneWay(inc: Incoming): boolean {
    const m = inc.msg;
    const now = this.clock.now();
    if (m.t === 'relay') {
      if (!this.host.canRelay()) { this.host.dht.counters.add('relay-refused'); return true; }
      const toHexKey = toHex(m.k);
      const to = this.sessions.route(inc.senderHex, toHexKey, now);
      if (to === undefined) { this.host.dht.counters.add('relay-no-session'); return true; }
      if (!fragmentShapeOk(m)) { this.host.dht.counters.add('relay-malformed'); return true; } // only WireGuard is relayed
      // The session's fair share first, so that a session over it takes nothing from the rest.
      const sid = inc.senderHex < toHexKey ? inc.senderHex + toHexKey : toHexKey + inc.senderHex;
      if (!this.sessionRelay.take(sid, this.sessions.establishedCount(now), now) || !this.globalRelay.take('all', now)) { this.host.dht.counters.add('relay-rate-limited'); return true; }
      this.rpc.send(to, m.k, { t: 'relayed', k: inc.sender, d: m.d, ...(m.g !== undefined ? { g: m.g, i: m.i!, c: m.c! } : {}) });
      this.host.dht.counters.add('relay-forwarded');
      return true;
    }
    if (m.t === 'relayed') {
      const peerHex = toHex(m.k);
      if (!this.host.isTrusted(peerHex) || this.host.wgPort === undefined) { this.host.dht.counters.add('relayed-refused'); return true; }
      const link = this.links.get(peerHex);
      const frag = { d: m.d, ...(m.g !== undefined ? { g: m.g, i: m.i!, c: m.c! } : {}) };
      if (link !== undefined) {
        link.deliver(frag, inc.senderHex);
      } else if (this.host.isDirect(peerHex)) {
        // We reach this peer directly: its relayed packets are late, or it has not switched
        // yet (it will, as our direct probes reach it). Following it back would pull
        // WireGuard's endpoint onto the relay again.
        this.host.dht.counters.add('relayed-late');
      } else if (this.host.isRendezvous(inc.senderHex) && this.puncher.introducedVia(peerHex, inc.senderHex)) {
        // The peer relays to us before we chose to: follow it through the same relay, if it
        // asked that relay to tell us (its own sealed introduction, lately); on a third
        // party's word alone, following would show it whom we trust.
        void this.openLink(m.k, { key: inc.sender, hex: inc.senderHex, addr: inc.from }, false).then((l) => l?.deliver(frag, inc.senderHex));
      } else {
        this.host.dht.counters.add('relayed-refused');
      }
      return true;
    }
    return false;
  }

  /** Pings `key` at `addr` from a fresh port: true if it answered there; undefined when no
   *  port could be opened. */
  private async reach(key: Uint8Array, addr: Addr): Promise<boolean | undefined> {
    this.reachInflight++;
    let opened: { port: number; transport: Transport } | undefined;
    try {
      opened = await this.host.openPort!();
      const rpc = this.rpc.fork(opened.transport, { onRequest: () => undefined, onOneWay: () => undefined });
      const r = await rpc.request(addr, key, (x) => ({ t: 'ping', x }), { padTo: PING_PAD_TO, timeout: REACH_TIMEOUT, retries: 0 });
      rpc.close();
      this.host.dht.counters.add(r?.msg.t === 'pong' ? 'reach-answered' : 'reach-silent');
      return r?.msg.t === 'pong';
    } catch {
      this.host.dht.counters.add('reach-error');
      return undefined;
    } finally {
      opened?.transport.close();
      this.reachInflight--;
    }
  }

  // ---- client side -------------------------------------------------------------------------------

  /** The other side asked (through `rendezvous`) to punch: probe its address, and be ready to relay. */
  private async notified({ peerKey, addr, rendezvous, probes }: Notice): Promise<void> {
    this.host.log.debug(`punch: ${toHex(peerKey).slice(0, 8)} asked through ${addrKey(rendezvous.addr)}; probing ${addrKey(addr)}`);
    // With a port mapping, our observed address (from the rendezvous's view) may not be the one
    // that takes traffic in: tell the peer the mapped one, through the same rendezvous.
    const announce = this.host.announceAddr();
    if (announce) void this.puncher.punchReq(rendezvous, peerKey, announce);
    // Open our half of a relay session at the rendezvous, so that relaying can start at once;
    // if we already relay to this peer, follow it to this relay (it moved, or it chose this one).
    void this.rpc.request(rendezvous.addr, rendezvous.key, (x) => ({ t: 'relay-open', x, k: peerKey })).then((r) => {
      const link = this.links.get(toHex(peerKey));
      // Follow the peer to another relay only when ours has not confirmed our session lately
      // (it died, or is dying): a rendezvous cannot pull a working relay link to itself.
      if (r?.msg.t === 'relay-ok' && link !== undefined && link.relay.hex !== rendezvous.hex && this.clock.now() - link.confirmedAt > 2 * RELAY_RENEW) {
        link.switchTo(rendezvous);
        this.host.relayReady(link.peerHex, link);
        this.offered(link, r.msg.p);
      }
    });
    if (probes > 0) await this.puncher.probe(peerKey, addr, () => false, probes);
  }

  /** Coordinates a punch with `peerKey` through rendezvous nodes (src/nat/punch.ts). */
  punch(peerKey: Uint8Array, rendezvous: RelayRef[], done: () => boolean): Promise<{ direct: boolean; via?: RelayRef }> {
    return this.puncher.punch(peerKey, rendezvous, done);
  }

  /** Opens (or reuses) a relay link for a peer through `relay`. */
  async openLink(peerKey: Uint8Array, relay: RelayRef, announce = true): Promise<RelayLink | undefined> {
    const peerHex = toHex(peerKey);
    if (this.host.wgPort === undefined || this.closed || !this.host.isTrusted(peerHex)) return undefined;
    const existing = this.links.get(peerHex);
    if (existing) return existing;
    const reply = await this.rpc.request(relay.addr, relay.key, (x) => ({ t: 'relay-open', x, k: peerKey }));
    if (reply?.msg.t !== 'relay-ok' || this.closed) return undefined;
    if (announce) {
      // The peer may not have opened its half yet (it does when notified): ask the relay to tell it.
      void this.puncher.punchReq(relay, peerKey);
    }
    const again = this.links.get(peerHex);
    if (again) return again;
    let link: RelayLink;
    try {
      link = await RelayLink.open(this.rpc, peerKey, peerHex, relay, this.host.wgPort, () => this.clock.now());
    } catch (e) {
      this.host.log.error(`relay: cannot open a loopback socket for ${peerHex.slice(0, 8)}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    this.links.set(peerHex, link);
    this.host.log.info(`relay: ${peerHex.slice(0, 8)} via ${addrKey(relay.addr)}`);
    this.host.relayReady(peerHex, link);
    this.offered(link, reply.msg.p);
    return link;
  }

  /** The link's relay answered relay-ok, offering a kernel path at `port` or none. */
  private offered(link: RelayLink, port: number | undefined): void {
    // Another port than the one WireGuard uses (the relay restarted), or none: back to the
    // daemon path at once, rather than sending into a port that no longer forwards.
    if (link.kernelPort !== undefined && link.kernelPort !== port) this.daemonPath(link);
    if (port !== undefined && this.clock.now() >= link.kernelRetryAt) void this.bindKernel(link, port);
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
    // One exchange per link at a time; an offer for another relay or port replaces it (the
    // older loop stops at its next step).
    const target = `${link.relay.hex}:${port}`;
    if (link.binding === target) return;
    link.binding = target;
    const relay = link.relay;
    const current = () => !this.closed && link.relay === relay && link.binding === target && this.links.get(link.peerHex) === link;
    let answered = false;
    try {
      const tries = link.kernelPort === port ? 3 : RELAY_BIND_TRIES;
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
        await new Promise<void>((r) => this.clock.setTimeout(r, RELAY_BIND_INTERVAL));
      }
      if (current()) {
        this.daemonPath(link);
        if (!answered) link.kernelRetryAt = this.clock.now() + RELAY_BIND_BACKOFF;
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
  private async renewAll(): Promise<void> {
    for (const link of [...this.links.values()]) {
      if (this.closed) return;
      const r = await this.rpc.request(link.relay.addr, link.relay.key, (x) => ({ t: 'relay-open', x, k: link.peerKey }), { timeout: 700, retries: 1 });
      if (r?.msg.t === 'relay-ok') { link.confirmedAt = this.clock.now(); this.offered(link, r.msg.p); continue; }
      const dead = link.relay.hex;
      for (const next of this.host.relayCandidates([dead, link.peerHex])) {
        const ok = await this.rpc.request(next.addr, next.key, (x) => ({ t: 'relay-open', x, k: link.peerKey }), { timeout: 700, retries: 1 });
        if (ok?.msg.t !== 'relay-ok') continue;
        // Tell the peer (the new relay notifies it, and it opens its half there).
        void this.puncher.punchReq(next, link.peerKey);
        link.switchTo(next);
        link.confirmedAt = this.clock.now();
        this.host.log.warn(`relay: ${link.peerHex.slice(0, 8)} moved from ${dead.slice(0, 8)} to ${next.hex.slice(0, 8)} (${addrKey(next.addr)})`);
        this.host.relayReady(link.peerHex, link);
        this.offered(link, ok.msg.p);
        break;
      }
    }
  }
}

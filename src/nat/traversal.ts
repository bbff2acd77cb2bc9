// Getting through NATs (docs/NAT.md "Through NATs"): the node's NAT and relay roles put
// together on its DHT, which hands them the message types it does not handle itself:
// - the rendezvous (src/nat/rendezvous.ts): `punch-req` → `punch-notify` + `punch-ok`;
// - the reach checker (src/nat/reachcheck.ts, only nodes directly reachable): `reach`;
// - the relay server (src/relay/server.ts, only nodes directly reachable): `relay-open`,
//   `relay-close`, `relay` forwarding, the kernel path (src/relay/kernel.ts);
// - the punch client (src/nat/punch.ts): asking rendezvous nodes to coordinate a punch,
//   acting on a `punch-notify` (only with the peer's own sealed introduction);
// - the relay client (src/relay/client.ts): the relay links to our peers (`relayed`),
//   renewed every RELAY_RENEW, moved when a relay stops answering, bound to the kernel path.
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import { addrKey, type Addr } from '../proto/addr.js';
import type { Message, MessageOf } from '../proto/messages.js';
import type { Transport } from '../net/transport.js';
import type { WsRelayPorts } from '../net/wsrelayport.js';
import { RateLimiter } from '../util/ratelimit.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { PUNCH_REQ_BURST, PUNCH_REQ_PER_SEC, RATE_LIMIT_SOURCES, RELAY_RENEW } from '../params.js';
import type { RelaySessions } from '../relay/sessions.js';
import type { OpenRelayEndpoint, RelayLink, RelayRef } from '../relay/link.js';
import type { KernelForwardDeps, KernelRelay } from '../relay/kernel.js';
import { relayExemption } from '../relay/exempt.js';
import { RelayServer } from '../relay/server.js';
import { RelayClient } from '../relay/client.js';
import { Puncher, reachable, type Notice } from './punch.js';
import { Rendezvous } from './rendezvous.js';
import { ReachChecker } from './reachcheck.js';

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
  /** A directly reached peer relays to us: drop that direct path if it is silent (src/relay/client.ts). */
  directFailing?(hex: string): boolean;
  /** Whether a node may coordinate punches and relay for us: a boot node, or a directly
   *  reachable node verified in our table. Anyone else's punch-notify or relayed is ignored. */
  isRendezvous(hex: string): boolean;
  /** Relay candidates other than `exclude`: directly reachable DHT nodes we know. */
  relayCandidates(exclude: string[]): RelayRef[];
  /** The system's support for relaying in the kernel; absent: relay through the daemon only. */
  forward?: KernelForwardDeps;
  /** Binds a UDP socket on a fresh port (for `reach` checks); absent: this node checks nothing. */
  openPort?: () => Promise<{ port: number; transport: Transport }>;
  /** Opens a relay link's loopback socket (default: a real one, src/relay/link.ts). */
  openRelayEndpoint?: OpenRelayEndpoint;
  /** The node's WebSocket transports that carry relayed frames (WS_TO/WS_FROM); absent: none. */
  ws?: WsRelayPorts;
  /** Whether a key is the alias key of one of our pending invitations: we act on its punches
   *  (only those: it gets no relay link and no WireGuard peer). */
  isInvited?(hex: string): boolean;
  /** Handles an `alias` request (src/daemon/invites.ts); absent: counted unhandled. */
  onAlias?(req: Incoming, m: MessageOf<'alias'>, maxSize: number): number;
  /** A whole sealed DHT frame relayed to us (src/relay/client.ts); absent: dropped and counted. */
  onRelayedFrame?(inc: Incoming, m: MessageOf<'relayed'>): boolean;
}

export class Traversal {
  private readonly clock: Clock;
  private readonly puncher: Puncher;
  private readonly rendezvous: Rendezvous;
  private readonly checker: ReachChecker;
  private readonly server: RelayServer;
  private readonly client: RelayClient;
  private renewTimer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly host: TraversalHost) {
    this.clock = host.clock;
    // Punch requests and reach checks share one per-source limit.
    const limiter = new RateLimiter(PUNCH_REQ_PER_SEC, PUNCH_REQ_BURST, RATE_LIMIT_SOURCES);
    this.puncher = new Puncher({ ...host, isTrusted: (hex) => host.isTrusted(hex) || (host.isInvited?.(hex) ?? false) });
    this.rendezvous = new Rendezvous(host.dht, limiter);
    this.checker = new ReachChecker(host, limiter);
    const ws = host.ws;
    this.server = new RelayServer({ ...host, ...(ws ? { wsFrom: (to, key, data) => ws.send(to, key, data), wsCarries: (a) => ws.carries(a) } : {}) });
    this.client = new RelayClient({
      ...host,
      notifyPeer: (relay, peerKey) => void this.puncher.punchReq(relay, peerKey),
      introducedVia: (peerHex, relayHex) => this.puncher.introducedVia(peerHex, relayHex),
    });
    // Relay traffic passes the per-source packet limit, and only it (src/relay/exempt.ts).
    host.dht.rpc.isExempt = relayExemption(this.sessions, () => this.links.values(), () => this.clock.now());
    // Relayed frames over WebSocket: WS_TO to the relay server, WS_FROM to the relay client.
    ws?.setReceiver((type, from, key, data) => {
      if (this.closed) return false;
      if (type === 'to') return this.server.onWsTo(from, key, data, this.clock.now());
      this.client.onWsFrom(from, key, data);
      return true;
    });
    ws?.setCloseReceiver((addr) => { if (!this.closed) this.server.onWsClosed(addr); });
    host.dht.extend({ request: (req, max) => this.onRequest(req, max), oneWay: (m) => this.onOneWay(m) });
    const renew = () => {
      this.renewTimer = this.clock.setTimeout(() => { if (this.closed) return; renew(); void this.client.renewAll(); void this.kernel?.sync(); }, RELAY_RENEW);
    };
    renew();
  }

  /** As a relay: the sessions open. */
  get sessions(): RelaySessions {
    return this.server.sessions;
  }

  /** As a relay: the kernel path, where the system allows it. */
  get kernel(): KernelRelay | undefined {
    return this.server.kernel;
  }

  /** As a client: the relay links to our peers, by peer key hex. */
  get links(): Map<string, RelayLink> {
    return this.client.links;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.puncher.closed = true;
    this.checker.closed = true;
    if (this.renewTimer) this.clock.clearTimeout(this.renewTimer);
    this.client.close();
    await this.server.close();
  }

  private onRequest(req: Incoming, maxSize: number): number | undefined {
    const m = req.msg;
    const now = this.clock.now();
    const reply = (msg: Message) => this.host.dht.rpc.send(req.from, req.sender, msg, maxSize);
    switch (m.t) {
      case 'punch-req': return this.rendezvous.onPunchReq(req, m, reply, now);
      case 'punch-notify': {
        const { sent, notice } = this.puncher.notified(req, m, reply);
        // The address may be the rendezvous's word (an intro without `a`): never this host's own
        // loopback or an unspecified address.
        if (notice) void this.notified(reachable(notice.addr) ? notice : { ...notice, probes: 0 });
        return sent;
      }
      case 'reach': return this.checker.onReach(req, m, reply, now);
      case 'relay-close': return this.server.onRelayClose(req, m, reply);
      case 'relay-open': return this.server.onRelayOpen(req, m, reply, now);
      case 'alias': return this.host.onAlias?.(req, m, maxSize);
      default: return undefined;
    }
  }

  private onOneWay(inc: Incoming): boolean {
    const m = inc.msg;
    if (m.t === 'relay') { this.server.onRelay(inc, m, this.clock.now()); return true; }
    if (m.t === 'relayed') { this.client.onRelayed(inc, m); return true; }
    return false;
  }

  /** The other side asked (through `rendezvous`) to punch: probe its address, and be ready to relay. */
  private async notified({ peerKey, addr, rendezvous, probes, throttled }: Notice): Promise<void> {
    this.host.log.debug(`punch: ${toHex(peerKey).slice(0, 8)} asked through ${addrKey(rendezvous.addr)}; ${probes > 0 ? `probing ${addrKey(addr)}` : 'no probes'}`);
    // With a port mapping, our observed address (from the rendezvous's view) may not be the one
    // that takes traffic in: tell the peer the mapped one, through the same rendezvous.
    const announce = this.host.announceAddr();
    if (announce && !throttled) void this.puncher.punchReq(rendezvous, peerKey, announce);
    // Our half of a relay session there, even for a throttled notify: the peer's relay link
    // may go through this rendezvous while its punch went through another.
    this.client.follow(rendezvous, peerKey);
    if (probes > 0) await this.puncher.probe(peerKey, addr, () => false, probes);
  }

  /** Coordinates a punch with `peerKey` through rendezvous nodes (src/nat/punch.ts);
   *  `onAccepted(via)` at the first punch-ok, before the probes. */
  punch(peerKey: Uint8Array, rendezvous: RelayRef[], done: () => boolean, onAccepted?: (via: RelayRef) => void): Promise<{ direct: boolean; via?: RelayRef }> {
    return this.puncher.punch(peerKey, rendezvous, done, onAccepted);
  }

  /** Opens (or reuses) a relay link for a peer through `relay` (src/relay/client.ts). */
  openLink(peerKey: Uint8Array, relay: RelayRef, announce = true): Promise<RelayLink | undefined> {
    return this.client.openLink(peerKey, relay, announce);
  }

  /** Renews every relay link now (the underlay changed: src/daemon/wsfallback.ts). */
  renewNow(): Promise<void> {
    return this.closed ? Promise.resolve() : this.client.renewAll();
  }

  closeLink(peerHex: string): void {
    this.client.closeLink(peerHex);
  }
}

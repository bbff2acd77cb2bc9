// The WireHub daemon: one per node. It runs the DHT on the node's shared UDP port, keeps the
// WireGuard peers of the trusted nodes in step with where the DHT finds them, and answers the
// CLI on the control socket. Public nodes (a config without `trust` lines) run the DHT only.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Sodium } from '../crypto/sodium.js';
import { keyToBase64 } from '../crypto/keys.js';
import { loadConfig, type NetworkConfig, type Peer } from '../config/index.js';
import { DhtNode, type BootNode } from '../dht/node.js';
import { toHex } from '../dht/id.js';
import { UdpTransport } from '../net/udp.js';
import { addrKey, type Addr } from '../proto/addr.js';
import {
  ADDRESS_CHECK_INTERVAL, NAT_CHECK_INTERVAL, NAT_CHECK_NODES, NAT_KEEPALIVE_SECONDS, PEER_TICK, PING_PAD_TO, PORTMAP_DISCOVER_TIMEOUT,
  PORTMAP_LEASE_SECONDS, PORTMAP_RETRY, REACH_CHECKS_PER_ROUND, REACH_TIMEOUT,
} from '../params.js';
import os from 'node:os';
import { classifyNat, type NatSample, type NatVerdict } from '../nat/classify.js';
import { Traversal } from '../nat/traversal.js';
import { ReachVerdicts } from '../nat/reach.js';
import { PortMapper, type MapResult } from '../nat/upnp.js';
import type { RelayLink, RelayRef } from '../relay/link.js';
import { realClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ControlServer } from '../control/server.js';
import { socketPath, type ControlRequest } from '../control/protocol.js';
import { describePath, PeerTracker, type PeerState, type TrustedPeer } from './peers.js';
import { HandshakeWatch, hasSession } from './handshake.js';
import { PathGuard } from './guard.js';
import type { ShowPeer, ShowResult } from './show.js';

export type { ShowPeer, ShowResult } from './show.js';
import type { WgPeerConfig } from '../wg/types.js';
import type { SystemDeps } from './dataplane.js';
import { SupervisedDataPlane } from './supervise.js';
import { BootContact, type BootStatus } from './contact.js';
import { ResolveError, resolveSeeds, resolveTrustEndpoints, seedDiff, seedLabel, seedsOf, systemLookup, type Seed } from './seeds.js';
import { portShareTableName as portShareTable } from '../firewall/index.js';

export interface DaemonOptions {
  sodium: Sodium;
  configPath: string;
  config: NetworkConfig;
  secret: Uint8Array;
  iface: string;
  /** The node's UDP port: WireGuard's, shared with the daemon through nftables. */
  listenPort: number;
  /** Where the daemon's socket really listens (the nftables rules steer its packets there). */
  daemonPort: number;
  log: Logger;
  deps: SystemDeps;
  /** Bind address for the daemon socket (default 0.0.0.0). */
  bindHost?: string;
  /** The one clock of all the daemon's timing (default realClock: monotonic). */
  clock?: Clock;
}

export class DaemonError extends Error {}

/** This host's IP addresses, sorted (what NAT detection compares observed addresses with). */
function localAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flat().filter((i) => i !== undefined).map((i) => i!.address).sort();
}

/** UDP discard port: where handshake-triggering datagrams go (the peer ignores them). */
const DISCARD_PORT = 9;

/** The trusted peers of a config, as the tracker wants them (ourselves excluded). */
export function trustedPeersOf(config: NetworkConfig, selfB64: string): TrustedPeer[] {
  return config.peers.filter((p) => p.trusted && p.keyB64 !== selfB64).map((p) => toTrusted(p));
}

function toTrusted(p: Peer): TrustedPeer {
  const t: TrustedPeer = { keyB64: p.keyB64, key: p.key };
  if (p.hostname !== undefined) t.hostname = p.hostname;
  if (p.ipv4 !== undefined) t.ipv4 = p.ipv4;
  if (p.ipv6 !== undefined) t.ipv6 = p.ipv6;
  if (p.endpoint !== undefined && isIP(p.endpoint.host)) t.endpoint = { host: p.endpoint.host, port: p.endpoint.port };
  return t;
}

export function allowedIpsOf(p: TrustedPeer): string[] {
  return [...(p.ipv4 ? [`${p.ipv4}/32`] : []), ...(p.ipv6 ? [`${p.ipv6}/128`] : [])];
}

/** This node's own overlay addresses with the subnets' prefix lengths. */
export function ownAddresses(config: NetworkConfig, self: Peer): string[] {
  const out: string[] = [];
  if (self.ipv4 && config.subnets.v4) out.push(`${self.ipv4}/${config.subnets.v4.prefix}`);
  if (self.ipv6 && config.subnets.v6) out.push(`${self.ipv6}/${config.subnets.v6.prefix}`);
  return out;
}

export function isPublicNodeConfig(config: NetworkConfig): boolean {
  return !config.peers.some((p) => p.trusted);
}

export class Daemon {
  private tracker: PeerTracker;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** The one clock of all the daemon's timing: monotonic (a step of the wall clock changes nothing). */
  private readonly clock: Clock;
  private readonly started: number;
  private readonly guard: PathGuard;
  readonly publicB64: string;
  private config: NetworkConfig;
  private stopped: Promise<void> | undefined;
  private pokeSocket: dgram.Socket | undefined;
  private traversal!: Traversal;
  private boots: BootNode[] = [];
  /** What each boot node did with us (answered, refused our key's workbit, silent). */
  private contact: BootContact | undefined;
  /** Which nodes' claims to be directly reachable were confirmed by a checker. */
  readonly claims = new ReachVerdicts();
  private verifying = false;
  private readonly handshakes: HandshakeWatch;
  private watchingWg = false;
  /** The last WireGuard configuration asked for each peer (by key hex), and the queue of its
   *  WireGuard changes. */
  private readonly wanted = new Map<string, WgPeerConfig>();
  private readonly peerOps = new Map<string, Promise<void>>();
  nat: NatVerdict = { type: 'unknown', observed: [], responders: 0 };
  private natTimer: NodeJS.Timeout | undefined;
  private mapper: PortMapper | undefined;
  /** The gateway's port mapping of our UDP port (UPnP IGD / NAT-PMP), when we have one. */
  mapping: MapResult | undefined;
  private portmapTriedAt = -Infinity;
  private ticks = 0;
  private addressSig: string | undefined;
  onStopped: (() => void) | undefined;
  /** Why the node stopped by itself (its data plane could not be recreated): the process then
   *  exits non-zero. */
  failure: string | undefined;

  private constructor(
    private readonly opts: DaemonOptions,
    readonly dht: DhtNode,
    private readonly transport: UdpTransport,
    private readonly wg: SupervisedDataPlane | undefined,
    private control: ControlServer | undefined,
  ) {
    this.config = opts.config;
    this.clock = opts.clock ?? realClock;
    this.started = this.clock.now();
    this.publicB64 = keyToBase64(dht.id);
    this.handshakes = new HandshakeWatch(dht.hex);
    this.tracker = new PeerTracker(trustedPeersOf(this.config, this.publicB64), this.clock.now());
    this.guard = new PathGuard({
      tracker: this.tracker, poke: (st) => this.poke(st.peer), recreate: (hex) => this.recreate(hex), count: (w) => this.dht.counters.add(w),
      pathDied: (st, why) => {
        this.opts.log.warn(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)} dropped: ${why}; searching again`);
        if (st.path === 'relay') this.traversal.closeLink(toHex(st.peer.key));
      },
    }, localAddresses, () => this.mapping?.externalIp);
  }

  /** Starts everything; on any failure, undoes what was done and throws. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { config, log } = opts;
    const selfB64 = keyToBase64(opts.sodium.crypto_scalarmult_base(opts.secret));
    const self = config.peers.find((p) => p.keyB64 === selfB64);
    const publicNode = isPublicNodeConfig(config);
    if (!publicNode && (self === undefined || !self.trusted)) {
      throw new DaemonError(`${config.file}: this node's key ${selfB64} has no trust line; add one, or use a config without trust lines for a public DHT node`);
    }
    const undo: (() => Promise<void>)[] = [];
    const rollback = async (): Promise<void> => {
      for (const f of undo.reverse()) await f().catch((e: unknown) => log.warn(`cleanup: ${String(e)}`));
    };
    try {
      let wg: SupervisedDataPlane | undefined;
      // A public node has no WireGuard: its DHT socket owns the port itself.
      const dhtPort = publicNode ? opts.listenPort : opts.daemonPort;
      const transport = await UdpTransport.bind(opts.bindHost ?? '0.0.0.0', dhtPort).catch((e: NodeJS.ErrnoException) => {
        throw new DaemonError(e.code === 'EADDRINUSE' ? `UDP port ${dhtPort} is already in use` : `cannot bind UDP port ${dhtPort}: ${e.message}`);
      });
      undo.push(async () => transport.close());
      if (!publicNode && self !== undefined) {
        const plane = { name: opts.iface, privateKey: keyToBase64(opts.secret), listenPort: opts.listenPort, addresses: ownAddresses(config, self), log: (l: string) => log.info(`wireguard: ${l}`) };
        wg = await SupervisedDataPlane.start({ create: () => opts.deps.createDataPlane(plane), log, clock: opts.clock ?? realClock });
        undo.push(() => wg!.destroy());
        await opts.deps.installPortShare({ table: portShareTable(opts.iface), wgPort: opts.listenPort, daemonPort: opts.daemonPort });
        undo.push(() => opts.deps.removePortShare(portShareTable(opts.iface)));
        for (const p of trustedPeersOf(config, selfB64)) {
          await wg.setPeer({ publicKey: p.keyB64, allowedIps: allowedIpsOf(p), ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}) });
        }
      }
      // (A kernel forwarding table left by a killed run was removed by `wh up` with the other
      // leftovers; the first install replaces the table anyway.)
      const forward = opts.deps.relayForward?.(portShareTable(opts.iface));
      let daemon: Daemon | undefined;
      const dht = new DhtNode({
        sodium: opts.sodium, secret: opts.secret, workbit: config.workbit, namespace: config.namespace,
        transport, clock: opts.clock ?? realClock, direct: publicNode,
        onVerified: (id, addr, rtt, seenAs) => { daemon?.contact?.heard(toHex(id)); daemon?.heard(id, addr, rtt, seenAs); },
        isKnown: (hex) => daemon?.tracker.get(hex) !== undefined,
      });
      undo.push(async () => dht.close());
      daemon = new Daemon(opts, dht, transport, wg, undefined);
      const d = daemon;
      if (wg) {
        wg.onRestored = () => d.dataPlaneRestored();
        wg.onFailed = (why) => { d.failure ??= `data plane: ${why}`; void d.stop(); };
      }
      d.traversal = new Traversal({
        dht, log, clock: d.clock, wgPort: wg ? opts.listenPort : undefined,
        isTrusted: (hex) => d.tracker.get(hex) !== undefined,
        canRelay: () => publicNode || d.nat.type === 'none',
        relayReady: (hex, link) => void d.relayReady(hex, link),
        relayCandidates: (exclude) => d.relayCandidates(exclude),
        isRendezvous: (hex) => d.relayCandidates([]).some((r) => r.hex === hex),
        isDirect: (hex) => d.tracker.get(hex)?.path === 'direct',
        announceAddr: () => (d.mapping?.externalIp ? { host: d.mapping.externalIp, port: d.mapping.externalPort } : undefined),
        ...(forward ? { forward } : {}),
        ...(opts.deps.openPort ? { openPort: () => opts.deps.openPort!() } : {}),
      });
      undo.push(() => d.traversal.close());
      daemon.control = await ControlServer.listen(socketPath(opts.iface), (req) => daemon!.handle(req));
      log.info(`${opts.iface}: ${publicNode ? 'public DHT node' : `overlay ${ownAddresses(config, self!).join(' ')}`}, key ${selfB64}, UDP port ${opts.listenPort}${publicNode ? '' : ` (daemon socket ${opts.daemonPort})`}`);
      void daemon.bootstrap();
      daemon.timer = setInterval(() => daemon!.tick(), PEER_TICK);
      return daemon;
    } catch (err) {
      await rollback();
      throw err;
    }
  }

  /** Resolves seeds (src/daemon/seeds.ts): boot lines become rendezvous/relay candidates. */
  private async resolveSeeds(seeds: Seed[]): Promise<BootNode[]> {
    const { nodes, failed } = await resolveSeeds(seeds, systemLookup);
    for (const f of failed) this.opts.log.warn(f);
    this.boots.push(...nodes.filter((n) => n.seed.boot).map((n) => ({ key: n.key, addr: n.addr })));
    return nodes.map((n) => ({ key: n.key, addr: n.addr }));
  }

  private async bootstrap(): Promise<void> {
    const boots = await this.resolveSeeds(seedsOf(this.config, this.publicB64));
    const contact = this.contact = new BootContact(this.opts.sodium, this.dht.channel.publicKey, this.boots);
    this.dht.rpc.onRefusal = (r, from) => { const m = contact.refused(r, from); if (m !== undefined) this.opts.log.warn(m); };
    const joining = this.dht.bootstrap(boots);
    // The NAT check (and the port mapping it may ask for) needs only boot nodes: it starts as
    // soon as one answered, not after the join's lookups, which take seconds when some node
    // they meet does not answer (one behind a NAT). A peer's punch in the meantime then
    // already finds our port mapping.
    let joined = false;
    void joining.finally(() => { joined = true; });
    while (!joined && !this.stopping && this.dht.table.size === 0) await new Promise((r) => setTimeout(r, 20));
    await this.checkNat();
    const answered = await joining;
    this.opts.log.info(`bootstrap: ${answered}/${boots.length} boot nodes answered, ${this.dht.table.size} nodes known`);
    for (const m of contact.joined()) this.opts.log.warn(m);
    if (!this.stopping) {
      this.natTimer = setInterval(() => void this.checkNat(), NAT_CHECK_INTERVAL);
    }
  }

  /** Directly reachable nodes we know: boot nodes first (the configuration vouches for them),
   *  then nodes whose claim to be direct a checker confirmed. Rendezvous and relay candidates. */
  relayCandidates(exclude: string[]): RelayRef[] {
    const out: RelayRef[] = [];
    const seen = new Set([...exclude, this.dht.hex]);
    for (const b of this.boots) {
      const hex = toHex(b.key);
      if (!seen.has(hex)) { seen.add(hex); out.push({ key: b.key, hex, addr: b.addr }); }
    }
    const now = this.clock.now();
    for (const e of this.dht.table.entries()) {
      if (e.direct && !seen.has(e.hex) && this.tracker.get(e.hex) === undefined && this.claims.confirmed(e.hex, e.addr, now)) {
        seen.add(e.hex);
        out.push({ key: e.id, hex: e.hex, addr: e.addr });
      }
    }
    return out;
  }

  /**
   * Has the direct claims of nodes in our table checked (src/nat/reach.ts): a checker (a boot
   * node or a confirmed node, never the claimant) pings the claimant from a fresh port. Only
   * confirmed claimants become rendezvous and relays. A few claims per round, one at a time.
   */
  private async verifyClaims(): Promise<void> {
    if (this.verifying || this.stopping) return;
    this.verifying = true;
    try {
      const bootHex = new Set(this.boots.map((b) => toHex(b.key)));
      const keys = new Map<string, Uint8Array>();
      const claims = this.dht.table.entries()
        .filter((e) => e.direct && !bootHex.has(e.hex) && this.tracker.get(e.hex) === undefined)
        .map((e) => { keys.set(e.hex, e.id); return { hex: e.hex, addr: e.addr }; });
      for (const c of this.claims.due(claims, this.clock.now(), REACH_CHECKS_PER_ROUND)) {
        let verdict: boolean | undefined;
        for (const checker of this.relayCandidates([c.hex]).slice(0, 2)) {
          if (this.stopping) return;
          const r = await this.dht.rpc.request(checker.addr, checker.key, (x) => ({ t: 'reach', x, k: keys.get(c.hex)!, a: c.addr }),
            { padTo: PING_PAD_TO, timeout: REACH_TIMEOUT + 500, retries: 0 });
          if (r?.msg.t === 'reach-ok') { verdict = r.msg.r === 1; break; }
        }
        if (verdict === undefined) {
          this.claims.untested(c, this.clock.now());
        } else {
          this.claims.record(c, verdict, this.clock.now());
          if (!verdict) this.opts.log.info(`node ${c.hex.slice(0, 8)} (${addrKey(c.addr)}) says it is directly reachable, but a checker's ping from a fresh port got no answer: not used as rendezvous or relay`);
        }
      }
    } finally {
      this.verifying = false;
    }
  }

  /**
   * Asks a few directly reachable nodes where they see us, and classifies our NAT. For a node
   * behind a NAT the same pings keep its mappings to those nodes open (they are the rendezvous
   * and relays its peers will use).
   */
  private async checkNat(): Promise<void> {
    if (this.stopping) return;
    if (isPublicNodeConfig(this.config)) {
      this.nat = { type: 'none', observed: [], responders: 0 };
      return;
    }
    const targets = this.relayCandidates([]).slice(0, NAT_CHECK_NODES);
    const replies = await Promise.all(targets.map((t) => this.dht.ping(t.key, t.addr)));
    const samples: NatSample[] = [];
    for (const r of replies) if (r !== undefined && r.msg.t === 'pong') samples.push({ responder: r.from, observed: r.msg.a });
    const localIps = localAddresses();
    const before = this.nat.type;
    this.nat = classifyNat(samples, { localIps, localPort: this.opts.listenPort, attempted: targets.length });
    if (this.nat.type !== 'none' && this.nat.type !== 'blocked') await this.ensurePortMapping();
    this.dht.direct = this.nat.type === 'none' || this.mapping !== undefined;
    void this.verifyClaims();
    if (before !== this.nat.type) {
      this.opts.log.info(`NAT: ${this.nat.type}${this.nat.publicAddr ? ` (public address ${addrKey(this.nat.publicAddr)})` : ''}`);
      for (const st of this.tracker.all()) if (st.path === 'direct') void this.applyEndpoint(st);
    }
  }

  /**
   * Behind a NAT, asks the gateway (UPnP IGD v2/v1, NAT-PMP) to map our UDP port, and keeps the
   * mapping renewed; removed again on stop. Without a gateway we try again every PORTMAP_RETRY.
   */
  private async ensurePortMapping(): Promise<void> {
    if (this.mapper !== undefined || this.stopping || this.clock.now() - this.portmapTriedAt < PORTMAP_RETRY) return;
    this.portmapTriedAt = this.clock.now();
    const log = this.opts.log;
    const mapper = await PortMapper.discover({ timeoutMs: PORTMAP_DISCOVER_TIMEOUT, log: (l) => log.debug(`portmap: ${l}`) });
    if (mapper === undefined) { log.debug('portmap: no UPnP IGD or NAT-PMP gateway answered'); return; }
    if (this.stopping) { await mapper.close(); return; }
    try {
      this.mapping = await mapper.map({ internalPort: this.opts.listenPort, externalPort: this.opts.listenPort, protocol: 'udp', leaseSeconds: PORTMAP_LEASE_SECONDS, description: `WireHub ${this.opts.iface}` });
      this.mapper = mapper;
      if (this.stopping) { await mapper.close().catch(() => undefined); return; }
      mapper.keepMapped({
        onRenew: (_port, r) => { this.mapping = r; },
        onError: (e) => log.warn(`portmap: renewal failed: ${e.message}`),
      });
      log.info(`portmap: ${this.mapping.method} maps ${this.mapping.externalIp ?? '?'}:${this.mapping.externalPort} to our port ${this.opts.listenPort} (lease ${this.mapping.lease} s)`);
    } catch (e) {
      log.warn(`portmap: ${mapper.method} refused the mapping: ${e instanceof Error ? e.message : String(e)}`);
      await mapper.close().catch(() => undefined);
    }
  }

  /** WireGuard keepalive: on behind a NAT (to hold the mapping open), off on a public node. */
  private keepalive(): number {
    return this.nat.type === 'none' ? 0 : NAT_KEEPALIVE_SECONDS;
  }

  /** A relay link for a peer is ready, or moved: WireGuard talks to its loopback endpoint. */
  private async relayReady(hex: string, link: RelayLink): Promise<void> {
    const st = this.tracker.get(hex);
    if (st === undefined || this.wg === undefined || this.stopping) { this.traversal.closeLink(hex); return; }
    if (st.path === 'direct') { this.traversal.closeLink(hex); return; } // a direct path won meanwhile
    this.tracker.relayed(hex, keyToBase64(link.relay.key), link.relay.addr, this.clock.now());
    this.opts.log.info(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)}`);
    await this.setEndpoint(hex, { publicKey: st.peer.keyB64, endpoint: link.endpoint, allowedIps: allowedIpsOf(st.peer), keepalive: NAT_KEEPALIVE_SECONDS })
      .catch((e: unknown) => this.opts.log.error(`peer ${st.peer.keyB64}: cannot set relay endpoint: ${String(e)}`));
  }

  /** Gives WireGuard a peer's endpoint and watches that a handshake follows. The side with the
   *  smaller key makes its WireGuard initiate at once; the other waits for that initiation
   *  (two crossing initiations fail both, src/daemon/handshake.ts) and initiates only if none
   *  came (the repair). */
  private async setEndpoint(hex: string, config: WgPeerConfig): Promise<void> {
    const st = this.tracker.get(hex);
    if (this.wg === undefined || st === undefined) return;
    this.wanted.set(hex, config);
    await this.peerOp(hex, () => this.wg!.setPeer(config));
    this.guard.endpointSet(hex);
    if (this.dht.hex < hex) this.poke(st.peer);
    this.handshakes.expect(hex, this.clock.now());
  }

  /** Runs WireGuard changes of one peer one after the other, in the order they were asked for
   *  (two `wg set` of the same peer in flight could otherwise land in either order). */
  private peerOp(hex: string, op: () => Promise<void>): Promise<void> {
    const next = (this.peerOps.get(hex) ?? Promise.resolve()).then(op, op);
    const tail = next.catch(() => undefined);
    this.peerOps.set(hex, tail);
    void tail.then(() => { if (this.peerOps.get(hex) === tail) this.peerOps.delete(hex); });
    return next;
  }

  /** One WireGuard dump per tick: judges the peers' paths by WireGuard's counters
   *  (src/daemon/guard.ts), and repairs the handshakes of peers that got an endpoint a moment
   *  ago and still have no session (they probably crossed, src/daemon/handshake.ts). */
  private async watchWireGuard(): Promise<void> {
    if (this.watchingWg || this.wg === undefined || this.wg.state !== 'up' || this.stopping) return;
    this.watchingWg = true;
    try {
      const dump = await this.wg.dump();
      await this.guard.sample(dump, this.clock.now());
      for (const hex of this.handshakes.due(this.clock.now())) {
        const st = this.tracker.get(hex);
        if (st === undefined || this.stopping || !this.wanted.has(hex)) continue;
        const w = dump.peers.find((p) => p.publicKey === st.peer.keyB64);
        // (WireGuard's handshake times are wall-clock: the one place the daemon reads it.)
        if (w !== undefined && (this.guard.live.handshakeSinceSet(hex) || hasSession(w.latestHandshake, Date.now()))) continue;
        this.opts.log.debug(`peer ${st.peer.hostname ?? st.peer.keyB64}: no handshake yet; re-creating the WireGuard peer`);
        await this.recreate(hex);
      }
    } catch (e) {
      this.opts.log.warn(`wireguard: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.watchingWg = false;
    }
  }

  /** Re-creates a peer in WireGuard with the configuration wanted now (fresh handshake state), and pokes it. */
  private async recreate(hex: string): Promise<void> {
    const st = this.tracker.get(hex);
    if (st === undefined || this.wg === undefined) return;
    await this.peerOp(hex, async () => {
      const config = this.wanted.get(hex);
      if (config === undefined) return; // removed by a reload meanwhile
      await this.wg!.removePeer(config.publicKey);
      await this.wg!.setPeer(config);
    });
    this.poke(st.peer);
  }

  /** A node answered us directly: if it is a trusted peer whose answer passes the path check
   *  (src/daemon/pathcheck.ts), that is where it is. A boot node's pong says where we are. */
  private heard(id: Uint8Array, addr: Addr, rtt: number | undefined, seenAs: Addr | undefined): void {
    const hex = toHex(id);
    const now = this.clock.now();
    if (seenAs !== undefined && this.boots.some((b) => toHex(b.key) === hex)) this.guard.self.observed(seenAs.host, now);
    const st = this.tracker.get(hex);
    if (st === undefined) return;
    const why = this.guard.judge(st, hex, addr, seenAs, now);
    if (why !== undefined) {
      if (why !== 'no-view') this.opts.log.debug(`peer ${st.peer.hostname ?? st.peer.keyB64}: answer from ${addrKey(addr)} not taken (${why})`);
      return;
    }
    if (this.tracker.located(hex, addr, now, rtt)) {
      void this.applyEndpoint(st).then(() => this.traversal?.closeLink(hex));
    }
  }

  private tick(): void {
    if (this.stopping) return;
    // A new local address (another network, a DHCP renewal) means a new NAT situation: re-check now.
    if (++this.ticks % Math.max(1, Math.round(ADDRESS_CHECK_INTERVAL / PEER_TICK)) === 0) {
      const sig = localAddresses().join(',');
      if (this.addressSig !== undefined && sig !== this.addressSig) {
        this.opts.log.info(`local addresses changed (${sig}); re-checking the NAT`);
        void this.checkNat();
      }
      this.addressSig = sig;
    }
    for (const st of this.tracker.due(this.clock.now())) void this.visit(st);
    void this.watchWireGuard();
  }

  /** Searches a peer that is not located (or only relayed), or checks one that is. */
  private async visit(st: PeerState): Promise<void> {
    const hex = toHex(st.peer.key);
    const isDirect = () => this.tracker.get(hex)?.path === 'direct';
    try {
      if (st.path === 'direct' && st.endpoint) {
        const reply = await this.dht.ping(st.peer.key, st.endpoint);
        if (this.stopping) return;
        if (reply === undefined) this.tracker.checkFailed(hex, this.clock.now());
        return; // an answer went through heard() already (which drops the path if it fails the check)
      }
      // 1. Where the config or the DHT says it is: an answer there locates it (heard()).
      const candidates: Addr[] = [];
      if (st.peer.endpoint) candidates.push(st.peer.endpoint);
      const r = await this.dht.findNode(st.peer.key);
      if (this.stopping) return;
      if (r.found && !candidates.some((c) => addrKey(c) === addrKey(r.found!))) candidates.push(r.found);
      // (An answer that fails the path check locates nothing: go on.)
      for (const c of candidates) {
        await this.dht.ping(st.peer.key, c);
        if (isDirect() || this.stopping) return;
      }
      // 2. Through NATs: a rendezvous tells the peer, and both sides probe each other.
      if (this.wg !== undefined) {
        const rendezvous = this.relayCandidates([hex]);
        const punched = await this.traversal.punch(st.peer.key, rendezvous, isDirect);
        if (this.stopping || isDirect()) return;
        // 3. No direct path: relay (through the rendezvous that reached the peer, else another).
        // Only once a rendezvous knew the peer (it is up and reachable from there).
        // Not while held: a relay path to this peer died unanswered lately (a relay opened
        // from a stale DHT entry reaches no one).
        if (st.path !== 'relay' && punched.via !== undefined && this.tracker.mayRelay(hex, this.clock.now())) {
          const relays = [punched.via, ...rendezvous.filter((x) => x.hex !== punched.via!.hex)];
          for (const relay of relays.slice(0, 3)) {
            if ((await this.traversal.openLink(st.peer.key, relay)) !== undefined) break;
          }
        }
      }
      const now = this.clock.now();
      // (searchFailed ignores a peer that got located meanwhile, through heard().)
      if (this.tracker.get(hex)?.path === 'relay') this.tracker.directFailed(hex, now);
      else this.tracker.searchFailed(hex, now);
    } catch (e) {
      this.opts.log.warn(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.tracker.release(hex);
    }
  }

  private async applyEndpoint(st: PeerState): Promise<void> {
    if (this.wg === undefined || st.endpoint === undefined || this.stopping) return;
    const endpoint = addrKey(st.endpoint);
    this.opts.log.info(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)}`);
    try {
      await this.setEndpoint(toHex(st.peer.key), { publicKey: st.peer.keyB64, endpoint, allowedIps: allowedIpsOf(st.peer), keepalive: this.keepalive() });
    } catch (e) {
      this.opts.log.error(`peer ${st.peer.keyB64}: cannot set WireGuard endpoint ${endpoint}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The data plane was recreated with every peer (src/daemon/supervise.ts): the peers it had
   *  sessions with still hold them, so ours start the handshakes now. */
  private dataPlaneRestored(): void {
    for (const st of this.tracker.all()) {
      const hex = toHex(st.peer.key);
      if (!this.wanted.has(hex)) continue;
      this.guard.endpointSet(hex);
      this.poke(st.peer);
      this.handshakes.expect(hex, this.clock.now());
    }
  }

  /**
   * Makes WireGuard handshake with a peer now rather than when traffic first flows: one empty
   * UDP datagram to the peer's overlay address (discard port) enters the tunnel, so WireGuard
   * initiates a handshake at once. This matters after either side restarted: the side that
   * kept running holds a dead session and would wait up to 15 s before it re-handshakes.
   */
  private poke(p: TrustedPeer): void {
    const ip = p.ipv4 ?? p.ipv6;
    if (ip === undefined || this.stopping) return;
    this.pokeSocket ??= dgram.createSocket(ip.includes(':') ? 'udp6' : 'udp4').on('error', () => undefined);
    this.pokeSocket.send(new Uint8Array(0), DISCARD_PORT, ip, () => undefined);
  }

  private async handle(req: ControlRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'show': return this.show(req.all === true);
      case 'reload': return this.reload();
      case 'down':
        setImmediate(() => void this.stop());
        return { stopping: this.opts.iface };
    }
  }

  /** Everything `wh show` prints. */
  async show(all: boolean): Promise<ShowResult> {
    const dump = this.wg ? await this.wg.dump().catch(() => undefined) : undefined;
    const now = this.clock.now();
    // While the data plane is down no peer is reachable, whatever the DHT says.
    const planeDown = this.wg !== undefined && this.wg.state !== 'up';
    const self = this.config.peers.find((p) => p.keyB64 === this.publicB64);
    const peers = this.tracker.all().map((st): ShowPeer => {
      const w = dump?.peers.find((p) => p.publicKey === st.peer.keyB64);
      return {
        name: st.peer.hostname ?? null,
        key: st.peer.keyB64,
        ipv4: st.peer.ipv4 ?? null,
        ipv6: st.peer.ipv6 ?? null,
        path: planeDown ? 'down' : st.path,
        endpoint: st.path === 'direct' && st.endpoint ? addrKey(st.endpoint) : st.path === 'relay' && st.relayAddr ? addrKey(st.relayAddr) : null,
        relay: st.path === 'relay' ? st.relayKey ?? null : null,
        relayForwarding: st.path !== 'relay' ? null : this.traversal.links.get(toHex(st.peer.key))?.kernelPort !== undefined ? 'kernel' : 'daemon',
        since: Math.round((now - st.since) / 1000),
        rttMs: st.rtt !== undefined ? Math.round(st.rtt) : null,
        wgEndpoint: w?.endpoint ?? null,
        lastHandshake: w && w.latestHandshake > 0 ? w.latestHandshake : null,
        rxBytes: w?.rxBytes ?? 0,
        txBytes: w?.txBytes ?? 0,
      };
    });
    const result: ShowResult = {
      interface: this.opts.iface,
      network: this.config.name,
      config: this.opts.configPath,
      publicKey: this.publicB64,
      role: this.wg ? 'node' : 'public',
      backend: this.wg?.backend ?? null,
      dataPlane: this.wg?.state ?? null,
      dataPlaneRestarts: this.wg?.restarts ?? 0,
      dataPlaneError: this.wg?.lastError ?? null,
      ipv4: self?.ipv4 ?? null,
      ipv6: self?.ipv6 ?? null,
      listenPort: this.opts.listenPort,
      nat: this.nat.type,
      natObservers: this.nat.responders,
      publicAddress: this.nat.publicAddr ? addrKey(this.nat.publicAddr) : null,
      portMapping: this.mapping ? { method: this.mapping.method, external: `${this.mapping.externalIp ?? '?'}:${this.mapping.externalPort}`, lease: this.mapping.lease } : null,
      uptime: Math.round((now - this.started) / 1000),
      dhtNodes: this.dht.table.size,
      boots: this.contact?.status() ?? [],
      relaying: { sessions: this.traversal.sessions.size, kernel: this.traversal.kernel?.forwarding ?? 0 },
      peers,
    };
    if (all) {
      const { buckets, counters, rpc } = this.dht.snapshot();
      result.dht = { buckets, counters, rpc, reach: this.claims.summary(this.clock.now()) };
    }
    return result;
  }

  /**
   * Re-reads the config file and applies the difference. Everything that can refuse the edit is
   * checked first: a refusal throws and changes nothing. Once the checks pass the new config is
   * in effect; a WireGuard change that fails after that is reported in `errors` (the CLI exits
   * non-zero and says the config was applied), never thrown, since a throw would claim the old
   * state was kept.
   */
  async reload(): Promise<{ added: string[]; removed: string[]; changed: string[]; bootsAdded: string[]; bootsRemoved: string[]; errors?: string[] }> {
    const next = await resolveTrustEndpoints(await loadConfig(this.opts.configPath), systemLookup)
      .catch((e: unknown) => { throw e instanceof ResolveError ? new DaemonError(e.message) : e; });
    const selfNow = this.config.peers.find((p) => p.keyB64 === this.publicB64);
    const selfNext = next.peers.find((p) => p.keyB64 === this.publicB64);
    if (isPublicNodeConfig(next) !== isPublicNodeConfig(this.config)) throw new DaemonError('reload cannot turn a public node into a trusted node or back; use wh down and wh up');
    if (!isPublicNodeConfig(next) && (selfNext === undefined || !selfNext.trusted)) throw new DaemonError(`${next.file}: this node's key has no trust line any more; use wh down`);
    if (selfNow?.ipv4 !== selfNext?.ipv4 || selfNow?.ipv6 !== selfNext?.ipv6) throw new DaemonError(`${next.file}: this node's own overlay address changed; use wh down and wh up`);
    if (next.workbit !== this.config.workbit || next.namespace !== this.config.namespace) throw new DaemonError(`${next.file}: workbit or namespace changed; use wh down and wh up`);
    const peers = trustedPeersOf(next, this.publicB64);
    // Applied from here on, all of it.
    const seeds = seedDiff(this.config, next, this.publicB64);
    this.config = next;
    this.joinSeeds(seeds);
    const diff = this.tracker.setPeers(peers, this.clock.now());
    const name = (p: TrustedPeer) => p.hostname ?? p.keyB64;
    const errors: string[] = [];
    const attempt = (p: TrustedPeer, op: () => Promise<void>) =>
      op().catch((e: unknown) => { errors.push(`${name(p)}: ${e instanceof Error ? e.message : String(e)}`); });
    if (this.wg) {
      for (const p of diff.removed) {
        const hex = toHex(p.key);
        this.traversal.closeLink(hex);
        this.handshakes.forget(hex);
        this.guard.forget(hex);
        this.wanted.delete(hex);
        await attempt(p, () => this.peerOp(hex, () => this.wg!.removePeer(p.keyB64)));
      }
      for (const p of diff.added) await attempt(p, () => this.wg!.setPeer({ publicKey: p.keyB64, allowedIps: allowedIpsOf(p), ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}) }));
      for (const { after } of diff.changed) {
        // Only the allowed IPs change: the endpoint (direct, or a relay link's loopback) stays.
        const hex = toHex(after.key);
        const relayed = this.tracker.get(hex)?.path === 'relay';
        const config = { publicKey: after.keyB64, allowedIps: allowedIpsOf(after), keepalive: relayed ? NAT_KEEPALIVE_SECONDS : this.keepalive() };
        const before = this.wanted.get(hex);
        if (before !== undefined) this.wanted.set(hex, { ...before, ...config });
        await attempt(after, () => this.peerOp(hex, () => this.wg!.setPeer(config)));
      }
    }
    const result = { added: diff.added.map(name), removed: diff.removed.map(name), changed: diff.changed.map((c) => name(c.after)),
      bootsAdded: seeds.added.map(seedLabel), bootsRemoved: seeds.removed.map(seedLabel), ...(errors.length > 0 ? { errors } : {}) };
    this.opts.log.info(`reload: ${JSON.stringify(result)}`);
    return result;
  }

  /** A reload's new seeds join the DHT (then the NAT is checked again: more observers); removed
   *  boot lines stop being rendezvous/relay candidates. In the background: reload answers now. */
  private joinSeeds(seeds: { added: Seed[]; removed: Seed[] }): void {
    const gone = new Set(seeds.removed.filter((r) => r.boot).map((r) => r.keyB64));
    this.boots = this.boots.filter((b) => !gone.has(keyToBase64(b.key)));
    this.contact?.sync(this.boots);
    if (seeds.added.length === 0) return;
    void (async () => {
      const nodes = await this.resolveSeeds(seeds.added);
      this.contact?.sync(this.boots);
      if (nodes.length === 0 || this.stopping) return;
      const answered = await this.dht.bootstrap(nodes);
      for (const m of this.contact?.joined() ?? []) this.opts.log.warn(m);
      this.opts.log.info(`reload: ${answered}/${nodes.length} new boot/peer nodes answered, ${this.dht.table.size} nodes known`);
      await this.checkNat();
    })().catch((e: unknown) => this.opts.log.warn(`reload: joining the new boot/peer nodes: ${e instanceof Error ? e.message : String(e)}`));
  }

  /** Removes every trace: interface, firewall table, socket. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      // Every step runs, whatever the ones before it did (a crash handler relies on it).
      const step = async (what: string, f: () => unknown): Promise<void> => {
        try { await f(); } catch (e) { this.opts.log.warn(`stop: ${what}: ${e instanceof Error ? e.message : String(e)}`); }
      };
      if (this.timer) clearInterval(this.timer);
      if (this.natTimer) clearInterval(this.natTimer);
      await step('relay', () => this.traversal?.close());
      await step('portmap', () => this.mapper?.close());
      await step('dht', () => this.dht.close());
      await step('socket', () => this.transport.close());
      await step('socket', () => this.pokeSocket?.close());
      if (this.wg) {
        await step('nft', () => this.opts.deps.removePortShare(portShareTable(this.opts.iface)));
        await step('wireguard', () => this.wg!.destroy());
      }
      // The control socket goes last: `wh down` waits for it to disappear.
      await step('control socket', () => this.control?.close());
      this.opts.log[this.failure ? 'error' : 'info'](`${this.opts.iface}: down${this.failure ? ` (${this.failure})` : ''}`);
      this.onStopped?.();
    })();
    return this.stopped;
  }
}

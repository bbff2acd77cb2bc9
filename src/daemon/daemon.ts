// The WireHub daemon: one per node. It runs the DHT on the node's shared UDP port, keeps the
// WireGuard peers of the trusted nodes in step with where the DHT finds them, and answers the
// CLI on the control socket. Public nodes (a config without `trust` lines) run the DHT only.
//
// This file is the composition root: it starts the parts in order (transports, data plane,
// port share, DHT, traversal, control socket), undoes them on a failure, and stops them. The
// parts: src/daemon/join.ts (joining the DHT), natmonitor.ts (NAT check, port mapping, claim
// checks), wgsync.ts (WireGuard operations and samples), paths.ts (each peer's path machine,
// src/path/), handlers.ts (the control handlers). They share a NodeContext (context.ts);
// the system edges are NodeSeams (seams.ts) and SystemDeps (dataplane.ts), all injectable.
import { keyToBase64 } from '../crypto/keys.js';
import type { NetworkConfig } from '../config/index.js';
import { DhtNode } from '../dht/node.js';
import { toHex } from '../dht/id.js';
import { addrKey } from '../proto/addr.js';
import { PEER_TICK, TUNNEL_PING_PORT } from '../params.js';
import { Traversal } from '../nat/traversal.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { socketPath } from '../control/protocol.js';
import type { ShowResult } from '../control/show.js';
import { TransportSet, type Transports } from '../net/transport.js';
import { ANY_HOST } from '../net/udp.js';
import { portShareTableName as portShareTable } from '../firewall/index.js';
import { PathGuard } from './guard.js';
import { SupervisedDataPlane } from './supervise.js';
import type { DaemonOptions, NodeContext } from './context.js';
import { realSeams, type NodeSeams } from './seams.js';
import { Join } from './join.js';
import { NatMonitor } from './natmonitor.js';
import { WgSync } from './wgsync.js';
import { Paths } from './paths.js';
import { Invites } from './invites.js';
import { TunnelPing } from './tunnelping.js';
import { ControlHandlers, DaemonError, type ReloadResult } from './handlers.js';
import { allowedIpsOf, isPublicNodeConfig, ownAddresses, trustedPeersOf } from './trusted.js';
import { HostNames } from './hostnames.js';
import { hostsFilePath } from './hostsfile.js';
import { DNS_PORT } from '../params.js';
import { MetricsServer } from './metricsserver.js';
import { formatMetrics } from './metrics.js';
import { openWsTransports } from './wstransports.js';
import { WsTransports } from './wsreload.js';
import { FallbackDriver } from './wsfallback.js';
import { isWsRelayPort, WsRelayPorts, type WsRelayPort } from '../net/wsrelayport.js';

export type { DaemonOptions } from './context.js';
export type { ShowPeer, ShowResult } from '../control/show.js';
export { DaemonError } from './handlers.js';
export { allowedIpsOf, isPublicNodeConfig, ownAddresses, trustedPeersOf } from './trusted.js';

export class Daemon implements NodeContext {
  readonly guard: PathGuard;
  readonly seams: NodeSeams;
  readonly log: Logger;
  /** The one clock of all the daemon's timing: monotonic (a step of the wall clock changes nothing). */
  readonly clock: Clock;
  readonly publicB64: string;
  config: NetworkConfig;
  traversal!: Traversal;
  /** The UDP/WebSocket fallback, when boot nodes have both a UDP and a ws:// line. */
  fallback: FallbackDriver | undefined;
  readonly join: Join;
  readonly nat: NatMonitor;
  readonly wgSync: WgSync;
  readonly paths: Paths;
  readonly invites: Invites;
  names: HostNames | undefined;
  metrics: MetricsServer | undefined;
  /** The WebSocket server and links, and a reload's difference (src/daemon/wsreload.ts). */
  ws!: WsTransports;
  private readonly handlers: ControlHandlers;
  private timer: TimerHandle | undefined;
  stopping = false;
  private stopped: Promise<void> | undefined;
  private control: { close(): unknown } | undefined;
  onStopped: (() => void) | undefined;
  /** Why the node stopped by itself (its data plane could not be recreated): the process then
   *  exits non-zero. */
  failure: string | undefined;

  private constructor(
    readonly opts: DaemonOptions,
    readonly dht: DhtNode,
    /** The node's transports; the DHT runs on all of them (src/net/transport.ts TransportSet). */
    private readonly transportSet: TransportSet,
    readonly wg: SupervisedDataPlane | undefined,
  ) {
    this.config = opts.config;
    this.log = opts.log;
    this.seams = { ...realSeams, ...opts.seams };
    this.clock = opts.clock ?? realClock;
    this.publicB64 = keyToBase64(dht.id);
    this.join = new Join(this);
    this.nat = new NatMonitor(this);
    this.wgSync = new WgSync(this);
    this.paths = new Paths(this, trustedPeersOf(this.config, this.publicB64));
    this.handlers = new ControlHandlers(this, this.clock.now(), () => void this.stop());
    this.invites = new Invites(this, () => this.reload(), this.seams.wallNow);
    this.guard = new PathGuard({
      peers: () => this.paths.all().map(({ peer, hex, view }) => ({ hex, keyB64: peer.keyB64, state: view.state, ...(view.endpoint ? { endpoint: view.endpoint } : {}),
        ...(view.via ? { relayEndpoint: view.via.endpoint } : {}),
        ...(view.via ? { relayLoopback: this.traversal?.links.get(hex)?.loopbackEndpoint } : {}) })),
      step: (hex, ev) => this.paths.step(hex, ev),
      count: (w) => this.dht.counters.add(w),
    }, () => this.seams.localAddresses(), () => this.nat.mapping?.externalIp, () => [this.opts.listenPort, this.opts.daemonPort]);
  }

  /** The node's transports now (a reload adds and removes WebSocket ones). */
  get transports(): Transports { return this.transportSet.list; }

  /** Starts everything; on any failure, undoes what was done and throws. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const { config, log } = opts;
    const seams: NodeSeams = { ...realSeams, ...opts.seams };
    const clock = opts.clock ?? realClock;
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
      const transport = await seams.bindTransport(opts.bindHost ?? ANY_HOST, dhtPort).catch((e: NodeJS.ErrnoException) => {
        throw new DaemonError(e.code === 'EADDRINUSE' ? `UDP port ${dhtPort} is already in use` : `cannot bind UDP port ${dhtPort}: ${e.message}`);
      });
      undo.push(async () => transport.close());
      // The node's transports: its UDP socket, then its WebSocket server and links to boot
      // nodes (src/daemon/wstransports.ts): the DHT sends and hears through all of them.
      const ws = await openWsTransports({ config, selfB64, clock, log, lookup: seams.lookup, random: seams.random, seams, undo })
        .catch((e: unknown) => { throw e instanceof DaemonError ? e : new DaemonError(e instanceof Error ? e.message : String(e)); });
      const transports = new TransportSet([transport, ...ws.transports]);
      if (!publicNode && self !== undefined) {
        const plane = { name: opts.iface, privateKey: keyToBase64(opts.secret), listenPort: opts.listenPort, addresses: ownAddresses(config, self), log: (l: string) => log.info(`wireguard: ${l}`) };
        wg = await SupervisedDataPlane.start({ create: () => opts.deps.createDataPlane(plane), log, clock });
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
      const relayPorts = new WsRelayPorts(ws.transports.filter((t): t is typeof t & WsRelayPort => isWsRelayPort(t)));
      const dht = new DhtNode({
        sodium: opts.sodium, secret: opts.secret, workbit: config.workbit, namespace: config.namespace,
        transport: transports, clock, direct: publicNode,
        onVerified: (id, addr, rtt, seenAs) => { daemon?.join.heard(toHex(id), addr); daemon?.fallback?.heard(addr, id); daemon?.paths.heard(id, addr, rtt, seenAs); },
        isKnown: (hex) => daemon?.paths.has(hex) ?? false,
      });
      undo.push(async () => dht.close());
      daemon = new Daemon({ ...opts, seams: { ...opts.seams, lookup: ws.lookup } }, dht, transports, wg);
      const d = daemon;
      if (wg) {
        wg.onRestored = () => d.wgSync.dataPlaneRestored();
        wg.onFailed = (why) => { d.failure ??= `data plane: ${why}`; void d.stop(); };
      }
      d.traversal = new Traversal({
        dht, log, clock: d.clock, wgPort: wg ? opts.listenPort : undefined,
        isTrusted: (hex) => d.paths.has(hex),
        canRelay: () => publicNode || d.nat.verdict.type === 'none',
        relayReady: (hex, link) => d.paths.relayReady(hex, link),
        relayCandidates: (exclude) => d.nat.relayCandidates(exclude),
        isRendezvous: (hex) => d.nat.relayCandidates([]).some((r) => r.hex === hex),
        isDirect: (hex) => d.paths.state(hex) === 'direct',
        directFailing: (hex) => d.paths.directFailing(hex),
        announceAddr: () => (d.nat.mapping?.externalIp ? { host: d.nat.mapping.externalIp, port: d.nat.mapping.externalPort } : undefined),
        ...(forward ? { forward } : {}),
        ...(opts.deps.openPort ? { openPort: () => opts.deps.openPort!() } : {}),
        openRelayEndpoint: seams.openRelayEndpoint,
        ws: relayPorts,
        isInvited: (hex) => d.invites.isIssued(hex),
        onAlias: (req, m, max) => d.invites.onAlias(req, m, max),
        onRelayedFrame: (inc, m) => d.invites.relay.onFrame(inc, m),
      });
      undo.push(() => d.traversal.close());
      if (ws.fallback.length > 0) d.fallback = new FallbackDriver(d, ws.fallback);
      undo.push(async () => d.fallback?.close());
      d.ws = new WsTransports({
        clock, log, lookup: seams.lookup, random: seams.random, seams, selfB64, set: transports, ports: relayPorts,
        setFallback: (links) => {
          if (links.length === 0) { d.fallback?.close(); d.fallback = undefined; } else if (d.fallback) d.fallback.setLinks(links); else d.fallback = new FallbackDriver(d, links);
        },
        renew: () => void d.traversal.renewNow().catch((e: unknown) => log.warn(`reload: renewing the relay links: ${e instanceof Error ? e.message : String(e)}`)),
      }, config, ws, ws.pinned);
      await d.invites.store.load().catch((e: unknown) => { throw new DaemonError(e instanceof Error ? e.message : String(e)); });
      if (!publicNode && self !== undefined) {
        // Names for the host's programs: after the data plane, whose addresses DNS listens on.
        const names = new HostNames({ iface: opts.iface, hostsFile: hostsFilePath(), dnsPort: DNS_PORT, clock, counters: dht.counters, log });
        undo.push(() => names.close());
        await names.apply(config, [self.ipv4, self.ipv6].filter((a): a is string => a !== undefined))
          .catch((e: unknown) => { throw new DaemonError(`${config.file}: names: ${e instanceof Error ? e.message : String(e)}`); });
        d.names = names;
      }
      // The metrics endpoint (`metrics HOST:PORT`): after the data plane, whose overlay address
      // it may be asked to bind.
      const metrics = new MetricsServer(async () => formatMetrics([await d.show(true)], d.seams.wallNow() / 1000), log, () => d.clock.now());
      undo.push(() => metrics.close());
      await metrics.apply(config.metrics, config.file).catch((e: unknown) => { throw new DaemonError(e instanceof Error ? e.message : String(e)); });
      d.metrics = metrics;
      if (wg && self !== undefined) await d.bindTunnelPing(self.ipv4 ?? self.ipv6);
      undo.push(async () => d.handlers.tunnelPing?.close());
      d.control = await seams.listenControl(socketPath(opts.iface), (req) => d.handlers.handle(req));
      log.info(`${opts.iface}: ${publicNode ? 'public DHT node' : `overlay ${ownAddresses(config, self!).join(' ')}`}, key ${selfB64}, UDP port ${opts.listenPort}${publicNode ? '' : ` (daemon socket ${opts.daemonPort})`}`);
      void d.join.bootstrap();
      d.nat.watchAddresses();
      d.scheduleTick();
      return d;
    } catch (err) {
      await rollback();
      throw err;
    }
  }

  /** The tunnel ping socket on our overlay address (src/daemon/tunnelping.ts). A failure to
   *  bind it is logged, not fatal: the node works, only `wh ping` to and from it does not. */
  private async bindTunnelPing(ip: string | undefined): Promise<void> {
    const bind = this.seams.bindOverlay;
    if (ip === undefined || bind === undefined) return;
    try {
      const t = await bind(ip, TUNNEL_PING_PORT);
      this.handlers.tunnelPing = new TunnelPing({ dht: this.dht, isPeerAt: (hex, at) => this.paths.all().some((p) => p.hex === hex && (p.peer.ipv4 === at || p.peer.ipv6 === at)) }, t);
    } catch (e) {
      this.log.warn(`cannot bind the tunnel ping socket ${ip}:${TUNNEL_PING_PORT} (wh ping will not work with this node): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The peer tick, every PEER_TICK: WireGuard is sampled (the path machines keep their own timer). */
  private scheduleTick(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.stopping) return;
      this.scheduleTick();
      void this.wgSync.watchWireGuard();
    }, PEER_TICK);
  }

  /** Everything `wh show` prints. */
  show(all: boolean): Promise<ShowResult> {
    return this.handlers.show(all);
  }

  /** Re-reads the config file and applies the difference (src/daemon/handlers.ts). */
  reload(): Promise<ReloadResult> {
    return this.handlers.reload();
  }

  /** Removes every trace: interface, firewall table, socket. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.join.stop();
      // Every step runs, whatever the ones before it did (a crash handler relies on it).
      const step = async (what: string, f: () => unknown): Promise<void> => {
        try { await f(); } catch (e) { this.log.warn(`stop: ${what}: ${e instanceof Error ? e.message : String(e)}`); }
      };
      if (this.timer) this.clock.clearTimeout(this.timer);
      // No scrape of a node half stopped: the metrics endpoint goes first.
      await step('metrics', () => this.metrics?.close());
      this.paths.close();
      this.fallback?.close();
      await step('relay', () => this.traversal?.close());
      await step('portmap', () => this.nat.close());
      await step('dht', () => this.dht.close());
      await step('tunnel ping', () => this.handlers.tunnelPing?.close());
      for (const t of this.transports) await step('socket', () => t.close());
      await step('socket', () => this.wgSync.close());
      await step('names', () => this.names?.close());
      if (this.wg) {
        await step('nft', () => this.opts.deps.removePortShare(portShareTable(this.opts.iface)));
        await step('wireguard', () => this.wg!.destroy());
      }
      // The control socket goes last: `wh down` waits for it to disappear.
      await step('control socket', () => this.control?.close());
      this.log[this.failure ? 'error' : 'info'](`${this.opts.iface}: down${this.failure ? ` (${this.failure})` : ''}`);
      this.onStopped?.();
    })();
    return this.stopped;
  }
}

// The WireHub daemon: one per node. It runs the DHT on the node's shared UDP port, keeps the
// WireGuard peers of the trusted nodes in step with where the DHT finds them, and answers the
// CLI on the control socket. Public nodes (a config without `trust` lines) run the DHT only.
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Sodium } from '../crypto/sodium.js';
import { keyToBase64 } from '../crypto/keys.js';
import { loadConfig, type NetworkConfig, type Peer } from '../config/index.js';
import { DhtNode, type BootNode } from '../dht/node.js';
import { toHex } from '../dht/id.js';
import { UdpTransport } from '../net/udp.js';
import { addrKey, type Addr } from '../proto/addr.js';
import { PEER_TICK } from '../params.js';
import { realClock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { ControlServer } from '../control/server.js';
import { socketPath, type ControlRequest } from '../control/protocol.js';
import { describePath, PeerTracker, type PeerState, type TrustedPeer } from './peers.js';
import type { DataPlane, SystemDeps } from './dataplane.js';
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
}

export class DaemonError extends Error {}

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
  private readonly started = Date.now();
  readonly publicB64: string;
  private config: NetworkConfig;
  private stopped: Promise<void> | undefined;
  private pokeSocket: dgram.Socket | undefined;
  onStopped: (() => void) | undefined;

  private constructor(
    private readonly opts: DaemonOptions,
    readonly dht: DhtNode,
    private readonly transport: UdpTransport,
    private readonly wg: DataPlane | undefined,
    private control: ControlServer | undefined,
  ) {
    this.config = opts.config;
    this.publicB64 = keyToBase64(dht.id);
    this.tracker = new PeerTracker(trustedPeersOf(this.config, this.publicB64), Date.now());
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
      let wg: DataPlane | undefined;
      // A public node has no WireGuard: its DHT socket owns the port itself.
      const dhtPort = publicNode ? opts.listenPort : opts.daemonPort;
      const transport = await UdpTransport.bind(opts.bindHost ?? '0.0.0.0', dhtPort).catch((e: NodeJS.ErrnoException) => {
        throw new DaemonError(e.code === 'EADDRINUSE' ? `UDP port ${dhtPort} is already in use` : `cannot bind UDP port ${dhtPort}: ${e.message}`);
      });
      undo.push(async () => transport.close());
      if (!publicNode && self !== undefined) {
        wg = await opts.deps.createDataPlane({ name: opts.iface, privateKey: keyToBase64(opts.secret), listenPort: opts.listenPort, addresses: ownAddresses(config, self) });
        undo.push(() => wg!.destroy());
        await opts.deps.installPortShare({ table: portShareTable(opts.iface), wgPort: opts.listenPort, daemonPort: opts.daemonPort });
        undo.push(() => opts.deps.removePortShare(portShareTable(opts.iface)));
        for (const p of trustedPeersOf(config, selfB64)) {
          await wg.setPeer({ publicKey: p.keyB64, allowedIps: allowedIpsOf(p), ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}) });
        }
      }
      let daemon: Daemon | undefined;
      const dht = new DhtNode({
        sodium: opts.sodium, secret: opts.secret, workbit: config.workbit, namespace: config.namespace,
        transport, clock: realClock, direct: publicNode,
        onVerified: (id, addr, rtt) => daemon?.heard(id, addr, rtt),
      });
      undo.push(async () => dht.close());
      daemon = new Daemon(opts, dht, transport, wg, undefined);
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

  private async bootstrap(): Promise<void> {
    const boots: BootNode[] = [];
    for (const b of this.config.boots) {
      if (b.keyB64 === this.publicB64) continue;
      try {
        const host = b.hostKind === 'hostname' ? (await dns.lookup(b.host)).address : b.host;
        boots.push({ key: b.key, addr: { host, port: b.port } });
      } catch (e) {
        this.opts.log.warn(`boot ${b.host}: cannot resolve (${e instanceof Error ? e.message : String(e)})`);
      }
    }
    const answered = await this.dht.bootstrap(boots);
    this.opts.log.info(`bootstrap: ${answered}/${boots.length} boot nodes answered, ${this.dht.table.size} nodes known`);
  }

  /** A node answered us directly: if it is a trusted peer, that is where it is. */
  private heard(id: Uint8Array, addr: Addr, rtt: number | undefined): void {
    const hex = toHex(id);
    const st = this.tracker.get(hex);
    if (st === undefined) return;
    if (this.tracker.located(hex, addr, Date.now(), rtt)) void this.applyEndpoint(st);
  }

  private tick(): void {
    if (this.stopping) return;
    for (const st of this.tracker.due(Date.now())) void this.visit(st);
  }

  /** Searches a peer that is not located, or checks one that is. */
  private async visit(st: PeerState): Promise<void> {
    const hex = toHex(st.peer.key);
    try {
      if (st.path === 'direct' && st.endpoint) {
        const reply = await this.dht.ping(st.peer.key, st.endpoint);
        if (this.stopping) return;
        if (reply === undefined) this.tracker.checkFailed(hex, Date.now());
        return; // an answer went through heard() already
      }
      // A static endpoint from the config is tried first, then the DHT.
      const candidates: Addr[] = [];
      if (st.peer.endpoint) candidates.push(st.peer.endpoint);
      const r = await this.dht.findNode(st.peer.key);
      if (this.stopping) return;
      if (r.found && !candidates.some((c) => addrKey(c) === addrKey(r.found!))) candidates.push(r.found);
      for (const c of candidates) {
        const reply = await this.dht.ping(st.peer.key, c);
        if (this.stopping) return;
        if (reply !== undefined) return; // located through heard()
      }
      this.tracker.searchFailed(hex, Date.now());
    } catch (e) {
      this.opts.log.warn(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${e instanceof Error ? e.message : String(e)}`);
      this.tracker.release(hex);
    } finally {
      this.tracker.release(hex);
    }
  }

  private async applyEndpoint(st: PeerState): Promise<void> {
    if (this.wg === undefined || st.endpoint === undefined || this.stopping) return;
    const endpoint = addrKey(st.endpoint);
    this.opts.log.info(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)}`);
    try {
      await this.wg.setPeer({ publicKey: st.peer.keyB64, endpoint, allowedIps: allowedIpsOf(st.peer) });
      this.poke(st.peer);
    } catch (e) {
      this.opts.log.error(`peer ${st.peer.keyB64}: cannot set WireGuard endpoint ${endpoint}: ${e instanceof Error ? e.message : String(e)}`);
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
    const now = Date.now();
    const self = this.config.peers.find((p) => p.keyB64 === this.publicB64);
    const peers = this.tracker.all().map((st): ShowPeer => {
      const w = dump?.peers.find((p) => p.publicKey === st.peer.keyB64);
      return {
        name: st.peer.hostname ?? null,
        key: st.peer.keyB64,
        ipv4: st.peer.ipv4 ?? null,
        ipv6: st.peer.ipv6 ?? null,
        path: st.path,
        endpoint: st.endpoint ? addrKey(st.endpoint) : null,
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
      ipv4: self?.ipv4 ?? null,
      ipv6: self?.ipv6 ?? null,
      listenPort: this.opts.listenPort,
      nat: 'unknown',
      uptime: Math.round((now - this.started) / 1000),
      dhtNodes: this.dht.table.size,
      peers,
    };
    if (all) result.dht = { buckets: this.dht.table.stats(), counters: this.dht.counters.toJSON(), rpc: this.dht.rpc.counters.toJSON() };
    return result;
  }

  /** Re-reads the config file and applies the difference; on error the running state is kept. */
  async reload(): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    const next = await loadConfig(this.opts.configPath);
    const selfNow = this.config.peers.find((p) => p.keyB64 === this.publicB64);
    const selfNext = next.peers.find((p) => p.keyB64 === this.publicB64);
    if (isPublicNodeConfig(next) !== isPublicNodeConfig(this.config)) throw new DaemonError('reload cannot turn a public node into a trusted node or back; use wh down and wh up');
    if (!isPublicNodeConfig(next) && (selfNext === undefined || !selfNext.trusted)) throw new DaemonError(`${next.file}: this node's key has no trust line any more; use wh down`);
    if (selfNow?.ipv4 !== selfNext?.ipv4 || selfNow?.ipv6 !== selfNext?.ipv6) throw new DaemonError(`${next.file}: this node's own overlay address changed; use wh down and wh up`);
    if (next.workbit !== this.config.workbit || next.namespace !== this.config.namespace) throw new DaemonError(`${next.file}: workbit or namespace changed; use wh down and wh up`);
    const diff = this.tracker.setPeers(trustedPeersOf(next, this.publicB64), Date.now());
    if (this.wg) {
      for (const p of diff.removed) await this.wg.removePeer(p.keyB64);
      for (const p of diff.added) await this.wg.setPeer({ publicKey: p.keyB64, allowedIps: allowedIpsOf(p), ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}) });
      for (const { after } of diff.changed) {
        const st = this.tracker.get(toHex(after.key));
        await this.wg.setPeer({ publicKey: after.keyB64, allowedIps: allowedIpsOf(after), ...(st?.endpoint ? { endpoint: addrKey(st.endpoint) } : {}) });
      }
    }
    this.config = next;
    const name = (p: TrustedPeer) => p.hostname ?? p.keyB64;
    const result = { added: diff.added.map(name), removed: diff.removed.map(name), changed: diff.changed.map((c) => name(c.after)) };
    this.opts.log.info(`reload: ${JSON.stringify(result)}`);
    return result;
  }

  /** Removes every trace: interface, firewall table, socket. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.timer) clearInterval(this.timer);
      this.dht.close();
      this.transport.close();
      this.pokeSocket?.close();
      if (this.wg) {
        await this.opts.deps.removePortShare(portShareTable(this.opts.iface)).catch((e: unknown) => this.opts.log.warn(`nft: ${String(e)}`));
        await this.wg.destroy().catch((e: unknown) => this.opts.log.warn(`wireguard: ${String(e)}`));
      }
      // The control socket goes last: `wh down` waits for it to disappear.
      await this.control?.close().catch(() => undefined);
      this.opts.log.info(`${this.opts.iface}: down`);
      this.onStopped?.();
    })();
    return this.stopped;
  }
}


export interface ShowPeer {
  name: string | null;
  key: string;
  ipv4: string | null;
  ipv6: string | null;
  path: PeerState['path'];
  endpoint: string | null;
  since: number;
  rttMs: number | null;
  wgEndpoint: string | null;
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

export interface ShowResult {
  interface: string;
  network: string;
  config: string;
  publicKey: string;
  role: 'node' | 'public';
  backend: string | null;
  ipv4: string | null;
  ipv6: string | null;
  listenPort: number;
  nat: string;
  uptime: number;
  dhtNodes: number;
  peers: ShowPeer[];
  dht?: { buckets: unknown; counters: unknown; rpc: unknown };
}

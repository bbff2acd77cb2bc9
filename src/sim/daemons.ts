// Whole WireHub daemons (src/daemon/daemon.ts, the real DHT, NAT, path and relay code) in the
// simulated internet, without root: each node's system edges are NodeSeams and SystemDeps
// bound to the simulation:
// - its UDP port is a simulated one (behind a NatRouter of its kind, src/sim/nat.ts, or on the
//   public network), shared by the daemon and a fake WireGuard as the nftables port share does
//   (src/sim/portshare.ts); the port share itself and the kernel relay path are absent;
// - the data plane is SimWireGuard (src/sim/dataplane.ts); the poke puts a datagram into it;
//   relay links' loopback sockets are the host's SimLoopback;
// - the gateway's port mapper is simDiscover (src/sim/portmap.ts): found only behind a UPnP
//   router; fresh ports for reach checks are simulated ports of the host;
// - no control socket (show() is called directly), no DNS, the host's addresses are its own.
// Addresses as src/sim/world.ts: boot nodes 192.0.2.n:62096, public hosts 198.51.100.n:51820,
// routers 203.0.113.n, hosts behind them 192.168.1.10:51820; overlay 10.0.0.n, in the order
// nodes are added. Every timer runs on the world's virtual clock.
import type { Sodium } from '../crypto/sodium.js';
import { clampSecret, keyToBase64 } from '../crypto/keys.js';
import { parseConfig } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import type { SystemDeps } from '../daemon/dataplane.js';
import type { NodeSeams } from '../daemon/seams.js';
import type { ShowResult } from '../control/show.js';
import type { NodeTransport, Transport } from '../net/transport.js';
import type { Addr } from '../proto/addr.js';
import type { Logger } from '../util/log.js';
import { VirtualClock } from './clock.js';
import { SimLoopback, SimWireGuard } from './dataplane.js';
import { NatRouter, routerOptions, type NatKind } from './nat.js';
import { seededRandom, SimNetwork, type SimOptions } from './network.js';
import { simDiscover } from './portmap.js';
import { sharePort, type SharedPort } from './portshare.js';
import { SIM_BOOT_PORT, SIM_HOST_PORT, SIM_PRIVATE_HOST } from './world.js';

/** The daemon socket's port behind the port share (unused in the simulation: both sides share
 *  the simulated port). */
const SIM_DAEMON_PORT = 51821;
/** Lines of log kept per node (the newest). */
const SIM_LOG_LINES = 2000;

export interface SimDaemonWorldOptions extends SimOptions {
  /** Unix ms at virtual time 0: the wall clock of WireGuard's handshake times. */
  wallBase: number;
  /** Keep debug lines in the nodes' logs too. */
  debug?: boolean;
}

/** One simulated host with its daemon (started by SimDaemonWorld.start). */
export class SimDaemon {
  daemon: Daemon | undefined;
  /** The current fake WireGuard (a trusted node's, once started). */
  wg: SimWireGuard | undefined;
  readonly log: string[] = [];
  readonly loopback: SimLoopback;
  shared: SharedPort | undefined;
  readonly pub: string;
  private nextPort = 41000;

  constructor(
    readonly world: SimDaemonWorld,
    readonly name: string,
    readonly kind: NatKind | 'boot',
    readonly secret: Uint8Array,
    /** The address its socket binds (private behind a router). */
    readonly local: Addr,
    /** Its public address (the router's IP behind one). */
    readonly publicAddr: Addr,
    readonly router: NatRouter | undefined,
    /** Overlay IPv4 (trusted nodes). */
    readonly ip: string | undefined,
  ) {
    this.loopback = new SimLoopback(world.clock);
    this.pub = keyToBase64(world.sodium.crypto_scalarmult_base(secret));
  }

  /** A fresh simulated port on this host. */
  private bind(port: number): Transport {
    const addr = { host: this.local.host, port };
    return this.router ? this.router.bind(addr) : this.world.net.bind(addr);
  }

  logger(): Logger {
    const line = (level: string) => (m: string) => {
      this.log.push(`${(this.world.clock.now() / 1000).toFixed(3)} ${level} ${m}`);
      if (this.log.length > SIM_LOG_LINES) this.log.shift();
    };
    return { debug: this.world.opts.debug ? line('debug') : () => undefined, info: line('info'), warn: line('warn'), error: line('error') };
  }

  seams(): NodeSeams {
    // The node's own seeded randomness, for the seams that take one (a back-off's jitter).
    const seeded = { random: seededRandom(Math.floor(this.world.random() * 2 ** 32)) };
    const node: NodeTransport = Object.assign(this.kind === 'boot' ? this.bind(this.local.port) : (this.shared = sharePort(this.bind(this.local.port))).daemon,
      { kind: 'sim', carries: () => true });
    return {
      bindTransport: async () => node,
      bindOverlay: undefined,
      discoverMapper: simDiscover(this.world.clock, this.router, this.local.host),
      localAddresses: () => [this.local.host],
      poker: () => ({ send: (ip) => { this.wg?.sendIp(ip, 'discard'); }, close: () => undefined }),
      lookup: async (h) => { throw new Error(`no DNS in the simulation (${h})`); },
      listenControl: async () => ({ close: () => undefined }),
      listenWs: async () => { throw new Error('no WebSocket transport in the simulation'); },
      connectWs: () => { throw new Error('no WebSocket transport in the simulation'); },
      openRelayEndpoint: async () => this.loopback.open(),
      wallNow: () => (this.world.opts.wallBase ?? 0) + this.world.clock.now(),
      ...seeded,
    };
  }

  deps(): SystemDeps {
    return {
      createDataPlane: async (o) => {
        if (this.shared === undefined) throw new Error('no shared port');
        this.wg = new SimWireGuard({
          ...o, publicKey: this.world.sodium.crypto_scalarmult_base(this.secret), clock: this.world.clock, port: this.shared.data,
          loopback: this.loopback, random: this.world.random, wallBase: this.world.opts.wallBase,
          ...(this.world.opts.debug ? { trace: this.logger().debug } : {}),
        });
        return this.wg;
      },
      installPortShare: async () => undefined,
      removePortShare: async () => undefined,
      openPort: async () => { const port = this.nextPort++; return { port, transport: this.bind(port) }; },
    };
  }

  /** One echo request to `ip` through the tunnel; false when there is no route. */
  ping(ip: string, id: number): boolean {
    return this.wg?.sendIp(ip, 'echo', id) ?? false;
  }

  show(): Promise<ShowResult> {
    if (this.daemon === undefined) throw new Error(`${this.name} is not running`);
    return this.daemon.show(false);
  }
}

export class SimDaemonWorld {
  readonly clock = new VirtualClock();
  readonly net: SimNetwork;
  readonly random: () => number;
  readonly boots: SimDaemon[] = [];
  readonly nodes: SimDaemon[] = [];
  private publics = 0;
  private routers = 0;

  constructor(readonly sodium: Sodium, readonly opts: SimDaemonWorldOptions) {
    this.net = new SimNetwork(this.clock, { minDelay: 5, maxDelay: 30, ...opts });
    this.random = seededRandom((opts.seed ?? 1) * 7919 + 1);
  }

  private secret(): Uint8Array {
    const b = new Uint8Array(32);
    for (let i = 0; i < 32; i++) b[i] = Math.floor(this.random() * 256);
    return clampSecret(b);
  }

  addBoot(): SimDaemon {
    const addr = { host: `192.0.2.${this.boots.length + 1}`, port: SIM_BOOT_PORT };
    const d = new SimDaemon(this, `boot${this.boots.length + 1}`, 'boot', this.secret(), addr, addr, undefined, undefined);
    this.boots.push(d);
    return d;
  }

  /** A trusted node of `kind` (every node trusts every other). */
  addNode(name: string, kind: NatKind): SimDaemon {
    const ip = `10.0.0.${this.nodes.length + 1}`;
    let d: SimDaemon;
    if (kind === 'public') {
      const addr = { host: `198.51.100.${++this.publics}`, port: SIM_HOST_PORT };
      d = new SimDaemon(this, name, kind, this.secret(), addr, addr, undefined, ip);
    } else {
      const r = ++this.routers;
      const router = new NatRouter(this.net, `203.0.113.${r}`, routerOptions(kind, r)!);
      d = new SimDaemon(this, name, kind, this.secret(), { host: SIM_PRIVATE_HOST, port: SIM_HOST_PORT }, { host: router.publicIp, port: SIM_HOST_PORT }, router, ip);
    }
    this.nodes.push(d);
    return d;
  }

  configText(d: SimDaemon): string {
    const lines = ['name sim', 'workbit 0', ...this.boots.map((b) => `boot ${b.pub} ${b.publicAddr.host}:${b.publicAddr.port}`)];
    if (d.kind !== 'boot') lines.push('subnet 10.0.0.0/24', ...this.nodes.map((n) => `trust ${n.name} ${n.ip} ${n.pub}`));
    return lines.join('\n') + '\n';
  }

  /** Starts the daemons of `ds` together, at the current virtual time. */
  async start(...ds: SimDaemon[]): Promise<void> {
    const starting = ds.map((d) => {
      const file = `${d.name}.conf`;
      return Daemon.start({
        sodium: this.sodium, configPath: file, config: parseConfig(this.configText(d), file, this.sodium), secret: d.secret, iface: `whsim${d.name}`,
        listenPort: d.local.port, daemonPort: SIM_DAEMON_PORT, log: d.logger(), deps: d.deps(), seams: d.seams(), clock: this.clock,
      }).then((daemon) => { d.daemon = daemon; });
    });
    await this.settle(Promise.all(starting));
    for (const d of ds) if (d.daemon === undefined) throw new Error(`${d.name} did not start`);
  }

  /** Stops `d`'s daemon (its port goes with it). */
  async stop(d: SimDaemon): Promise<void> {
    const daemon = d.daemon;
    d.daemon = undefined;
    if (daemon !== undefined) await this.settle(daemon.stop());
    d.shared?.data.close();
    d.shared = undefined;
    d.wg = undefined;
  }

  async close(): Promise<void> {
    for (const d of [...this.nodes, ...this.boots]) await this.stop(d);
  }

  /** Runs the virtual clock until `p` settles (a rejection is thrown), at most `limit` ms. */
  async settle<T>(p: Promise<T>, limit = 60_000): Promise<T | undefined> {
    let done = false, value: T | undefined, error: unknown;
    void p.then((v) => { done = true; value = v; }, (e: unknown) => { done = true; error = e; });
    await this.clock.runUntil(() => done, limit, 10);
    if (error !== undefined) throw error;
    return value;
  }
}

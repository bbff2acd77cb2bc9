// Micronet: a network of network namespaces (an "internet" bridge, public hosts, NAT routers,
// hosts behind them), built with batched `ip`/`nft`, torn down completely by destroy().
import { spawn as spawnChild, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir as osTmpdir } from 'node:os';
import { join } from 'node:path';
import {
  INTERNET_IP, INTERNET_IP6, MAX_HOSTS_PER_ROUTER, MAX_PUBLIC_HOSTS, MAX_ROUTERS, checkPrefix, checkRole, nsName, randomPrefix, type IpFamilies,
} from './addressing.js';
import { inNamespace, run, runChecked, type ExecOptions, type ExecResult } from './exec.js';
import { NAT_TABLE, isNatType, natRules, replaceTableScript, routerRules, type NatType } from './nat.js';
import { deleteNamespaces, deleteNamespacesSync, killPids, pidsInNamespaces, sleepUntil, waitExits } from './procs.js';
import { REGISTRY_DIR, TMP_PREFIX, creatorAlive, parseRegistry, processStart, registryPath, removeRegistry, writeRegistry } from './registry.js';
import { LAN_IF, WAN_IF, internetPlan, lanHostPlan, publicHostPlan, routerPlan, type UnitPlan } from './topology.js';
import { isUpnpMode, miniupnpdConfig, upnpChains, uuidFor, waitMiniupnpdReady, type UpnpMode } from './upnp.js';

export type NodeKind = 'internet' | 'public' | 'router' | 'host';

/** A namespace of the run. */
export interface Host {
  /** The name given to add*() ("inet" for the internet namespace). */
  readonly name: string;
  /** The namespace: `${prefix}-${name}`. */
  readonly ns: string;
  readonly kind: NodeKind;
  /**
   * The address on the node's own interface: public hosts and the internet their public
   * address, routers their WAN address, hosts behind a router their LAN address.
   */
  readonly ip: string;
  /** Routers: their LAN address (the hosts' gateway). Hosts behind a router: their LAN address (= ip). */
  readonly lanIp?: string;
  /** The address the internet sees for this node (a NATed host: its router's WAN address). */
  readonly publicIp: string;
  /** Its IPv6 address (the internet and dual-stack or IPv6-only public hosts); an IPv6-only
   *  host has it as `ip` and `publicIp` too. */
  readonly ip6?: string;
  /** Hosts behind a router: that router. */
  readonly router?: Router;
}

export interface Router extends Host {
  readonly kind: 'router';
  /** The current NAT type (setNat() changes it). */
  readonly nat: NatType;
  readonly upnp: UpnpMode | null;
  readonly lanIp: string;
  /** e.g. 192.168.1.0/24 (public 20.0.(100+j).0/24 for nat 'none'). */
  readonly lanSubnet: string;
  readonly wanIf: string;
  readonly lanIf: string;
}

export interface CreateOptions {
  /** The run prefix (namespaces are `${name}-${role}`); default 'mn' + 4 random base36 chars. */
  name?: string;
  /** Where the run's registry file goes. Default /run/micronet. */
  registryDir?: string;
  /** Parent of the run's temp dir. Default the system temp dir. */
  tmpRoot?: string;
  /** Register a process 'exit' handler that destroys the net synchronously. Default true. */
  exitHandler?: boolean;
}

export interface RouterOptions {
  /** Default 'port-restricted'. */
  nat?: NatType;
  /** Start a miniupnpd on the router. */
  upnp?: UpnpMode;
}

export interface SpawnOptions {
  /** Default 'pipe' for all three. */
  stdio?: StdioOptions;
  env?: NodeJS.ProcessEnv;
}

interface MutableRouter extends Router {
  nat: NatType;
}

const KILL_GRACE_MS = 2000;
const MINIUPNPD_READY_MS = 5000;

export class Micronet {
  readonly prefix: string;
  readonly tmpdir: string;
  readonly registryDir: string;
  readonly internet: Host;

  private readonly nodes = new Map<string, Host>();
  private readonly created: string[] = [];
  private readonly procs = new Set<ChildProcess>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly upnpLogs = new Map<string, string[]>();
  private readonly hostCount = new Map<string, number>();
  private readonly routerIndex = new Map<string, number>();
  private routerCount = 0;
  private publicCount = 0;
  private destroying: Promise<void> | null = null;
  private readonly onExit: (() => void) | null;
  private readonly createdAt = new Date().toISOString();

  private constructor(prefix: string, tmp: string, registryDir: string, exitHandler: boolean) {
    this.prefix = prefix;
    this.tmpdir = tmp;
    this.registryDir = registryDir;
    const inet: Host = { name: 'inet', ns: nsName(prefix, 'inet'), kind: 'internet', ip: INTERNET_IP, publicIp: INTERNET_IP, ip6: INTERNET_IP6 };
    this.internet = inet;
    this.onExit = exitHandler ? () => { try { this.destroySync(); } catch { /* exiting anyway */ } } : null;
    if (this.onExit) process.on('exit', this.onExit);
  }

  /** Creates the run (registry file, temp dir, the internet namespace and its bridge). */
  static async create(opts: CreateOptions = {}): Promise<Micronet> {
    const registryDir = opts.registryDir ?? REGISTRY_DIR;
    const inUse = (p: string): boolean => existsSync(registryPath(registryDir, p)) || listNetns().some((n) => n.startsWith(`${p}-`));
    let prefix = checkPrefix(opts.name ?? randomPrefix());
    // A random name that happens to be taken is drawn again (a few times: 36^4 names).
    for (let tries = 0; opts.name === undefined && inUse(prefix) && tries < 5; tries++) prefix = randomPrefix();
    if (existsSync(registryPath(registryDir, prefix))) {
      let owner = '';
      try {
        const rec = parseRegistry(readFileSync(registryPath(registryDir, prefix), 'utf8'), `${prefix}.json`);
        owner = creatorAlive(rec) ? ` (run by live pid ${rec.pid})` : ' (a dead run: `micronet cleanup` removes it)';
      } catch { /* unreadable: still in use */ }
      throw new Error(`micronet: run name "${prefix}" is in use${owner}`);
    }
    const clash = listNetns().filter((n) => n.startsWith(`${prefix}-`));
    if (clash.length) throw new Error(`micronet: namespaces named "${prefix}-*" already exist (${clash.join(', ')}); choose another run name`);
    const tmp = mkdtempSync(join(opts.tmpRoot ?? osTmpdir(), `${TMP_PREFIX}${prefix}-`));
    const net = new Micronet(prefix, tmp, registryDir, opts.exitHandler ?? true);
    try {
      net.nodes.set('inet', net.internet);
      await net.track(net.applyPlan(internetPlan(net.internet.ns)));
    } catch (e) {
      await net.destroy().catch(() => {});
      throw e;
    }
    return net;
  }

  /** Every node of the run (the internet included), in the order added. */
  get all(): Host[] {
    return [...this.nodes.values()];
  }

  /** A node by name ("inet" is the internet). */
  node(name: string): Host {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`micronet: no node named "${name}"`);
    return n;
  }

  get destroyed(): boolean {
    return this.destroying !== null;
  }

  /** A namespace on the internet bridge with public address 20.0.1.k and/or 2001:db8:0:k::1. */
  addPublicHost(name: string, opts: { ip?: IpFamilies } = {}): Promise<Host> {
    return this.track((async () => {
      this.claim(name);
      const k = ++this.publicCount;
      if (k > MAX_PUBLIC_HOSTS) throw new Error(`micronet: at most ${MAX_PUBLIC_HOSTS} public hosts`);
      const ns = nsName(this.prefix, name);
      const plan = publicHostPlan(ns, this.internet.ns, k, opts.ip);
      const host: Host = { name, ns, kind: 'public', ip: plan.ip, publicIp: plan.ip, ...(plan.ip6 ? { ip6: plan.ip6 } : {}) };
      this.nodes.set(name, host);
      await this.applyPlan(plan);
      return host;
    })());
  }

  /** A router: WAN 20.0.2.j on the internet bridge, LAN bridge, the NAT type's rules, maybe miniupnpd. */
  addRouter(name: string, opts: RouterOptions = {}): Promise<Router> {
    return this.track((async () => {
      const nat = opts.nat ?? 'port-restricted';
      if (!isNatType(nat)) throw new Error(`micronet: unknown NAT type "${String(nat)}"`);
      if (opts.upnp !== undefined && !isUpnpMode(opts.upnp)) throw new Error(`micronet: unknown UPnP mode "${String(opts.upnp)}"`);
      if (opts.upnp && nat === 'none') throw new Error('micronet: a router with nat "none" does not translate: no UPnP on it');
      this.claim(name);
      const j = ++this.routerCount;
      if (j > MAX_ROUTERS) throw new Error(`micronet: at most ${MAX_ROUTERS} routers`);
      const ns = nsName(this.prefix, name);
      const plan = routerPlan(ns, this.internet.ns, j, nat === 'none');
      const router: MutableRouter = {
        name, ns, kind: 'router', ip: plan.wanIp, publicIp: plan.wanIp, lanIp: plan.lanIp, lanSubnet: plan.lanSubnet,
        nat, upnp: opts.upnp ?? null, wanIf: WAN_IF, lanIf: LAN_IF,
      };
      this.nodes.set(name, router);
      this.hostCount.set(name, 0);
      this.routerIndex.set(name, j);
      let rules = routerRules(nat, { wanIf: WAN_IF, wanIp: plan.wanIp });
      if (opts.upnp) rules += upnpChains();
      await this.applyPlan(plan, [{ ns, rules }]);
      if (opts.upnp) await this.startMiniupnpd(router, opts.upnp);
      return router as Router;
    })());
  }

  /** A host on router r's LAN, default route via the router. */
  addHost(name: string, router: Router | string): Promise<Host> {
    return this.track((async () => {
      const r = this.routerOf(router);
      this.claim(name);
      const i = (this.hostCount.get(r.name) ?? 0) + 1;
      this.hostCount.set(r.name, i);
      if (i > MAX_HOSTS_PER_ROUTER) throw new Error(`micronet: at most ${MAX_HOSTS_PER_ROUTER} hosts behind a router`);
      const routed = r.nat === 'none';
      const ns = nsName(this.prefix, name);
      const plan = lanHostPlan(ns, r.ns, this.routerIndex.get(r.name)!, i, routed);
      const host: Host = { name, ns, kind: 'host', ip: plan.ip, lanIp: plan.ip, publicIp: routed ? plan.ip : r.ip, router: r };
      this.nodes.set(name, host);
      await this.applyPlan(plan);
      return host;
    })());
  }

  /**
   * Changes a router's NAT type live: replaces its `mn_nat` table in one nft transaction and
   * flushes its conntrack table (existing mappings are forgotten). 'none' cannot be switched to
   * or from (its LAN is numbered differently).
   */
  async setNat(router: Router | string, type: NatType): Promise<void> {
    this.checkOpen();
    const r = this.routerOf(router);
    if (!isNatType(type)) throw new Error(`micronet: unknown NAT type "${String(type)}"`);
    if ((r.nat === 'none') !== (type === 'none')) throw new Error(`micronet: cannot switch router "${r.name}" between nat "none" and a NAT type`);
    const script = replaceTableScript(NAT_TABLE, natRules(type, { wanIf: r.wanIf, wanIp: r.ip }));
    await this.track(runChecked(inNamespace(r.ns, ['nft', '-f', '-']), { input: script }));
    await this.track(runChecked(inNamespace(r.ns, ['conntrack', '-F'])));
    r.nat = type;
  }

  /** Runs argv inside the node's namespace (`ip netns exec`). Never throws on a non-zero exit unless opts.check. */
  exec(host: Host | string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.checkOpen();
    // Not waited for by destroy(): it creates nothing, and destroy() kills whatever runs in the
    // run's namespaces, which ends it.
    return run(inNamespace(this.nsOf(host), argv), opts);
  }

  /**
   * Starts a long-running process inside the node's namespace. destroy() ends it (SIGTERM,
   * SIGKILL 2 s later); the caller may end it earlier.
   */
  spawn(host: Host | string, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    this.checkOpen();
    const child = spawnChild('ip', inNamespace(this.nsOf(host), [cmd, ...args]).slice(1), {
      stdio: opts.stdio ?? 'pipe',
      env: opts.env ?? process.env,
    });
    this.procs.add(child);
    child.on('exit', () => this.procs.delete(child));
    child.on('error', () => this.procs.delete(child));
    return child;
  }

  /** What a router's miniupnpd printed (it runs with -d), for debugging. */
  miniupnpdLog(router: Router | string): string {
    return (this.upnpLogs.get(this.routerOf(router).name) ?? []).join('');
  }

  /**
   * Ends every tracked process (SIGTERM, then SIGKILL after 2 s) and anything else still running
   * in the run's namespaces (SIGKILL), deletes every namespace the run created (their veths go
   * with them), removes the temp dir and the registry file. Idempotent; safe after a failed build.
   */
  destroy(): Promise<void> {
    if (!this.destroying) this.destroying = this.doDestroy();
    return this.destroying;
  }

  /** destroy() for process 'exit' handlers: synchronous, SIGKILL at once. */
  destroySync(): void {
    if (!this.destroying) this.destroying = Promise.resolve();
    for (const c of this.procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    const left = deleteNamespacesSync(this.created);
    this.finish(left);
  }

  // ---- internals ----

  private async doDestroy(): Promise<void> {
    // Let in-flight builds and commands finish first (each is bounded by its own timeout), so
    // that nothing is created after the namespaces are deleted.
    await Promise.allSettled([...this.pending]);
    const alive = [...this.procs].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of alive) c.kill('SIGTERM');
    await waitExits(alive, KILL_GRACE_MS);
    for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await waitExits(alive, 1000);
    // Whatever else runs in our namespaces (children of tracked processes, untracked commands).
    const stray = pidsInNamespaces(this.created);
    if (stray.length) {
      killPids(stray, 'SIGTERM');
      await sleepUntil(() => pidsInNamespaces(this.created).length === 0, 500);
    }
    const left = await deleteNamespaces(this.created);
    this.finish(left);
  }

  private finish(left: string[]): void {
    rmSync(this.tmpdir, { recursive: true, force: true });
    if (left.length === 0) removeRegistry(this.registryDir, this.prefix);
    if (this.onExit) process.off('exit', this.onExit);
    if (left.length) throw new Error(`micronet: could not delete namespaces ${left.join(', ')} (registry ${registryPath(this.registryDir, this.prefix)} kept for \`micronet cleanup\`)`);
  }

  private checkOpen(): void {
    if (this.destroying) throw new Error('micronet: this net is destroyed');
  }

  private claim(name: string): void {
    this.checkOpen();
    checkRole(name);
    if (this.nodes.has(name) || name === 'inet') throw new Error(`micronet: duplicate node name "${name}"`);
    const ns = nsName(this.prefix, name);
    if (existsSync(`/run/netns/${ns}`)) throw new Error(`micronet: namespace ${ns} already exists and is not this run's`);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const drop = (): void => { this.pending.delete(p); };
    p.then(drop, drop);
    return p;
  }

  private routerOf(r: Router | string): MutableRouter {
    const node = this.nodes.get(typeof r === 'string' ? r : r.name);
    if (!node || node.kind !== 'router' || (typeof r !== 'string' && node !== r)) {
      throw new Error(`micronet: "${typeof r === 'string' ? r : r.name}" is not a router of this net`);
    }
    return node as MutableRouter;
  }

  private nsOf(h: Host | string): string {
    const name = typeof h === 'string' ? h : h.name;
    const node = this.nodes.get(name) ?? [...this.nodes.values()].find((n) => n.ns === name);
    if (!node) throw new Error(`micronet: no node "${name}" in this net`);
    return node.ns;
  }

  private saveRegistry(): void {
    writeRegistry(this.registryDir, {
      prefix: this.prefix,
      pid: process.pid,
      pidStart: processStart(process.pid),
      created: this.createdAt,
      namespaces: [...this.created],
      tmpdir: this.tmpdir,
    });
  }

  /** Records the unit's namespaces, then creates them (ip -b), then configures each in parallel. */
  private async applyPlan(plan: UnitPlan, nft: { ns: string; rules: string }[] = []): Promise<void> {
    this.created.push(...plan.namespaces);
    this.saveRegistry();
    await runChecked(['ip', '-b', '-'], { input: plan.hostBatch.join('\n') + '\n' });
    await Promise.all([
      ...plan.nsBatches.map((b) => runChecked(['ip', '-n', b.ns, '-b', '-'], { input: b.lines.join('\n') + '\n' })),
      ...plan.sysctls.map((s) => runChecked(inNamespace(s.ns, ['sysctl', '-q', '-w', ...s.settings]))),
      ...nft.map((n) => runChecked(inNamespace(n.ns, ['nft', '-f', '-']), { input: n.rules })),
    ]);
  }

  private async startMiniupnpd(r: Router, mode: UpnpMode): Promise<void> {
    const dir = join(this.tmpdir, `upnp-${r.name}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const conf = join(dir, 'miniupnpd.conf');
    writeFileSync(conf, miniupnpdConfig({
      mode, wanIf: r.wanIf, lanIf: r.lanIf, extIp: r.ip, lanSubnet: r.lanSubnet,
      leaseFile: join(dir, 'leases'), minissdpdSocket: join(dir, 'minissdpd.sock'), uuid: uuidFor(`${this.prefix}-${r.name}`),
    }));
    const log: string[] = [];
    this.upnpLogs.set(r.name, log);
    const child = this.spawn(r, 'miniupnpd', ['-f', conf, '-d', '-P', join(dir, 'miniupnpd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => { if (log.length < 10_000) log.push(d.toString()); });
    await waitMiniupnpdReady(child, mode, MINIUPNPD_READY_MS);
  }
}

/** Names in /run/netns. */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

// A test network of WireHub nodes on micronet: keys, a shared config file, `wh up` in each
// node's namespace (foreground daemons, tracked by micronet), and helpers to query them.
// Used by the end-to-end tests, `npm run demo` and `bench:throughput`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import type { ShowResult } from '../../src/control/show.js';
import { Micronet, type Host, type IpFamilies, type NatType, type UpnpMode } from '../micronet/index.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { callDaemon } from '../../src/control/client.js';

export const WH = fileURLToPath(new URL('../../../bin/wh.js', import.meta.url));

export interface WhNode {
  name: string;
  host: Host;
  secret: string;
  publicKey: string;
  keyFile: string;
  iface: string;
  overlayIp?: string;
  daemon?: ChildProcess;
  role: 'boot' | 'node';
  /** What the node's daemon wrote to stderr (its log), across restarts. */
  log: string;
}

export class WhNet {
  readonly nodes = new Map<string, WhNode>();
  readonly dir: string;
  readonly configFile: string;
  readonly bootConfigFile: string;

  private constructor(readonly net: Micronet, readonly networkName: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whnet-'));
    this.configFile = path.join(this.dir, 'network.conf');
    this.bootConfigFile = path.join(this.dir, 'public.conf');
  }

  static async create(networkName = 'e2e'): Promise<WhNet> {
    return new WhNet(await Micronet.create(), networkName);
  }

  /** Adds a public host running a WireHub node (role boot: a public DHT node, no WireGuard). */
  async addPublicNode(name: string, role: 'boot' | 'node' = 'node'): Promise<WhNode> {
    return this.addNode(name, { role });
  }

  /** Adds a node: public (IPv4 by default, or dual-stack or IPv6-only: `ip`), or behind its own
   *  router with the given NAT type (and miniupnpd). */
  async addNode(name: string, opts: { role?: 'boot' | 'node'; nat?: NatType | 'public'; upnp?: UpnpMode; ip?: IpFamilies } = {}): Promise<WhNode> {
    const sodium = await sodiumReady();
    const role = opts.role ?? 'node';
    const host = opts.nat === undefined || opts.nat === 'public'
      ? await this.net.addPublicHost(name, opts.ip ? { ip: opts.ip } : {})
      : await this.net.addHost(name, await this.net.addRouter(`r${name}`.slice(0, 8), { nat: opts.nat, ...(opts.upnp ? { upnp: opts.upnp } : {}) }));
    const sk = generateSecret(sodium);
    const publicKey = keyToBase64(sodium.crypto_scalarmult_base(sk));
    const keyFile = path.join(this.dir, `${name}.sk`);
    fs.writeFileSync(keyFile, keyToBase64(sk) + '\n', { mode: 0o600 });
    const node: WhNode = { name, host, secret: keyToBase64(sk), publicKey, keyFile, iface: '', role, log: '' };
    this.nodes.set(name, node);
    return node;
  }

  /** Writes the shared trust config (with the given trusted node names) and the boot node's config. */
  writeConfigs(trusted: string[]): void {
    const boots = [...this.nodes.values()].filter((n) => n.role === 'boot');
    // A dual-stack boot node has two lines (its IPv4 and its IPv6 address), an IPv6-only one one.
    const bootAddrs = (h: Host) => [...(h.ip6 !== h.publicIp ? [`${h.publicIp}:62096`] : []), ...(h.ip6 ? [`[${h.ip6}]:62096`] : [])];
    const head = [`name ${this.networkName}`, 'workbit 0', ...boots.flatMap((b) => bootAddrs(b.host).map((a) => `boot ${b.publicKey} ${a}`))];
    fs.writeFileSync(this.bootConfigFile, head.join('\n') + '\n');
    const lines = [...head, 'subnet 10.77.0.0/24'];
    trusted.forEach((name, i) => {
      const n = this.nodes.get(name)!;
      n.overlayIp = `10.77.0.${i + 1}`;
      lines.push(`trust ${name} ${n.overlayIp} ${n.publicKey}`);
    });
    fs.writeFileSync(this.configFile, lines.join('\n') + '\n');
  }

  /** Runs `wh ARGS` inside a node's namespace. */
  wh(node: WhNode, args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.net.exec(node.host, [process.execPath, WH, ...args], { timeoutMs });
  }

  /** `wh up --foreground` in the node's namespace; resolves once its control socket answers.
   *  `opts.args` are added to the command line, `opts.env` to the environment; `opts.config`:
   *  another network file than the shared one; `opts.nodeArgs`: node's own flags (--cpu-prof). */
  async up(name: string, timeoutMs = 15_000, opts: { args?: string[]; env?: NodeJS.ProcessEnv; config?: string; nodeArgs?: string[] } = {}): Promise<WhNode> {
    const n = this.nodes.get(name)!;
    const config = opts.config ?? (n.role === 'boot' ? this.bootConfigFile : this.configFile);
    // A socket left by a killed daemon of this node would look like readiness.
    if (n.iface && (n.daemon === undefined || n.daemon.exitCode !== null || n.daemon.signalCode !== null)) {
      fs.rmSync(`/var/run/wirehub/${n.iface}.sock`, { force: true });
    }
    n.daemon = this.net.spawn(n.host, process.execPath, [...(opts.nodeArgs ?? []), WH, 'up', config, 'private-key', n.keyFile, '--foreground', ...(opts.args ?? [])],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
    let stderr = '';
    n.daemon.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 100_000) stderr += d.toString();
      if (n.log.length < 1_000_000) n.log += d.toString();
    });
    // Ready when its control socket exists (the daemon creates it once everything is up).
    n.iface = interfaceNameForKey(n.publicKey);
    const sock = `/var/run/wirehub/${n.iface}.sock`;
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (n.daemon.exitCode !== null) throw new Error(`wh up ${name} exited ${n.daemon.exitCode}: ${stderr}`);
      if (fs.existsSync(sock)) return n;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error(`wh up ${name}: not ready within ${timeoutMs} ms: ${stderr}`);
  }

  /** The daemon's own show answer (its control socket is in the shared /run), with the
   *  internal field names; `wh show --json` maps it to the public schema (docs/JSON.md). */
  async show(name: string, all = false): Promise<ShowResult> {
    const n = this.nodes.get(name)!;
    return (await callDaemon(n.iface, { cmd: 'show', all })) as ShowResult;
  }

  async ping(from: string, ip: string): Promise<boolean> {
    const r = await this.net.exec(this.nodes.get(from)!.host, ['ping', '-c1', '-W1', ip], { timeoutMs: 3000 });
    return r.code === 0;
  }

  /** Pings until it works or the deadline passes; returns ms to first success, or -1. */
  async pingUntil(from: string, ip: string, deadlineMs: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < deadlineMs) {
      if (await this.ping(from, ip)) return Date.now() - t0;
    }
    return -1;
  }

  async down(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const n = this.nodes.get(name)!;
    const r = await this.wh(n, ['down', n.iface]);
    if (n.daemon && n.daemon.exitCode === null) {
      await new Promise<void>((res) => {
        const t = setTimeout(res, 5000);
        n.daemon!.once('exit', () => { clearTimeout(t); res(); });
      });
    }
    return r;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.nodes.values()]
      .filter((n) => n.iface && n.daemon && n.daemon.exitCode === null)
      .map((n) => this.down(n.name).catch(() => undefined)));
    await this.net.destroy();
    for (const n of this.nodes.values()) {
      if (n.iface) await cleanupIface(n.iface);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Last-resort cleanup of an interface's traces in the host namespace's shared /run. */
async function cleanupIface(iface: string): Promise<void> {
  for (const f of [`/var/run/wirehub/${iface}.sock`, `/var/run/wireguard/${iface}.sock`]) {
    try { fs.unlinkSync(f); } catch { /* gone */ }
  }
}

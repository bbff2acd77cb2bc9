// A real HTTP CONNECT proxy for tests: Debian's tinyproxy, started in the foreground (`-d`) with
// a config, log and pid file in a private directory, on loopback or in a micronet namespace
// (pass a `spawn` that runs it there, e.g. `(cmd, args) => net.spawn(router, cmd, args)`).
// CONNECT is allowed to the given ports only (tinyproxy answers 403 to any other), from the
// given client addresses only. stop() ends it and waits for it; the directory is the caller's.
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Micronet, Router } from './micronet.js';
import { ROUTER_PROXY_PORT } from './nat.js';

export const TINYPROXY = '/usr/bin/tinyproxy';

/** Why tinyproxy cannot be used here, or null when it can. */
export function tinyproxyMissing(): string | null {
  if (!existsSync(TINYPROXY)) return 'tinyproxy is not installed (Debian package tinyproxy; scripts/install-deps.sh installs it)';
  return null;
}

export interface TinyproxyOptions {
  /** The address it listens on (an IPv4 address of the namespace it runs in). */
  listen: string;
  port: number;
  /** Client addresses or CIDR blocks allowed to use it (tinyproxy's `Allow`). */
  allow: readonly string[];
  /** The only ports CONNECT may reach (tinyproxy's `ConnectPort`). */
  connectPorts: readonly number[];
  /** A private directory for its config, log and pid file. */
  dir: string;
  /** Require these Basic credentials (tinyproxy's `BasicAuth`): others get 407. */
  basicAuth?: { user: string; password: string };
  /** Runs the command (default: a child process of this one, on this namespace). */
  spawn?: (cmd: string, args: string[]) => ChildProcess;
  /** How long to wait for it to accept connections (ms). */
  readyMs?: number;
}

export class Tinyproxy {
  private constructor(
    private readonly child: ChildProcess,
    readonly logFile: string,
    readonly listen: string,
    readonly port: number,
  ) {}

  /** The proxy URL clients use. */
  get url(): string {
    return `http://${this.listen}:${this.port}`;
  }

  static async start(opts: TinyproxyOptions): Promise<Tinyproxy> {
    const logFile = join(opts.dir, 'tinyproxy.log');
    const conf = join(opts.dir, 'tinyproxy.conf');
    const lines = [
      `Port ${opts.port}`,
      `Listen ${opts.listen}`,
      'Timeout 30',
      `LogFile "${logFile}"`,
      'LogLevel Info',
      `PidFile "${join(opts.dir, 'tinyproxy.pid')}"`,
      'MaxClients 32',
      'DisableViaHeader Yes',
      ...opts.allow.map((a) => `Allow ${a}`),
      ...opts.connectPorts.map((p) => `ConnectPort ${p}`),
      ...(opts.basicAuth ? [`BasicAuth ${opts.basicAuth.user} ${opts.basicAuth.password}`] : []),
    ];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    writeFileSync(logFile, '');
    const args = ['-d', '-c', conf];
    const child = opts.spawn ? opts.spawn(TINYPROXY, args) : spawnChild(TINYPROXY, args, { stdio: 'ignore' });
    const p = new Tinyproxy(child, logFile, opts.listen, opts.port);
    const deadline = Date.now() + (opts.readyMs ?? 5000);
    let exited = false;
    child.once('exit', () => { exited = true; });
    while (!p.log().includes('Accepting connections')) {
      if (exited || Date.now() > deadline) {
        await p.stop();
        throw new Error(`tinyproxy did not start (${exited ? 'it exited' : 'timeout'}); its log:\n${p.log().slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return p;
  }

  /** Its log so far (the CONNECT requests appear as "Request (file descriptor N): CONNECT ..."). */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The CONNECT targets it was asked for, in order ("HOST:PORT"). */
  connects(): string[] {
    return [...this.log().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+) HTTP/g)].map((m) => m[1]!);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  }
}


/**
 * The HTTP proxy of a 'proxy-only' router (nat.ts): tinyproxy in the router's namespace on its
 * LAN address, port ROUTER_PROXY_PORT, for its LAN only, CONNECT allowed to `connectPorts`
 * only. Its files are in the run's temp dir; micronet's destroy() ends it with the namespace.
 */
export function startRouterProxy(net: Micronet, router: Router, connectPorts: readonly number[]): Promise<Tinyproxy> {
  const dir = join(net.tmpdir, `proxy-${router.name}`);
  mkdirSync(dir, { recursive: true });
  return Tinyproxy.start({
    listen: router.lanIp!,
    port: ROUTER_PROXY_PORT,
    allow: [router.lanSubnet],
    connectPorts,
    dir,
    spawn: (cmd, args) => net.spawn(router, cmd, args, { stdio: 'ignore' }),
  });
}

// Creating, configuring, reading and removing one WireGuard interface.
//
// createInterface:
//   kernel     `ip link add NAME type wireguard`, then `wg set NAME private-key /dev/stdin
//              listen-port P` (key on stdin).
//   userspace  spawn `IMPL -f NAME` as a child (env LOG_LEVEL=error, WG_PROCESS_FOREGROUND=1,
//              which also silences wireguard-go's "kernel has first class support" banner);
//              its output goes to opts.log line by line. Wait until
//              /var/run/wireguard/NAME.sock accepts a connection (about 20 ms here), then set the
//              key and port over UAPI.
//   both       one `ip -b -` batch adds the addresses (the subnet route comes from each
//              address's prefix), sets the MTU if given and brings the link up. Any failure
//              removes what was created, then throws.
// Callers should bring every interface up before giving peers their endpoints: a handshake
// sent to a peer whose interface is not up yet is lost and retried only 5 s later.
//
// destroy (userspace): SIGTERM the child (wireguard-go then removes its socket and its TUN
// link), wait for it to exit, SIGKILL after 2 s, and remove the socket file if it is left
// (SIGKILL leaves it). destroyInterface(name) does the same for an interface whose daemon is
// gone: it finds the process serving the socket through /proc (proc.ts), and deletes a
// kernel link, but never a link of another kind.
//
// `netns` (an extension for tests and the namespace test bed): run the interface in that
// named network namespace (`ip -n NS`, `ip netns exec NS IMPL`). The daemon itself runs inside
// its namespace and leaves it unset. Names must be unique on the machine for userspace
// interfaces even across namespaces, since /var/run/wireguard is shared.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, unlinkSync } from 'node:fs';
import { IP, runTool, toolArgv, tryTool, WgError } from '../util/exec.js';
import { detectBackend, type BackendPreference } from './backend.js';
import { wgCidr, validateInterfaceName, validateKey, validatePort } from './names.js';
import { socketAccepts } from '../util/unixsocket.js';

export { socketAccepts };
import { socketOwners, terminate } from './proc.js';
import { socketPath, UapiControl } from './uapi.js';
import { WgToolControl } from './wgtool.js';
import type { WgBackend, WgControl, WgDump, WgPeerConfig } from './types.js';

export interface CreateInterfaceOptions {
  name: string;
  /** base64 private key */
  privateKey: string;
  /** UDP port; 0 lets WireGuard choose */
  listenPort: number;
  /** CIDRs like 10.42.0.1/24, fd00::1/64 */
  addresses: string[];
  mtu?: number;
  /** receives the userspace implementation's output and lifecycle events, one line each */
  log?: (line: string) => void;
  /** named network namespace to create the interface in (default: this process's) */
  netns?: string;
  /** 'auto' (default): kernel if available, else userspace */
  backend?: BackendPreference;
  /** link alias set with the addresses (WireHub marks its interfaces with it) */
  alias?: string;
}

export interface WgInterface {
  readonly name: string;
  readonly backend: WgBackend;
  readonly netns: string | undefined;
  /** pid of the userspace implementation, when known */
  readonly pid: number | undefined;
  /** Resolves, with what happened, if the userspace implementation exits by itself (not through
   *  destroy()): the interface is then gone. Never resolves for a kernel interface or one found
   *  by existingInterface (a failing dump() tells those). */
  readonly died: Promise<string>;
  /** Adds or updates a peer (its allowed IPs are replaced). */
  setPeer(peer: WgPeerConfig): Promise<void>;
  /** Removes a peer; no error if it is absent. */
  removePeer(publicKey: string): Promise<void>;
  dump(): Promise<WgDump>;
  /** Removes the interface (idempotent). */
  destroy(): Promise<void>;
}

export interface InterfaceLookupOptions {
  netns?: string;
  log?: (line: string) => void;
}

const SOCKET_WAIT_MS = 5000;
const TERM_GRACE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The link's kind ('wireguard', 'tun', 'veth', '' when none) or undefined if it does not exist. */
export async function linkKind(name: string, netns?: string): Promise<string | undefined> {
  const r = await tryTool(IP, ['-d', '-j', 'link', 'show', 'dev', name], netns !== undefined ? { netns } : {});
  if (r.code !== 0) {
    if (/does not exist|cannot find device/i.test(r.stderr)) return undefined;
    throw new WgError(`\`ip link show dev ${name}\` failed: ${r.stderr.trim()}`);
  }
  const links = JSON.parse(r.stdout) as { linkinfo?: { info_kind?: string } }[];
  return links[0]?.linkinfo?.info_kind ?? '';
}

function validateMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new WgError(`MTU ${String(mtu)} is not an integer in 576..65535`);
  return mtu;
}

class Interface implements WgInterface {
  private destroying: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly backend: WgBackend,
    readonly netns: string | undefined,
    private readonly control: WgControl,
    private readonly remove: () => Promise<void>,
    readonly pid: number | undefined,
    readonly died: Promise<string> = new Promise<string>(() => undefined),
  ) {}

  setPeer(peer: WgPeerConfig): Promise<void> {
    return this.control.setPeer(peer);
  }

  removePeer(publicKey: string): Promise<void> {
    return this.control.removePeer(publicKey);
  }

  dump(): Promise<WgDump> {
    return this.control.dump();
  }

  destroy(): Promise<void> {
    this.destroying ??= this.remove();
    return this.destroying;
  }
}

/** Streams a child's output to `log`, one line at a time. */
function pipeLines(stream: NodeJS.ReadableStream | null, log: (line: string) => void): void {
  if (stream === null) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    let i;
    while ((i = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, i).trimEnd();
      rest = rest.slice(i + 1);
      if (line !== '') log(line);
    }
  });
  stream.on('end', () => {
    if (rest.trim() !== '') log(rest.trim());
  });
}

/** A spawned userspace implementation and the means to stop it. */
class UserspaceProcess {
  readonly exited: Promise<void>;
  /** Resolves with the reason when the process exits while nobody stopped it. */
  readonly died: Promise<string>;
  private hasExited = false;
  private stopping = false;
  /** recent output, quoted when it fails to start */
  readonly tail: string[] = [];

  constructor(readonly child: ChildProcess, readonly name: string, log: (line: string) => void) {
    const keep = (line: string) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      log(`${name}: ${line}`);
    };
    pipeLines(child.stdout, keep);
    pipeLines(child.stderr, keep);
    let died: (why: string) => void = () => undefined;
    this.died = new Promise((resolve) => { died = resolve; });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.hasExited = true;
        if (!this.stopping) {
          const why = `userspace WireGuard (pid ${child.pid ?? '?'}) exited unexpectedly (${signal ?? `status ${code}`})`;
          log(`${name}: ${why}`);
          died(why);
        }
        resolve();
      });
      child.once('error', (e) => {
        this.hasExited = true;
        log(`${name}: cannot run userspace WireGuard: ${e.message}`);
        if (!this.stopping) died(`cannot run userspace WireGuard: ${e.message}`);
        resolve();
      });
    });
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  /** SIGTERM, SIGKILL after TERM_GRACE_MS; resolves once the process is gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(TERM_GRACE_MS).then(() => true)]);
    if (timedOut) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Removes a stale socket file (one nobody accepts on). */
async function removeStaleSocket(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  if (await socketAccepts(path)) return false;
  try {
    unlinkSync(path);
  } catch {
    /* removed meanwhile */
  }
  return true;
}

async function startUserspace(command: string, name: string, netns: string | undefined, log: (line: string) => void): Promise<UserspaceProcess> {
  const path = socketPath(name);
  if (await socketAccepts(path)) {
    throw new WgError(`interface ${name} already exists: a userspace WireGuard serves ${path} (maybe in another network namespace; userspace interface names must be unique on the machine)`);
  }
  const argv = netns === undefined ? [command, '-f', name] : toolArgv(IP, ['netns', 'exec', netns, command, '-f', name]);
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'error', WG_PROCESS_FOREGROUND: '1' },
  });
  const proc = new UserspaceProcess(child, name, log);
  const deadline = Date.now() + SOCKET_WAIT_MS;
  for (;;) {
    if (!proc.alive) {
      await removeStaleSocket(path);
      const said = proc.tail.join(' | ');
      throw new WgError(`${command} -f ${name} exited before serving ${path}${said !== '' ? ': ' + said : ''}`);
    }
    if (await socketAccepts(path)) return proc;
    if (Date.now() > deadline) {
      await proc.stop();
      await removeStaleSocket(path);
      throw new WgError(`${command} -f ${name} did not serve ${path} within ${SOCKET_WAIT_MS} ms`);
    }
    await sleep(10);
  }
}

export async function createInterface(opts: CreateInterfaceOptions): Promise<WgInterface> {
  const name = validateInterfaceName(opts.name);
  const privateKey = validateKey(opts.privateKey, 'private key');
  const listenPort = validatePort(opts.listenPort, 'listen port', true);
  const addresses = opts.addresses.map((a) => {
    wgCidr(a);
    return a.trim();
  });
  const mtu = opts.mtu === undefined ? undefined : validateMtu(opts.mtu);
  const log = opts.log ?? (() => {});
  const netns = opts.netns;
  const nsOpt = netns !== undefined ? { netns } : {};

  const info = await detectBackend({ ...nsOpt, prefer: opts.backend ?? 'auto' });
  if ((await linkKind(name, netns)) !== undefined) {
    throw new WgError(`interface ${name} already exists${netns !== undefined ? ` in network namespace ${netns}` : ''}`);
  }

  let iface: Interface;
  let control: WgControl;
  if (info.backend === 'kernel') {
    await runTool(IP, ['link', 'add', 'dev', name, 'type', 'wireguard'], nsOpt);
    const remove = async () => {
      if ((await linkKind(name, netns)) !== undefined) await runTool(IP, ['link', 'del', 'dev', name], nsOpt);
    };
    control = new WgToolControl(name, netns);
    iface = new Interface(name, 'kernel', netns, control, remove, undefined);
  } else {
    const proc = await startUserspace(info.command, name, netns, log);
    const path = socketPath(name);
    const remove = async () => {
      await proc.stop();
      if (await removeStaleSocket(path)) log(`${name}: removed stale ${path}`);
    };
    control = new UapiControl(path);
    iface = new Interface(name, 'userspace', netns, control, remove, proc.child.pid, proc.died);
  }

  try {
    await control.setDevice(privateKey, listenPort);
    const batch = opts.alias !== undefined ? [`link set dev ${name} alias ${opts.alias}`] : [];
    batch.push(...addresses.map((a) => `address add ${a} dev ${name}`));
    if (mtu !== undefined) batch.push(`link set dev ${name} mtu ${mtu}`);
    batch.push(`link set dev ${name} up`);
    await runTool(IP, ['-b', '-'], { ...nsOpt, input: batch.join('\n') + '\n' });
  } catch (e) {
    await iface.destroy().catch(() => {});
    throw e;
  }
  log(`${name}: ${iface.backend} WireGuard up, port ${listenPort}, ${addresses.join(' ') || 'no address'}`);
  return iface;
}

/** The interface NAME if it exists (a userspace implementation serves its socket, or a kernel
 *  WireGuard link of that name is in `netns`), else null. Its destroy() is destroyInterface. */
export async function existingInterface(name: string, opts: InterfaceLookupOptions = {}): Promise<WgInterface | null> {
  validateInterfaceName(name);
  const netns = opts.netns;
  const remove = async () => {
    await destroyInterface(name, opts);
  };
  const path = socketPath(name);
  if (await socketAccepts(path)) {
    return new Interface(name, 'userspace', netns, new UapiControl(path), remove, socketOwners(path)[0]);
  }
  if ((await linkKind(name, netns)) === 'wireguard') {
    return new Interface(name, 'kernel', netns, new WgToolControl(name, netns), remove, undefined);
  }
  return null;
}

/** Removes interface NAME, whoever created it: stops the process serving
 *  /var/run/wireguard/NAME.sock (SIGTERM, SIGKILL after 2 s), removes a stale socket file, and
 *  deletes a kernel WireGuard link NAME in `netns`. Returns whether anything was removed.
 *  Throws, touching nothing, if NAME is a link of another kind (say, eth0). */
export async function destroyInterface(name: string, opts: InterfaceLookupOptions = {}): Promise<boolean> {
  validateInterfaceName(name);
  const log = opts.log ?? (() => {});
  const netns = opts.netns;
  const path = socketPath(name);
  const owners = socketOwners(path);
  const kindBefore = await linkKind(name, netns);
  if (owners.length === 0 && kindBefore !== undefined && kindBefore !== 'wireguard') {
    throw new WgError(`${name} is a ${kindBefore || 'non-WireGuard'} link, not a WireGuard interface: left alone`);
  }
  let removed = false;
  for (const pid of owners) {
    const how = await terminate(pid, TERM_GRACE_MS);
    log(`${name}: stopped pid ${pid} (${how === 'kill' ? 'SIGKILL' : how === 'term' ? 'SIGTERM' : 'already gone'})`);
    removed = true;
  }
  if (existsSync(path)) {
    if (await socketAccepts(path)) {
      throw new WgError(`${path} is still served by a process not found in /proc (another pid namespace?); stop it by hand`);
    }
    if (await removeStaleSocket(path)) {
      log(`${name}: removed stale ${path}`);
      removed = true;
    }
  }
  if ((await linkKind(name, netns)) === 'wireguard') {
    await runTool(IP, ['link', 'del', 'dev', name], netns !== undefined ? { netns } : {});
    log(`${name}: deleted the kernel WireGuard link`);
    removed = true;
  }
  return removed;
}

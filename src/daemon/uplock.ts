// One `wh up` or `wh down` at a time per interface, and the daemon holds it all its life: the
// per-interface lock (docs/NODE.md, "One start at a time").
//
// The lock is a Unix socket bound in Linux's abstract namespace ("\0wirehub-up:IFACE:…"):
// binding is atomic (EADDRINUSE when another process holds it) and the kernel releases it when
// the last process holding the socket exits, however it dies (SIGKILL included). So there is
// no stale lock to detect and take over, no pid to check (pid reuse), and nothing on disk to
// clean up. A detached `wh up` takes it before its first check and hands the very socket to
// the daemon process it forks (over the fork's IPC channel), so it is never free between the
// checks and the start. The name carries the control directory's hash: daemons with another
// WH_CONTROL_DIR (tests) have their own locks. Abstract names belong to a network namespace,
// as interface names do. Anyone on the machine may bind an abstract name: a local user can
// squat an interface's lock (as it can squat its UDP port); `wh up` then refuses, naming the
// holder's pid and uid (found through /proc, as src/wg/proc.ts finds a socket's server).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { controlDir } from '../control/protocol.js';
import { listeningInodes } from '../wg/proc.js';
import { deadline } from '../util/deadline.js';

export interface LockHolder { pid: number; uid: number | undefined }

/** Another `wh up`/`wh down` of this interface, or its daemon, holds the lock. */
export class UpLockBusy extends Error {
  constructor(readonly iface: string, readonly holders: LockHolder[]) {
    super(`${iface} is already up, starting or stopping (${describeHolders(holders)})`);
  }
}

function describeHolders(holders: LockHolder[]): string {
  const notRoot = holders.filter((h) => h.uid !== undefined && h.uid !== 0);
  if (notRoot.length > 0) {
    return `its lock is held by pid ${notRoot.map((h) => `${h.pid} of uid ${h.uid}`).join(', ')}: not root, so not WireHub; stop that process`;
  }
  const pids = holders.length > 0 ? ` (pid ${holders.map((h) => h.pid).join(', ')})` : '';
  return `its daemon, or another wh up or wh down of it, is running${pids}`;
}

/** The processes holding `iface`'s lock, from /proc (empty when it cannot tell). */
export function lockHolders(iface: string): LockHolder[] {
  let text: string;
  try { text = readFileSync('/proc/self/net/unix', 'utf8'); } catch { return []; }
  // /proc/net/unix shows an abstract name's NULs as '@' (Node pads the name with NULs).
  const name = '@' + upLockName(iface).slice(1);
  const padded = text.split('\n').map((l) => l.trim().split(/\s+/).slice(7).join(' ')).filter((p) => p.replace(/@+$/, '') === name);
  const wanted = new Set([...listeningInodes(text, padded)].map((i) => `socket:[${i}]`));
  const out: LockHolder[] = [];
  if (wanted.size === 0) return out;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${d}/fd`); } catch { continue; }
    const holds = fds.some((fd) => { try { return wanted.has(readlinkSync(`/proc/${d}/fd/${fd}`)); } catch { return false; } });
    if (!holds) continue;
    let uid: number | undefined;
    try { uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]); } catch { uid = undefined; }
    out.push({ pid: Number(d), uid: Number.isInteger(uid) ? uid : undefined });
  }
  return out;
}

export interface UpLock {
  /** Releases it (in this process; a process it was handed to still holds it). */
  release(): Promise<void>;
  /** Hands it to a forked child that asked for it with requestUpLock. */
  handTo(child: { send(m: unknown, h: net.Server): boolean }): void;
}

/** The abstract socket name of `iface`'s lock. */
export function upLockName(iface: string): string {
  const dir = createHash('sha256').update(controlDir()).digest('hex').slice(0, 16);
  return `\0wirehub-up:${iface}:${dir}`;
}

function wrap(server: net.Server): UpLock {
  // Nobody has anything to say to a lock: connections are closed at once.
  server.on('connection', (c) => c.destroy());
  server.unref();
  let released = false;
  return {
    release: () => new Promise<void>((resolve) => {
      if (released) return resolve();
      released = true;
      server.close(() => resolve());
    }),
    handTo: (child) => { child.send({ type: 'up-lock' }, server); },
  };
}

/** Takes `iface`'s lock now, or throws UpLockBusy. */
export function takeUpLock(iface: string): Promise<UpLock> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new UpLockBusy(iface, lockHolders(iface)) : e));
    server.listen(upLockName(iface), () => resolve(wrap(server)));
  });
}

/** In a daemon process forked by `wh up`: asks the parent for the lock it holds and waits for
 *  it (at most `timeoutMs`). */
export function requestUpLock(iface: string, timeoutMs: number): Promise<UpLock> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error(`no wh up to hand over the lock of ${iface}`));
    const timer = deadline(timeoutMs, () => { process.off('message', onMessage); reject(new Error(`wh up did not hand over the lock of ${iface} within ${timeoutMs / 1000} s`)); });
    const onMessage = (m: { type?: string }, handle: unknown): void => {
      if (m?.type !== 'up-lock' || !(handle instanceof net.Server)) return;
      timer.cancel();
      process.off('message', onMessage);
      resolve(wrap(handle));
    };
    process.on('message', onMessage);
    process.send({ type: 'want-up-lock' });
  });
}

// Finding and stopping the process that serves a unix socket, from /proc (Linux only), for
// `wh down` of an interface whose daemon is gone.
//
// How: /proc/PID/net/unix lists the unix sockets of PID's network namespace with their inode
// and bound path (/proc/net/unix shows only our own namespace, and wireguard-go usually runs
// in another). We read it once per network namespace, keep the inodes of listening sockets
// bound to the path, then look for a process holding "socket:[INODE]" among its fds. This
// names the exact process that owns the socket, whatever its name or command line (a
// WG_USERSPACE_IMPLEMENTATION other than wireguard-go works too), needs no `ss`, and finds
// processes in every network namespace of this pid namespace. Processes that vanish during
// the scan are skipped. A process counts only if it sees our socket file at that path (same
// device and inode through /proc/PID/root): one in a container that bound the same path in its
// own mount namespace is not ours to stop.
import { readdirSync, readFileSync, readlinkSync, existsSync, realpathSync, statSync } from 'node:fs';

/** Both spellings of a path under /var/run (a symlink to /run on Debian). */
function pathVariants(path: string): string[] {
  if (path.startsWith('/var/run/')) return [path, path.slice('/var'.length)];
  if (path.startsWith('/run/')) return [path, '/var' + path];
  return [path];
}

/** Device and inode of a file, or undefined. */
function fileId(p: string): string | undefined {
  try {
    const st = statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function pids(): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

function safeReadlink(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** Inodes of listening unix sockets bound to one of `paths`, from a /proc/…/net/unix text. */
export function listeningInodes(netUnix: string, paths: readonly string[]): Set<number> {
  const found = new Set<number>();
  for (const line of netUnix.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const flags = parseInt(f[3]!, 16);
    const path = f.slice(7).join(' ');
    if ((flags & 0x10000) !== 0 && paths.includes(path)) found.add(Number(f[6]));
  }
  return found;
}

/** Pids of the processes holding a listening unix socket bound to `path`. */
export function socketOwners(path: string): number[] {
  const paths = pathVariants(path);
  const all = pids();
  const inodes = new Set<number>();
  const seenNs = new Set<string>();
  for (const pid of all) {
    const ns = safeReadlink(`/proc/${pid}/ns/net`);
    if (ns === undefined || seenNs.has(ns)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/unix`, 'utf8');
    } catch {
      continue; // the process exited; another one of its namespace will do
    }
    seenNs.add(ns);
    for (const i of listeningInodes(text, paths)) inodes.add(i);
  }
  if (inodes.size === 0) return [];
  // /proc/…/net/unix shows bound paths as strings: a process in another mount namespace (a
  // container) may have bound the same path to another file. Only a process that sees our file
  // at that path (through /proc/PID/root, with the path's symlinks resolved on our side) is
  // its owner.
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return []; // no socket file here: nobody serves it
  }
  const ours = fileId(real);
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  const owners: number[] = [];
  for (const pid of all) {
    if (pid === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const l = safeReadlink(`/proc/${pid}/fd/${fd}`);
      if (l !== undefined && wanted.has(l)) {
        if (ours !== undefined && fileId(`/proc/${pid}/root${real}`) === ours) owners.push(pid);
        break;
      }
    }
  }
  return owners; // /proc lists processes (thread-group leaders), not their threads
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** SIGTERM, wait up to `graceMs` for the process to end, then SIGKILL and wait up to 1 s more.
 *  Returns how it ended. */
export async function terminate(pid: number, graceMs = 2000): Promise<'gone' | 'term' | 'kill'> {
  if (!processAlive(pid)) return 'gone';
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  send('SIGTERM');
  for (let t = 0; t < graceMs; t += 20) {
    if (!processAlive(pid)) return 'term';
    await sleep(20);
  }
  send('SIGKILL');
  for (let t = 0; t < 1000 && processAlive(pid); t += 20) await sleep(20);
  return 'kill';
}

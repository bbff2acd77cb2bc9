// Editing the hosts file (src/daemon/hostsblock.ts says what to write): one writer at a time,
// and an atomic rewrite. This is a system edge: it does file I/O and waits on real timers, which
// keep the process alive (a stopping daemon waits for the lock before it exits; an unref'd timer
// would let it exit with its block still in the file).
//
// The lock is the file FILE.wirehub-lock, holding its holder's pid, made by hard-linking a
// complete file to that name (atomic; it fails when the name exists), as shadow-utils locks
// /etc/passwd: it is held for the milliseconds of one read and rewrite.
// A lock whose pid is gone, or seen unchanged for HOSTS_LOCK_WAIT, is stale and is broken. (A
// file lock, not an abstract socket as src/daemon/uplock.ts uses: the hosts file is shared
// across network namespaces, abstract sockets are not.)
// The rewrite: the new text goes to a temporary file in the same directory, with the old
// file's mode and owner, is synced, and is renamed over the file; readers see the old or the
// new file, never a part. Where the file is a mount point (a container's bind-mounted
// /etc/hosts: rename says EBUSY) it is rewritten in place instead, still under the lock.
import fs from 'node:fs';
import path from 'node:path';
import { HOSTS_FILE, HOSTS_LOCK_RETRY, HOSTS_LOCK_WAIT } from '../params.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { realClock, type Clock } from '../util/clock.js';
import { hostsBlocks, replaceHostsBlock } from './hostsblock.js';

/** The hosts file this process edits: WH_HOSTS_FILE when set (tests), else /etc/hosts. */
export function hostsFilePath(): string {
  const env = process.env['WH_HOSTS_FILE'];
  return env !== undefined && env !== '' ? env : HOSTS_FILE;
}

const lockPath = (file: string): string => `${file}.wirehub-lock`;
const tmpPrefix = (file: string): string => `.${path.basename(file)}.wirehub-`;

/** One try at the lock: true when taken; else what holds it (to judge it stale). The lock is
 *  made complete (the pid written) under another name, then hard-linked to its name: link is
 *  atomic and fails if the name exists, so nobody ever reads a lock without its pid. */
function tryLock(file: string): true | { pid: number; ino: number } {
  const mine = `${lockPath(file)}.${process.pid}`;
  // Made anew, never opened through what is there: in a directory others may write (a
  // WH_HOSTS_FILE elsewhere than /etc), a symlink planted at this name would be written through.
  fs.rmSync(mine, { force: true });
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(mine, lockPath(file));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(mine, { force: true });
  }
  try {
    return tryRead(file);
  } catch {
    return { pid: 0, ino: -1 }; // gone meanwhile: try again at once
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Removes the lock if it is still the stale one we looked at: the same inode holding the same
 *  pid (an inode number alone is no identity: the freed inode of a broken lock is soon reused,
 *  e.g. by the lock another waiter took meanwhile, which must not be broken). */
function breakLock(file: string, stale: { pid: number; ino: number }): void {
  try {
    const now = tryRead(file);
    if (now.ino === stale.ino && now.pid === stale.pid) fs.unlinkSync(lockPath(file));
  } catch { /* gone */ }
}

/** The lock's inode and pid (the pid read once the inode is known: a changed pid shows). */
function tryRead(file: string): { pid: number; ino: number } {
  const ino = fs.statSync(lockPath(file)).ino;
  return { pid: Number(fs.readFileSync(lockPath(file), 'utf8').trim()), ino };
}

/** The lock loop: `pause` waits between tries (async or sync). */
function* lockSteps(file: string, clock: Clock): Generator<number, void, void> {
  const start = clock.now();
  let seen: { ino: number; pid: number; since: number } | undefined;
  for (;;) {
    const r = tryLock(file);
    if (r === true) return;
    if (r.ino < 0) continue;
    if (seen?.ino !== r.ino || seen.pid !== r.pid) seen = { ino: r.ino, pid: r.pid, since: clock.now() };
    if (!alive(r.pid) || clock.now() - seen.since >= HOSTS_LOCK_WAIT) { breakLock(file, r); continue; }
    if (clock.now() - start >= 2 * HOSTS_LOCK_WAIT) throw new Error(`${file}: cannot lock it: ${lockPath(file)} is held by pid ${r.pid}`);
    yield HOSTS_LOCK_RETRY;
  }
}

/** Under the lock: reads the file, edits its text, writes it back if it changed. */
function rewrite(file: string, edit: (text: string) => string): boolean {
  let st: fs.Stats | undefined;
  try { st = fs.statSync(file); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
  const text = st ? fs.readFileSync(file, 'utf8') : '';
  const next = edit(text);
  if (next === text) return false;
  const dir = path.dirname(file);
  // We hold the lock: a temporary file of ours in the directory is a dead writer's.
  for (const f of fs.readdirSync(dir)) if (f.startsWith(tmpPrefix(file))) fs.rmSync(path.join(dir, f), { force: true });
  const tmp = path.join(dir, `${tmpPrefix(file)}${process.pid}.tmp`);
  const mode = st ? st.mode & 0o7777 : 0o644;
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, next);
    fs.fchmodSync(fd, mode);
    if (st) fs.fchownSync(fd, st.uid, st.gid);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code !== 'EBUSY' && (e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    fs.writeFileSync(file, next); // a mount point: in place
  }
  return true;
}

/** Whether `file` has the block of `iface` (read without the lock: a leftover's quick check). */
export function hasHostsBlock(file: string, iface: string): boolean {
  try { return hostsBlocks(fs.readFileSync(file, 'utf8')).includes(iface); } catch { return false; }
}

/** Removes the block of `iface` from `file` if there is one (a dead run's leftover); true
 *  when it did. */
export async function removeHostsBlock(file: string, iface: string): Promise<boolean> {
  return hasHostsBlock(file, iface) && editHostsFile(file, (text) => replaceHostsBlock(text, iface, undefined));
}

/** The same, synchronously (the crash path's last resort, src/daemon/system.ts). */
export function removeHostsBlockSync(file: string, iface: string): boolean {
  return hasHostsBlock(file, iface) && editHostsFileSync(file, (text) => replaceHostsBlock(text, iface, undefined));
}

/** Edits the hosts file under its lock; true when it changed. */
export async function editHostsFile(file: string, edit: (text: string) => string): Promise<boolean> {
  const steps = lockSteps(file, realClock);
  for (let s = steps.next(); !s.done; s = steps.next()) await sleep(s.value);
  try { return rewrite(file, edit); } finally { fs.rmSync(lockPath(file), { force: true }); }
}

/** editHostsFile, synchronously. */
export function editHostsFileSync(file: string, edit: (text: string) => string): boolean {
  const steps = lockSteps(file, realClock);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let s = steps.next(); !s.done; s = steps.next()) Atomics.wait(pause, 0, 0, s.value);
  try { return rewrite(file, edit); } finally { fs.rmSync(lockPath(file), { force: true }); }
}

// Finding the processes that live in given network namespaces (by scanning /proc once, no
// child process), and deleting namespaces.
import { existsSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { run, runSync } from './exec.js';

/** The nsfs inode of a named namespace (/run/netns/NAME), or null if there is no such name. */
export function netnsInode(ns: string): number | null {
  try {
    return statSync(`/run/netns/${ns}`).ino;
  } catch {
    return null;
  }
}

/** Pids of the processes whose network namespace is one of `names`. */
export function pidsInNamespaces(names: readonly string[]): number[] {
  const inodes = new Set<string>();
  for (const n of names) {
    const ino = netnsInode(n);
    if (ino !== null) inodes.add(`net:[${ino}]`);
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${e}/ns/net`))) pids.push(Number(e));
    } catch {
      /* exited meanwhile, or a kernel thread */
    }
  }
  return pids;
}

export function killPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

/** `ip netns del` lines for the names that still exist, most recent first. */
function deleteBatch(names: readonly string[]): string {
  return [...names].reverse().filter((n) => existsSync(`/run/netns/${n}`)).map((n) => `netns del ${n}`).join('\n');
}

/**
 * Kills (SIGKILL) whatever still runs inside `names`, then deletes them in one `ip -force -b -`.
 * Deleting a namespace deletes its interfaces, and so both ends of every veth pair in it.
 * Returns the names that could not be deleted.
 */
export async function deleteNamespaces(names: readonly string[]): Promise<string[]> {
  killPids(pidsInNamespaces(names), 'SIGKILL');
  const batch = deleteBatch(names);
  if (batch) await run(['ip', '-force', '-b', '-'], { input: batch + '\n', timeoutMs: 15_000 });
  return names.filter((n) => existsSync(`/run/netns/${n}`));
}

export function deleteNamespacesSync(names: readonly string[]): string[] {
  killPids(pidsInNamespaces(names), 'SIGKILL');
  const batch = deleteBatch(names);
  if (batch) runSync(['ip', '-force', '-b', '-'], { input: batch + '\n', timeoutMs: 15_000 });
  return names.filter((n) => existsSync(`/run/netns/${n}`));
}

/** Waits until every child exited, or `ms` passed. */
export function waitExits(children: ChildProcess[], ms: number): Promise<void> {
  const waiting = children.filter((c) => c.exitCode === null && c.signalCode === null);
  if (waiting.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let left = waiting.length;
    const timer = setTimeout(resolve, ms);
    for (const c of waiting) c.once('exit', () => { if (--left === 0) { clearTimeout(timer); resolve(); } });
  });
}

/** Polls `cond` every 20 ms until it holds or `ms` passed. */
export async function sleepUntil(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

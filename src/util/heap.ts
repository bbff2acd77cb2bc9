// The daemon's V8 heap, sized for a process that is idle most of the time. A process edge:
// bin/wh.js calls it first thing in a daemon's process (`wh up ... --foreground`, which is also
// what a detached `wh up` forks), before any of the CLI's modules load; `wh up` calls it again
// (harmless) for callers of the CLI's main() that did not come through bin/wh.js.
// Measured with bench:mesh (40 public nodes, 39 peers each; docs/NODE.md "Memory"):
// - V8's young generation starts at 1 MiB a semi-space and grows up to 16 MiB under a burst of
//   allocation and is not given back. Growth factor 1 keeps it at its initial size, for more
//   frequent, smaller scavenges (median RSS 105 -> 79-82 MiB). Loading the CLI's modules is
//   such a burst: set after they loaded (as before), the young generation was already 4 MiB a
//   semi-space (new space 8 MiB, 5.5 MiB resident); set before, it stays 1 MiB (2 MiB, 1.5).
// - --optimize-for-size makes V8 favour memory over speed (smaller heap growth steps, less
//   optimized code): median RSS 79 -> 73 MiB, idle CPU unchanged within noise. Set before the
//   modules load, the old space after loading them is 7.0 MiB instead of 8.5.
// - --v8-pool-size=1 (DAEMON_V8_POOL_SIZE): one background worker thread for V8's GC and
//   compiler tasks instead of Node's 4, each of which kept a malloc arena: median RSS 3-5 MiB
//   lower in three runs (bench:mesh MESH_VARIANTS, a quarter of the daemons each way). Node reads it only when a process starts, so it cannot be set here:
//   a detached `wh up` gives it to the daemon it forks (daemonExecArgv), and a foreground
//   daemon gets it from NODE_OPTIONS (systemd: docs/NODE.md "Memory"; bench:mesh does so).
// None disables a compiler (--lite-mode and --jitless are rejected: docs/DECISIONS.md).
// `--max-semi-space-size` would be the same cap as the growth factor, but V8 reads it only at
// a process's start too (set here at run time it changes nothing, measured). Flags that would
// take GC work off the background threads at run time are unsafe: --single-threaded-gc set
// this way aborted the daemon in its next GC (a V8 check in cppgc's concurrent marker).
import v8 from 'node:v8';
import { DAEMON_SEMI_SPACE_GROWTH, DAEMON_V8_POOL_SIZE } from '../params.js';

/** Node's options for a daemon's process, given at its start (NODE_OPTIONS or the command line). */
export const DAEMON_NODE_OPTIONS = [`--v8-pool-size=${DAEMON_V8_POOL_SIZE}`] as const;

/** The command-line options of a daemon that this process forks: its own, with the daemon's. */
export function daemonExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  return [...execArgv.filter((a) => !a.startsWith('--v8-pool-size')), ...DAEMON_NODE_OPTIONS];
}

/** True when `argv` (process.argv) starts a daemon in this process: `wh up ... --foreground`. */
export function isDaemonArgv(argv: readonly string[]): boolean {
  return argv[2] === 'up' && argv.includes('--foreground');
}

export function sizeHeapForDaemon(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${DAEMON_SEMI_SPACE_GROWTH}`);
  v8.setFlagsFromString('--optimize-for-size');
}

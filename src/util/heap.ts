// The daemon's V8 heap, sized for a process that is idle most of the time. Called by bin/wh.js
// before the CLI's modules are loaded when the process is a daemon (`wh up --foreground`, also
// what a detached `wh up` forks), so the settings hold for the compilation of every module, and
// again by the daemon's start (a no-op then). Measured with bench:mesh (40 public nodes, 39
// peers each):
// - V8's young generation starts at 1 MiB a semi-space and grows to 16 MiB under a burst of
//   allocation (start-up, a mesh forming), and is not given back: about 25 MiB of each daemon's
//   resident memory was an empty nursery. Growth factor 1 keeps it at its initial size, for
//   more frequent, smaller scavenges (median RSS 105 -> 79-82 MiB).
// - --optimize-for-size makes V8 favour memory over speed (smaller heap growth steps, less
//   optimized code): median RSS 79 -> 73 MiB, idle CPU unchanged within noise. The daemon's
//   hot paths (relayed WireGuard packets) are forwarded in the relay's kernel by default.
// - --lite-mode: no optimizing compilers, feedback vectors allocated lazily. In one 40-node mesh
//   (a third of the daemons each way, the same run): median RSS 73.4 -> 59.6 MiB. Starting-only
//   options (MALLOC_ARENA_MAX=2, --v8-pool-size=1) saved 1.4 MiB more there and are not used.
import v8 from 'node:v8';
import { DAEMON_SEMI_SPACE_GROWTH } from '../params.js';

let sized = false;

export function sizeHeapForDaemon(): void {
  if (sized) return;
  sized = true;
  v8.setFlagsFromString(`--semi-space-growth-factor=${DAEMON_SEMI_SPACE_GROWTH}`);
  v8.setFlagsFromString('--optimize-for-size');
  v8.setFlagsFromString('--lite-mode');
}

/** True for the arguments of a daemon process: `wh up ... --foreground`. */
export function isDaemonArgv(args: readonly string[]): boolean {
  return args[0] === 'up' && args.includes('--foreground');
}

// The daemon's V8 heap, sized for a process that is idle most of the time (called once at its
// start: a process edge). Measured with bench:mesh (40 public nodes, 39 peers each; a heap
// snapshot of one daemon: 14 MiB live, 4 MiB of it libsodium's wasm memory):
// - V8's young generation starts at 1 MiB a semi-space and grows to 16 MiB under a burst of
//   allocation (start-up, a mesh forming), and is not given back: about 25 MiB of each daemon's
//   resident memory was an empty nursery. Growth factor 1 keeps it at its initial size, for
//   more frequent, smaller scavenges (median RSS 105 -> 79-82 MiB).
// - --optimize-for-size makes V8 favour memory over speed (smaller heap growth steps, less
//   optimized code): median RSS 79 -> 73 MiB, idle CPU unchanged within noise. The daemon's
//   hot paths (relayed WireGuard packets) are forwarded in the relay's kernel by default.
import v8 from 'node:v8';
import { DAEMON_SEMI_SPACE_GROWTH } from '../params.js';

export function sizeHeapForDaemon(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${DAEMON_SEMI_SPACE_GROWTH}`);
  v8.setFlagsFromString('--optimize-for-size');
}

// V8's young generation starts at 1 MiB a semi-space and grows to 16 MiB under a burst of
// allocation; it is not given back afterwards. A daemon's bursts (start-up, a mesh forming) made
// it grow to its maximum: with 39 peers, about 30 MiB of a daemon's resident memory was the empty
// nursery, while its live heap was 14 MiB (bench/mesh.ts, heap snapshot). Keeping the semi-spaces
// at their initial size costs more frequent, smaller scavenges of a heap that is mostly garbage.
import v8 from 'node:v8';
import { DAEMON_SEMI_SPACE_GROWTH } from '../params.js';

/** Called once at the daemon's start (a process edge). */
export function keepYoungGenerationSmall(): void {
  v8.setFlagsFromString(`--semi-space-growth-factor=${DAEMON_SEMI_SPACE_GROWTH}`);
}

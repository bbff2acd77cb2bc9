// What `wh up` says about the boot nodes once the daemon is ready: a refusal of this key for its
// workbit, or boot nodes that did not answer. Asks the daemon (`show`) for at most UP_BOOT_WAIT.
import { callDaemon } from '../control/client.js';
import type { BootStatus } from '../daemon/contact.js';
import { UP_BOOT_POLL, UP_BOOT_WAIT } from '../params.js';

/** Messages about the boot nodes not answering this node; [] when all answered (or none is set). */
export async function bootReport(iface: string, wait = UP_BOOT_WAIT): Promise<string[]> {
  const deadline = Date.now() + wait;
  let boots: BootStatus[] = [];
  for (;;) {
    try {
      boots = ((await callDaemon(iface, { cmd: 'show', all: false })) as { boots?: BootStatus[] }).boots ?? [];
    } catch {
      return []; // the daemon is gone: its own exit is reported elsewhere
    }
    const settled = boots.every((b) => b.state !== 'pending');
    if (settled || Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, UP_BOOT_POLL));
  }
  return boots.filter((b) => b.state !== 'answered').map((b) =>
    b.message ?? `boot node ${b.address} has not answered yet (after ${wait / 1000} s; see wh show ${iface})`);
}

// Waiting until the kernel has delivered what a closed TCP socket sent. A process that closes a
// socket returns at once, with data and its FIN possibly still unacknowledged in the kernel's
// send queue; the kernel goes on sending them only while the path exists. `0nc` removes its
// node (its WireGuard interface, the path) right after its streams end, so it first waits here
// until the connection's row in /proc/net/tcp (this network namespace's) is gone, or shows
// nothing left to acknowledge: an empty send queue in a state past our FIN's acknowledgement.
import fs from 'node:fs';

export interface Endpoints {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

// States (include/net/tcp_states.h) in which our FIN is acknowledged, or the connection is gone.
const DONE_STATES = new Set(['05' /* FIN_WAIT2 */, '06' /* TIME_WAIT */, '07' /* CLOSE */]);

/** An IPv4 address and port as /proc/net/tcp writes them: "0100007F:1F90" for 127.0.0.1:8080. */
export function procAddr(address: string, port: number): string | undefined {
  const m = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (m === null) return undefined;
  const hex = (n: string) => Number(n).toString(16).toUpperCase().padStart(2, '0');
  return `${hex(m[4]!)}${hex(m[3]!)}${hex(m[2]!)}${hex(m[1]!)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** True when /proc/net/tcp's text shows nothing of the connection left to acknowledge. */
export function drained(procNetTcp: string, e: Endpoints): boolean {
  const local = procAddr(e.localAddress, e.localPort), remote = procAddr(e.remoteAddress, e.remotePort);
  if (local === undefined || remote === undefined) return true; // not IPv4: nothing to look at
  for (const line of procNetTcp.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] !== local || f[2] !== remote) continue;
    const txQueue = parseInt((f[4] ?? '0:0').split(':')[0]!, 16);
    if (!DONE_STATES.has(f[3] ?? '') || txQueue !== 0) return false;
  }
  return true;
}

/** Waits (polling, at most `timeoutMs`) until the connection is drained; false if it was not. */
export async function waitDrained(e: Endpoints, timeoutMs: number, pollMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try { text = fs.readFileSync('/proc/net/tcp', 'utf8'); } catch { return true; }
    if (drained(text, e)) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

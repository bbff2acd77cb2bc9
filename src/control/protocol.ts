// The local control protocol between `wh` and a running daemon, over a Unix socket
// (CONTROL_DIR/IFACE.sock, mode 0600, root only). One request per connection: the client
// writes one JSON object and a newline, the daemon answers with one JSON object and a newline
// and closes. The daemon takes requests of at most CONTROL_MAX_REQUEST bytes, delivered within
// CONTROL_REQUEST_DEADLINE, from at most CONTROL_MAX_CONNECTIONS connections at once (server.ts);
// the CLI takes answers of at most MAX_CONTROL_MESSAGE bytes.
import path from 'node:path';
import { CONTROL_DIR, PEER_QUERY_MAX } from '../params.js';

export type ControlRequest =
  | { cmd: 'show'; all?: boolean }
  | { cmd: 'reload' }
  | { cmd: 'down' }
  | { cmd: 'ping'; peer: string; timeoutMs?: number }
  /** Which peer (or this node) a hostname, overlay IP, key or key prefix names (src/control/resolve.ts). */
  | { cmd: 'resolve'; peer: string }
  /** Registers an invitation: its alias PUBLIC key (base64), the joiner's hostname, the expiry
   *  (wall-clock ms). The secret stays with `wh invite`. */
  | { cmd: 'invite'; alias: string; hostname?: string; expires: number };

export type ControlResponse = { ok: true; result: unknown } | { ok: false; error: string };

export function socketPath(iface: string, dir = process.env.WH_CONTROL_DIR ?? CONTROL_DIR): string {
  return path.join(dir, `${iface}.sock`);
}

export function controlDir(): string {
  return process.env.WH_CONTROL_DIR ?? CONTROL_DIR;
}

/** Validates a decoded request; undefined when it is not one. */
export function parseRequest(value: unknown): ControlRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  switch (v.cmd) {
    case 'show': return { cmd: 'show', all: v.all === true };
    case 'reload': return { cmd: 'reload' };
    case 'down': return { cmd: 'down' };
    case 'invite':
      if (typeof v.alias !== 'string' || typeof v.expires !== 'number' || (v.hostname !== undefined && typeof v.hostname !== 'string')) return undefined;
      return { cmd: 'invite', alias: v.alias, expires: v.expires, ...(typeof v.hostname === 'string' ? { hostname: v.hostname } : {}) };
    case 'ping':
      if (typeof v.peer !== 'string' || v.peer.length > PEER_QUERY_MAX || (v.timeoutMs !== undefined && typeof v.timeoutMs !== 'number')) return undefined
      return { cmd: 'ping', peer: v.peer, ...(typeof v.timeoutMs === 'number' ? { timeoutMs: v.timeoutMs } : {}) }
    case 'resolve': return typeof v.peer === 'string' && v.peer.length <= PEER_QUERY_MAX ? { cmd: 'resolve', peer: v.peer } : undefined;
    default: return undefined;
  }
}

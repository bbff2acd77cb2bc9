// The local control protocol between `wh` and a running daemon, over a Unix socket
// (CONTROL_DIR/IFACE.sock, mode 0600, root only). One request per connection: the client
// writes one JSON object and a newline, the daemon answers with one JSON object and a newline
// and closes. The daemon takes requests of at most CONTROL_MAX_REQUEST bytes, delivered within
// CONTROL_REQUEST_DEADLINE, from at most CONTROL_MAX_CONNECTIONS connections at once (server.ts);
// the CLI takes answers of at most MAX_CONTROL_MESSAGE bytes.
import path from 'node:path';
import { CONTROL_DIR } from '../params.js';

export type ControlRequest =
  | { cmd: 'show'; all?: boolean }
  | { cmd: 'reload' }
  | { cmd: 'down' }
  | { cmd: 'ping'; peer: string; timeoutMs?: number };

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
    case 'ping':
      if (typeof v.peer !== 'string' || (v.timeoutMs !== undefined && typeof v.timeoutMs !== 'number')) return undefined;
      return { cmd: 'ping', peer: v.peer, ...(typeof v.timeoutMs === 'number' ? { timeoutMs: v.timeoutMs } : {}) };
    default: return undefined;
  }
}

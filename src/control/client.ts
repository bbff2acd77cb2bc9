// The CLI's side of the control socket: one request, one answer, within a deadline.
import fs from 'node:fs';
import net from 'node:net';
import { CONTROL_TIMEOUT, MAX_CONTROL_MESSAGE } from '../params.js';
import { isInterfaceName } from '../wg/names.js';
import { controlDir, socketPath, type ControlRequest } from './protocol.js';

export class ControlError extends Error {
  constructor(message: string, readonly code: 'no-daemon' | 'stale' | 'timeout' | 'protocol' | 'daemon' | 'permission') {
    super(message);
  }
}

const denied = (code: string | undefined): boolean => code === 'EACCES' || code === 'EPERM';

/** "PATH: permission denied (needs root)": the control directory and sockets are root's. */
function permissionError(what: string, file: string): ControlError {
  return new ControlError(`${what}: ${file}: permission denied (needs root)`, 'permission');
}

export function callDaemon(iface: string, req: ControlRequest, timeout = CONTROL_TIMEOUT): Promise<unknown> {
  const file = socketPath(iface);
  return new Promise((resolve, reject) => {
    // A name like "../x" would reach a socket outside the control directory.
    if (!isInterfaceName(iface)) return reject(new ControlError(`${JSON.stringify(iface.slice(0, 40))} is not an interface name (1 to 15 of A-Z a-z 0-9 _ = + . -)`, 'protocol'));
    try {
      fs.statSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (denied(code)) return reject(permissionError(`cannot reach the daemon of ${iface}`, file));
      if (code === 'ENOENT') return reject(new ControlError(`no daemon is running for ${iface} (no ${file})`, 'no-daemon'));
      return reject(new ControlError(`cannot reach the daemon of ${iface}: ${(e as Error).message}`, 'protocol'));
    }
    const conn = net.connect(file);
    let buf = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err); else resolve(value);
    };
    const timer = setTimeout(() => finish(new ControlError(`the daemon of ${iface} did not answer within ${timeout / 1000} s`, 'timeout')), timeout);
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'));
    conn.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') finish(new ControlError(`the daemon of ${iface} is not running (stale socket ${file})`, 'stale'));
      else if (denied(e.code)) finish(permissionError(`cannot reach the daemon of ${iface}`, file));
      else finish(new ControlError(`cannot reach the daemon of ${iface}: ${e.message}`, 'protocol'));
    });
    conn.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_CONTROL_MESSAGE) return finish(new ControlError('answer too large', 'protocol'));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let r: { ok?: boolean; result?: unknown; error?: string };
      try { r = JSON.parse(buf.slice(0, nl)) as typeof r; } catch { return finish(new ControlError('the daemon sent an answer that is not JSON', 'protocol')); }
      if (r.ok === true) finish(undefined, r.result);
      else finish(new ControlError(String(r.error ?? 'unknown error'), 'daemon'));
    });
    conn.on('end', () => finish(new ControlError(`the daemon of ${iface} closed the connection without answering`, 'protocol')));
  });
}

/** Interfaces that have a control socket (daemons running, or stale sockets); none when the
 *  control directory does not exist. Throws a ControlError when it cannot be read. */
export function listDaemons(): string[] {
  const dir = controlDir();
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.sock')).map((f) => f.slice(0, -5)).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (denied(code)) throw permissionError('cannot list the running daemons', dir);
    throw new ControlError(`cannot list the running daemons: ${dir}: ${(e as Error).message}`, 'protocol');
  }
}

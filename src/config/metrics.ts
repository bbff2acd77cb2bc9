// The `metrics HOST:PORT` directive: serve the node's counters in the Prometheus text format on
// HTTP at that address (docs/CONFIG.md, "metrics HOST:PORT"; src/daemon/metricsserver.ts). Pure.
import { parseHostPort } from './host.js';
import { quoteToken } from './errors.js';

export interface MetricsListen {
  /** An IP address (IPv6 without brackets): what the server binds, exactly. */
  host: string;
  port: number;
  /** The line of the directive (errors at bind time name it). */
  line: number;
}

const USAGE = '(usage: metrics IP:PORT, e.g. metrics 127.0.0.1:9586 or metrics [::1]:9586)';

/** Reads the one argument of `metrics`; reports a problem through `fail`. */
export function parseMetricsLine(args: string[], line: number, fail: (line: number, message: string) => void): MetricsListen | undefined {
  if (args.length !== 1) {
    fail(line, `"metrics" takes exactly one argument, got ${args.length === 0 ? 'none' : args.length} ${USAGE}`);
    return undefined;
  }
  const r = parseHostPort(args[0]!, { requirePort: true });
  if (!r.ok) { fail(line, `invalid metrics address: ${r.error} ${USAGE}`); return undefined; }
  // No name lookup at `wh up` or `wh reload`: the address bound is the one written.
  if (r.value.kind === 'hostname') { fail(line, `"metrics" takes an IP address, not a hostname (${quoteToken(r.value.host)}) ${USAGE}`); return undefined; }
  return { host: r.value.host, port: r.value.port, line };
}

/** "HOST:PORT" as written in URLs ("[::1]:9586" for IPv6). */
export function metricsAddress(m: { host: string; port: number }): string {
  return m.host.includes(':') ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`;
}

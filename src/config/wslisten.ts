// The WebSocket transport's directives (docs/CONFIG.md, "listen ws://IP:PORT" and the ws form of
// "boot"): where a node serves WebSocket connections, and a boot node reached over WebSocket.
// Pure: the certificate and key files of `wss://` are read when the node starts.
import { isIP } from 'node:net';
import { quoteToken } from './errors.js';
import { hostnameError, type HostKind } from './host.js';
import { canonicalIp } from '../net/wsforwarded.js';

export interface WsListen {
  /** wss:// (TLS with `cert` and `key`) or ws:// (plain, or behind a TLS-terminating proxy). */
  tls: boolean;
  /** An IP address (IPv6 without brackets): what the server binds, exactly. */
  host: string;
  port: number;
  cert?: string;
  key?: string;
  /** `trusted-proxy IP` (repeatable): reverse proxies whose X-Forwarded-For names the client
   *  (src/net/wsforwarded.ts); canonical addresses. Absent: the header is never read. */
  trustedProxies?: string[];
  line: number;
}

/** The WebSocket endpoint of a `boot` line. */
export interface WsUrl {
  tls: boolean;
  host: string;
  kind: HostKind;
  port: number;
  /** The URL as the client connects to it (path kept, for a reverse proxy). */
  url: string;
}

const LISTEN_USAGE = '(usage: listen ws://IP:PORT [trusted-proxy IP]..., or listen wss://IP:PORT cert FILE key FILE [trusted-proxy IP]...)';

/** Reads a ws:// or wss:// URL (the port defaults to 80 / 443); an error text when it is not one. */
export function parseWsUrl(text: string): { ok: true; value: WsUrl } | { ok: false; error: string } {
  const m = /^(wss?):\/\//i.exec(text);
  if (!m) return { ok: false, error: `${quoteToken(text)} is not a ws:// or wss:// URL` };
  let u: URL;
  try { u = new URL(text); } catch { return { ok: false, error: `${quoteToken(text)} is not a valid URL` }; }
  if (u.username !== '' || u.password !== '') return { ok: false, error: 'a WebSocket URL takes no user name or password' };
  if (u.search !== '' || u.hash !== '') return { ok: false, error: 'a WebSocket URL takes no query or fragment' };
  const tls = u.protocol === 'wss:';
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const family = isIP(host);
  if (family === 0) {
    const why = hostnameError(host);
    if (why !== undefined) return { ok: false, error: why };
  }
  const port = u.port === '' ? (tls ? 443 : 80) : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, error: `port ${u.port} is not 1..65535` };
  return { ok: true, value: { tls, host, kind: family === 4 ? 'ipv4' : family === 6 ? 'ipv6' : 'hostname', port, url: u.href } };
}

/** Reads the arguments of `listen`; reports a problem through `fail`. */
export function parseListenLine(args: string[], line: number, fail: (line: number, message: string) => void): WsListen | undefined {
  if (args.length === 0) { fail(line, `"listen" needs a URL ${LISTEN_USAGE}`); return undefined; }
  const r = parseWsUrl(args[0]!);
  if (!r.ok) { fail(line, `invalid listen URL: ${r.error} ${LISTEN_USAGE}`); return undefined; }
  const { tls, host, kind, port } = r.value;
  if (kind === 'hostname') { fail(line, `"listen" takes an IP address, not a hostname (${quoteToken(host)}) ${LISTEN_USAGE}`); return undefined; }
  if (!/^wss?:\/\/[^/]+\/?$/i.test(args[0]!)) { fail(line, `"listen" takes no path (the server answers on every path) ${LISTEN_USAGE}`); return undefined; }
  const opts: Record<string, string> = {};
  const trusted: string[] = [];
  const rest = args.slice(1);
  for (let i = 0; i < rest.length; i += 2) {
    const name = rest[i]!, value = rest[i + 1];
    if (name === 'trusted-proxy') {
      if (value === undefined) { fail(line, `"trusted-proxy" needs an IP address ${LISTEN_USAGE}`); return undefined; }
      const ip = canonicalIp(value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value);
      if (ip === undefined) { fail(line, `"trusted-proxy" takes an IP address, not ${quoteToken(value)} (no hostname, range or port) ${LISTEN_USAGE}`); return undefined; }
      if (trusted.includes(ip)) { fail(line, `trusted-proxy ${ip} given twice ${LISTEN_USAGE}`); return undefined; }
      trusted.push(ip);
      continue;
    }
    if (name !== 'cert' && name !== 'key') { fail(line, `unknown listen option ${quoteToken(name)} ${LISTEN_USAGE}`); return undefined; }
    if (value === undefined) { fail(line, `"${name}" needs a file ${LISTEN_USAGE}`); return undefined; }
    if (opts[name] !== undefined) { fail(line, `"${name}" given twice ${LISTEN_USAGE}`); return undefined; }
    opts[name] = value;
  }
  if (tls && (opts.cert === undefined || opts.key === undefined)) { fail(line, `wss:// needs "cert FILE" and "key FILE" (behind a TLS-terminating proxy, listen on ws://) ${LISTEN_USAGE}`); return undefined; }
  if (!tls && (opts.cert !== undefined || opts.key !== undefined)) { fail(line, `ws:// is plain: "cert" and "key" go with wss:// ${LISTEN_USAGE}`); return undefined; }
  return { tls, host, port, ...(opts.cert !== undefined ? { cert: opts.cert } : {}), ...(opts.key !== undefined ? { key: opts.key } : {}),
    ...(trusted.length > 0 ? { trustedProxies: trusted } : {}), line };
}

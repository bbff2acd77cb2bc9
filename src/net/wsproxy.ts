// Which HTTP proxy a WebSocket client goes through, if any: the `proxy` directive of the network
// file, else the environment, following curl's rules (docs/NODE.md, "HTTP proxies"). Pure: the
// environment is passed in. src/net/wsdial.ts turns the answer into `ws` client options.
import { isIP } from 'node:net';
import { parseIp, parseIpPrefix, prefixMask } from '../util/ip.js';

/** The environment variables read (process.env in the daemon, a literal object in tests). */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

/** The `proxy` directive: a proxy URL, or `none` (no proxy, whatever the environment says). */
export type ProxyDirective = { kind: 'url'; url: string } | { kind: 'none' };

export interface ProxyChoice {
  /** The proxy to CONNECT through (credentials kept, for the Proxy-Authorization header), or
   *  null for a direct connection. */
  proxy: URL | null;
  /** Why: `directive`, the variable's name (`https_proxy`, ...), `none` (the directive says
   *  none), `no_proxy` / `NO_PROXY` (the target is excluded), or `unset`. */
  source: string;
}

export class ProxyConfigError extends Error {}

/** Default ports of a proxy URL without one, as curl's. */
const DEFAULT_PORT: Record<string, string> = { 'http:': '1080', 'https:': '443' };

/**
 * Reads a proxy URL as curl does: `http://` or `https://` (a proxy spoken to over TLS), no
 * scheme meaning `http://`, no port meaning 1080 (443 for https). Throws ProxyConfigError (with
 * the URL redacted) for anything else: another scheme (socks is not supported), a path, no host.
 */
export function parseProxyUrl(text: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new ProxyConfigError(`invalid proxy URL ${redactProxyText(text)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ProxyConfigError(`unsupported proxy scheme ${JSON.stringify(u.protocol.slice(0, -1))} in ${redactProxyUrl(u)} (an HTTP proxy: http:// or https://)`);
  }
  if (u.hostname === '') throw new ProxyConfigError(`proxy URL without a host: ${redactProxyUrl(u)}`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') {
    throw new ProxyConfigError(`a proxy URL has no path or query: ${redactProxyUrl(u)}`);
  }
  // URL drops a scheme's own default port (":80" for http): only a URL written without one
  // gets curl's default.
  const written = /^[^:]+:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/.exec(withScheme);
  if (u.port === '' && !written) u.port = DEFAULT_PORT[u.protocol]!;
  return u;
}

/** A proxy URL safe to print: `user:pass@` becomes `***@`; no path. */
export function redactProxyUrl(u: URL): string {
  const auth = u.username !== '' || u.password !== '' ? '***@' : '';
  return `${u.protocol}//${auth}${u.host}`;
}

/** Redacts text that may not even parse as a URL: anything up to the last '@' of the authority. */
export function redactProxyText(text: string): string {
  return text.replace(/^((?:[a-z][a-z0-9+.-]*:\/\/)?)[^/?#]*@/i, '$1***@');
}

/** The first set, non-empty variable of `names`, with its name. */
function firstSet(env: ProxyEnv, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

/** Lowercase before uppercase, as curl reads them. `http_proxy` has no uppercase form: curl
 *  ignores HTTP_PROXY (a CGI program gets the client's `Proxy:` header as HTTP_PROXY). */
const VARS: Record<'ws:' | 'wss:', readonly string[]> = {
  'ws:': ['ws_proxy', 'WS_PROXY', 'http_proxy', 'all_proxy', 'ALL_PROXY'],
  'wss:': ['wss_proxy', 'WSS_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'],
};

/** The host of a URL without IPv6 brackets and without a trailing dot, lowercase. */
function bareHost(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

/** Whether `host` (a name or an IP address, IPv6 without brackets) is excluded by a no_proxy
 *  list, as curl matches it: entries separated by commas or spaces; `*` alone excludes every
 *  host; a name excludes itself and its subdomains (a leading dot is ignored); an IP address
 *  or CIDR block (`10.0.0.0/8`, `fd00::/8`) excludes the addresses in it. Names are not
 *  resolved: an IP entry matches only a target written as an IP address. */
export function noProxyMatches(host: string, list: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  const entries = list.split(/[\s,]+/).filter((e) => e !== '');
  if (entries.length === 1 && entries[0] === '*') return true;
  for (const raw of entries) {
    const e = raw.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
    if (e.includes('/')) {
      if (inCidr(e, h)) return true;
      continue;
    }
    const name = e.replace(/^\./, '');
    if (name === '') continue;
    if (h === name) return true;
    if (isIP(name) === 0 && isIP(h) === 0 && h.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** Whether IP address `ip` is in `cidr` ("a.b.c.d/n" or "v6/n", host bits ignored). */
function inCidr(cidr: string, ip: string): boolean {
  const r = parseIpPrefix(cidr);
  const addr = parseIp(ip);
  if (!r.ok || addr === undefined) return false;
  return addr.family === r.addr.family && (addr.value & prefixMask(addr.family, r.prefix)) === (r.addr.value & prefixMask(addr.family, r.prefix));
}

/**
 * The proxy for a WebSocket URL. Order (docs/NODE.md, "HTTP proxies"):
 * 1. the no_proxy list (`no_proxy`, else `NO_PROXY`) excluding the target host: direct, even
 *    with a `proxy` directive (curl applies its no-proxy list to `--proxy` too);
 * 2. the `proxy` directive (`none`: direct);
 * 3. for wss:// `wss_proxy`, `WSS_PROXY`, `https_proxy`, `HTTPS_PROXY`; for ws:// `ws_proxy`,
 *    `WS_PROXY`, `http_proxy` (never `HTTP_PROXY`); then `all_proxy`, `ALL_PROXY`.
 * Throws ProxyConfigError (redacted) for a target that is not ws:// or wss:// or a proxy URL
 * that cannot be used.
 */
export function chooseProxy(target: string | URL, env: ProxyEnv, directive?: ProxyDirective): ProxyChoice {
  const t = typeof target === 'string' ? new URL(target) : target;
  if (t.protocol !== 'ws:' && t.protocol !== 'wss:') throw new ProxyConfigError(`not a WebSocket URL: ${t.protocol}//${t.host}`);
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  if (noProxy && noProxyMatches(bareHost(t), noProxy.value)) return { proxy: null, source: noProxy.name };
  if (directive?.kind === 'none') return { proxy: null, source: 'none' };
  if (directive?.kind === 'url') return { proxy: parseProxyUrl(directive.url), source: 'directive' };
  const v = firstSet(env, VARS[t.protocol]);
  if (!v) return { proxy: null, source: 'unset' };
  try {
    return { proxy: parseProxyUrl(v.value), source: v.name };
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(`${v.name}: ${err.message}`);
    throw err;
  }
}

// Opening a WebSocket client connection (the `ws` package), through an HTTP proxy when one
// applies (src/net/wsproxy.ts chooses it; docs/NODE.md, "HTTP proxies"). The proxy is spoken to
// with HTTP CONNECT by `https-proxy-agent`, for ws:// and wss:// alike (a tunnel: the WebSocket
// upgrade and, for wss://, the TLS handshake run end to end through it). I/O adapter: real
// sockets and one timer per dial. Errors are WsDialError, whose messages never carry a
// credential (a proxy's `user:pass@` is printed as `***@`).
import type { ClientRequest, IncomingMessage } from 'node:http';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import WebSocket, { type ClientOptions } from 'ws';
import { WS_DIAL_TIMEOUT } from '../params.js';
import { realClock, type Clock } from '../util/clock.js';
import { chooseProxy, redactProxyUrl, type ProxyDirective, type ProxyEnv } from './wsproxy.js';

export interface WsClientSetup {
  /** What to pass as the options of `new WebSocket(url, protocols, options)`. */
  options: ClientOptions;
  /** The proxy used, redacted (`http://***@host:port`), or null for a direct connection. */
  proxy: string | null;
  /** Why this proxy (or none): see ProxyChoice.source. */
  source: string;
  /** The proxy's answer to CONNECT once it came (200 when the tunnel is open). */
  connectStatus(): number | undefined;
  /** Closes the connection to the proxy if it is still being set up (a dial given up). */
  abort(): void;
}

/** A target URL safe to print (no credentials, no query). */
export function printableTarget(target: URL): string {
  return `${target.protocol}//${target.host}${target.pathname === '/' ? '' : target.pathname}`;
}

/**
 * The `ws` client options for `target` (ws:// or wss://): `base` plus, when a proxy applies, an
 * HTTP CONNECT agent. The agent gets the proxy URL without its credentials (so that nothing it
 * logs carries them) and the credentials as a Proxy-Authorization header (Basic). Throws
 * ProxyConfigError (redacted) for an unusable proxy setting.
 */
export function wsClientOptions(target: string | URL, env: ProxyEnv, directive?: ProxyDirective, base: ClientOptions = {}): WsClientSetup {
  const t = typeof target === 'string' ? new URL(target) : target;
  const choice = chooseProxy(t, env, directive);
  if (!choice.proxy) return { options: { ...base }, proxy: null, source: choice.source, connectStatus: () => undefined, abort: () => {} };
  // Through the tunnel, https-proxy-agent starts TLS without the target's host when it is an IP
  // address (it sets no servername then, and passes no host), so node would check the server's
  // certificate against "localhost" (measured: ERR_TLS_CERT_ALTNAME_INVALID for a certificate
  // of 127.0.0.1). The check is pinned to the target's own host here.
  const targetHost = t.hostname.replace(/^\[|\]$/g, '');
  const checked: ClientOptions = t.protocol === 'wss:' && base.checkServerIdentity === undefined
    ? ({ checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(targetHost, cert) } as unknown as ClientOptions)
    : {};
  const proxy = new URL(choice.proxy.href);
  const headers: Record<string, string> = {};
  if (proxy.username !== '' || proxy.password !== '') {
    const auth = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['Proxy-Authorization'] = `Basic ${Buffer.from(auth).toString('base64')}`;
    proxy.username = '';
    proxy.password = '';
  }
  // The signal goes to net.connect / tls.connect of the proxy socket: aborting destroys it.
  const controller = new AbortController();
  const agent = new HttpsProxyAgent(proxy.href, { headers, keepAlive: false, signal: controller.signal } as ConstructorParameters<typeof HttpsProxyAgent>[1]);
  let status: number | undefined;
  agent.on('proxyConnect', (res: { statusCode: number }) => {
    status = res.statusCode;
  });
  return {
    options: { ...base, ...checked, agent },
    proxy: redactProxyUrl(choice.proxy),
    source: choice.source,
    connectStatus: () => status,
    abort: () => controller.abort(),
  };
}

export type WsDialErrorCode =
  | 'proxy-unreachable' // no TCP connection to the proxy (refused, no route)
  | 'proxy-timeout' // the proxy did not answer CONNECT in time
  | 'proxy-refused' // the proxy answered CONNECT with something other than 200
  | 'unreachable' // direct: no TCP connection to the target; or the tunnel failed after 200
  | 'refused' // the target answered the upgrade with an HTTP status
  | 'timeout'; // the upgrade did not complete in time

export class WsDialError extends Error {
  constructor(readonly code: WsDialErrorCode, message: string, readonly proxy: string | null, readonly status?: number) {
    super(message);
  }
}

export interface DialOptions {
  /** process.env in the daemon. */
  env: ProxyEnv;
  directive?: ProxyDirective;
  /** The Sec-WebSocket-Protocol values to ask for. */
  protocols?: string | string[];
  /** The whole dial (TCP, CONNECT, TLS, upgrade) is given up after this long. */
  timeoutMs?: number;
  /** Further `ws` options (maxPayload, ca, rejectUnauthorized, ...). */
  ws?: ClientOptions;
  /** The clock of the dial's deadline (the daemon's; default the real one). */
  clock?: Clock;
}

/** Why a failed socket error failed, in a few words (the error's code, not its message, which
 *  for some errors repeats an address we already print). */
function why(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ?? err.message;
}

function proxyRefused(setup: WsClientSetup, t: URL, status: number): WsDialError {
  const auth = status === 407 || status === 401 ? ' (proxy authentication required or wrong)' : '';
  return new WsDialError('proxy-refused', `proxy ${setup.proxy} refused CONNECT to ${t.host}: HTTP ${status}${auth}`, setup.proxy, status);
}

/** What a `ws` client's 'error' event means, for a client made with wsClientOptions's options. */
export function wsErrorOf(setup: WsClientSetup, target: URL, err: Error, timeoutMs: number): WsDialError {
  const status = setup.connectStatus();
  const via = setup.proxy ? ` via proxy ${setup.proxy}` : '';
  if (setup.proxy && status === undefined) return new WsDialError('proxy-unreachable', `cannot reach proxy ${setup.proxy}: ${why(err)}`, setup.proxy);
  if (setup.proxy && status !== 200) return proxyRefused(setup, target, status!);
  if (/handshake has timed out/i.test(err.message)) return wsTimeoutOf(setup, target, timeoutMs);
  return new WsDialError('unreachable', `WebSocket ${printableTarget(target)}${via}: ${why(err)}`, setup.proxy);
}

/** What a `ws` client's 'unexpected-response' event (an HTTP answer, not an upgrade) means. */
export function wsRefusalOf(setup: WsClientSetup, target: URL, httpStatus: number | undefined): WsDialError {
  const status = setup.connectStatus();
  if (setup.proxy && status !== undefined && status !== 200) return proxyRefused(setup, target, status);
  const via = setup.proxy ? ` via proxy ${setup.proxy}` : '';
  return new WsDialError('refused', `WebSocket ${printableTarget(target)}${via}: the server answered HTTP ${httpStatus ?? '?'} instead of upgrading`, setup.proxy, httpStatus);
}

/** What a dial that did not open within `timeoutMs` means (a silent proxy, or a slow server). */
export function wsTimeoutOf(setup: WsClientSetup, target: URL, timeoutMs: number): WsDialError {
  if (setup.proxy && setup.connectStatus() === undefined) {
    return new WsDialError('proxy-timeout', `proxy ${setup.proxy} did not answer CONNECT to ${target.host} within ${timeoutMs} ms`, setup.proxy);
  }
  const via = setup.proxy ? ` via proxy ${setup.proxy}` : '';
  return new WsDialError('timeout', `WebSocket ${printableTarget(target)}${via}: no open connection within ${timeoutMs} ms`, setup.proxy);
}

/**
 * Opens a WebSocket to `target` and resolves once it is open; rejects with a WsDialError within
 * `timeoutMs` (default WS_DIAL_TIMEOUT) otherwise, every socket of the attempt closed.
 */
export function dialWs(target: string | URL, opts: DialOptions): Promise<WebSocket> {
  const t = typeof target === 'string' ? new URL(target) : target;
  const timeoutMs = opts.timeoutMs ?? WS_DIAL_TIMEOUT;
  const clock = opts.clock ?? realClock;
  const setup = wsClientOptions(t, opts.env, opts.directive, { handshakeTimeout: timeoutMs, ...opts.ws });
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(t, opts.protocols ?? [], setup.options);
    let done = false;
    const fail = (e: WsDialError): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {}); // late errors of a connection given up
      ws.terminate();
      setup.abort();
      reject(e);
    };
    const timer = clock.setTimeout(() => fail(wsTimeoutOf(setup, t, timeoutMs)), timeoutMs);
    ws.once('open', () => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      ws.removeAllListeners('unexpected-response');
      ws.removeAllListeners('error');
      resolve(ws);
    });
    ws.once('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      req.destroy();
      fail(wsRefusalOf(setup, t, res.statusCode));
    });
    ws.once('error', (err: Error) => fail(wsErrorOf(setup, t, err, timeoutMs)));
  });
}

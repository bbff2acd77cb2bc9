// The `metrics HOST:PORT` endpoint (docs/CONFIG.md): an HTTP server (node:http, an I/O edge)
// answering GET /metrics with the node's counters in the Prometheus text format
// (src/daemon/metrics.ts). Opt-in, bound exactly to the address written in the network file,
// started by `wh up` and moved, started or stopped by `wh reload`. It serves what `wh show`
// shows (names, public keys, addresses, counts), never a secret. Bounded: METRICS_MAX_CONNECTIONS
// connections, headers of at most METRICS_MAX_HEADER_BYTES within METRICS_REQUEST_TIMEOUT
// (node:http keeps these timers itself); one path, GET and HEAD only, no request body read; the
// text is gathered at most once per METRICS_CACHE (scrapes in between get the same text), so
// that whoever reaches the port cannot make the node gather faster than that.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsAddress, type MetricsListen } from '../config/index.js';
import { METRICS_CACHE, METRICS_KEEPALIVE_TIMEOUT, METRICS_MAX_CONNECTIONS, METRICS_MAX_HEADER_BYTES, METRICS_REQUEST_TIMEOUT } from '../params.js';
import type { Logger } from '../util/log.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';

export const METRICS_PATH = '/metrics';

export class MetricsServer {
  private server: http.Server | undefined;
  private listening: MetricsListen | undefined;
  private cached: { at: number; text: Promise<string> } | undefined;

  /** `text`: the exposition text now (formatMetrics over the node's show answer); `now`: the
   *  daemon's clock (ms), which times the cache. */
  constructor(private readonly text: () => Promise<string>, private readonly log: Logger, private readonly now: () => number) {}

  /** The text, gathered afresh when the last one is METRICS_CACHE old (a failure is not kept). */
  private gather(): Promise<string> {
    const t = this.now();
    if (this.cached !== undefined && t - this.cached.at < METRICS_CACHE) return this.cached.text;
    const text = this.text();
    const entry = { at: t, text };
    this.cached = entry;
    text.catch(() => { if (this.cached === entry) this.cached = undefined; });
    return text;
  }

  /** Serves at `want` (undefined: not at all), moving the server if the address changed.
   *  Throws "FILE:LINE: metrics: cannot listen on HOST:PORT: REASON" when it cannot bind (then
   *  nothing is served: the old address was closed first, as its port may be the one wanted). */
  async apply(want: MetricsListen | undefined, file: string): Promise<void> {
    const cur = this.listening;
    if (cur !== undefined && want !== undefined && cur.host === want.host && cur.port === want.port) { this.listening = want; return; }
    if (this.server) {
      await this.close();
      this.log.info(`metrics: stopped serving on ${metricsAddress(cur!)}`);
    }
    if (want === undefined) return;
    const server = http.createServer({ maxHeaderSize: METRICS_MAX_HEADER_BYTES, requestTimeout: METRICS_REQUEST_TIMEOUT, headersTimeout: METRICS_REQUEST_TIMEOUT, keepAliveTimeout: METRICS_KEEPALIVE_TIMEOUT },
      (req, res) => void this.answer(req, res));
    server.maxConnections = METRICS_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`${file}:${want.line}: metrics: cannot listen on ${metricsAddress(want)}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no interface of this host has that address' : e.message}`)));
      server.listen({ host: want.host, port: want.port, exclusive: true }, () => resolve());
    });
    server.on('error', (e) => this.log.warn(`metrics: ${e.message}`));
    this.server = server;
    this.listening = want;
    this.log.info(`metrics: serving http://${metricsAddress(want)}${METRICS_PATH}`);
  }

  /** The bound port, while serving. */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const plain = (code: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'only GET\n', { allow: 'GET, HEAD' });
    if (path !== METRICS_PATH) return plain(404, `not found: the metrics are at ${METRICS_PATH}\n`);
    let body: string;
    try {
      body = await this.gather();
    } catch (e) {
      this.log.warn(`metrics: ${e instanceof Error ? e.message : String(e)}`);
      return plain(500, 'the node could not gather its metrics (see its log)\n');
    }
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  /** Stops serving; open connections are cut. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.listening = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

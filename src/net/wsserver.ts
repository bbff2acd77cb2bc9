// The WebSocket transport's server side (docs/PROTOCOL.md section 12): a NodeTransport of kind
// 'ws' on an HTTP (or HTTPS) listener. I/O only: the bounds are src/net/wsguard.ts's, the
// frames src/proto/wsframe.ts's. Every bound is applied before a datagram is looked at: the
// connection count at the TCP accept, the handshake deadline, the subprotocol, the message size
// (ws's maxPayload: the connection is closed without reading the message), the message rate
// (pings included: each is answered only within it and within the send buffer); a connection
// beyond a rate is also not read for WS_RATE_PAUSE (TCP then holds the flood back). When the
// table is full, the source holding the most connections gives its newest one up (wsguard.ts).
// New connections are also rate-limited per source at the accept. Behind a reverse proxy named
// by `trusted-proxy` (src/net/wsforwarded.ts), a connection from the proxy is counted in all at
// the accept, and against its client's share (and accept rate) at the upgrade request, once its
// X-Forwarded-For names the client. A datagram that passes goes to the node's receiver with the connection's TCP source address,
// exactly as a UDP datagram with its source: the DHT's own checks (sections 5-6, 9.9) follow.
// Answers to that address go back over the connection (carries), dropped and counted when the
// connection has more than WS_SEND_BUFFER_MAX queued, or all connections together more than
// WS_SEND_BUFFER_TOTAL (datagram semantics over TCP).
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { addrKey, normalizeAddr, sourceKey, wsAddr, type Addr } from '../proto/addr.js';
import { decodeWsFrame, encodeWsFrame, WS_DATAGRAM, WS_FROM, WS_TO, type WsFrame } from '../proto/wsframe.js';
import { RATE_LIMIT_SOURCES, WS_MAX_HEADER_BYTES, WS_MAX_MESSAGE, WS_SEND_BUFFER_MAX, WS_SEND_BUFFER_TOTAL, WS_SUBPROTOCOL, WS_RATE_PAUSE } from '../params.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { Counters } from '../util/counters.js';
import { RateLimiter } from '../util/ratelimit.js';
import { WS_LIMITS, WsAdmission, WsConnGuard, type WsLimits } from './wsguard.js';
import { WriteCoalescer } from './wscoalesce.js';
import { canonicalIp, forwardedClient } from './wsforwarded.js';
import type { NodeTransport, Receiver } from './transport.js';
import type { RelayFrameReceiver, WsRelayPort } from './wsrelayport.js';

export interface WsServerOptions {
  host: string;
  port: number;
  clock: Clock;
  /** PEM certificate and key: serve wss:// (else plain ws://). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Reverse proxies whose X-Forwarded-For names the client (IP addresses; none: never read). */
  trustedProxies?: readonly string[];
  limits?: Partial<WsLimits>;
  sendBufferMax?: number;
  sendBufferTotal?: number;
  /** How long a connection beyond a rate is not read (WS_RATE_PAUSE). */
  ratePause?: number;
}

const remoteKey = (s: Socket): string => `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;

interface Conn { ws: WebSocket; guard: WsConnGuard; addr: Addr; out: WriteCoalescer; paused?: TimerHandle }

/** An accepted TCP connection's place: its source IP (a trusted proxy's client once known), and
 *  whether it is still counted in all only (from a trusted proxy, before its upgrade request). */
interface Place { ip: string; pending: boolean; release: () => void }

export class WsServerTransport implements NodeTransport, WsRelayPort {
  readonly kind = 'ws';
  readonly counters = new Counters();
  private receiver: Receiver = () => {};
  private relayReceiver: RelayFrameReceiver | undefined;
  private closeReceiver: ((addr: Addr) => void) | undefined;
  private readonly conns = new Map<string, Conn>();
  /** Each accepted TCP connection, with its source IP and the release of its place (once). */
  private readonly sockets = new Map<Socket, Place>();
  /** The places of connections from trusted proxies, by remote address, until their upgrade. */
  private readonly proxied = new Map<string, Place>();
  private trusted: ReadonlySet<string>;
  /** Each accepted TCP connection's guard, by remote address (`remoteKey`). */
  private readonly guards = new Map<string, WsConnGuard>();
  private readonly wss: WebSocketServer;
  private readonly admission: WsAdmission;
  /** New connections per source (`sourceKey`), taken at the TCP accept. */
  private readonly accepts: RateLimiter;
  private readonly limits: WsLimits;
  private readonly sendBufferMax: number;
  private readonly sendBufferTotal: number;
  private readonly ratePause: number;
  /** Bytes handed to ws and not yet written to the kernel, over all connections. */
  private pending = 0;

  private constructor(private readonly server: http.Server, private readonly clock: Clock, opts: WsServerOptions) {
    this.limits = { ...WS_LIMITS, ...opts.limits };
    this.sendBufferMax = opts.sendBufferMax ?? WS_SEND_BUFFER_MAX;
    this.sendBufferTotal = opts.sendBufferTotal ?? WS_SEND_BUFFER_TOTAL;
    this.ratePause = opts.ratePause ?? WS_RATE_PAUSE;
    this.trusted = trustedSet(opts.trustedProxies);
    this.admission = new WsAdmission(this.limits);
    this.accepts = new RateLimiter(this.limits.acceptsPerSec, this.limits.acceptsBurst, RATE_LIMIT_SOURCES);
    this.wss = new WebSocketServer({
      noServer: true, maxPayload: WS_MAX_MESSAGE, perMessageDeflate: false, clientTracking: false, autoPong: false,
      handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
    });
    // Counted at the TCP accept (before a TLS handshake): the upgrade (on the TLS socket, with
    // the same remote address and port) finds its guard by that address.
    server.on('connection', (socket: Socket) => this.accept(socket));
    server.on('request', (_req, res) => {
      this.counters.add('ws-http');
      res.writeHead(426, { connection: 'close', upgrade: 'websocket' }).end();
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
    server.on('clientError', (_e, socket: Socket) => { this.counters.add('ws-bad-request'); socket.destroy(); });
  }

  static async listen(opts: WsServerOptions): Promise<WsServerTransport> {
    const base = { maxHeaderSize: WS_MAX_HEADER_BYTES, requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 1 };
    const server = opts.tls ? https.createServer({ ...base, cert: opts.tls.cert, key: opts.tls.key }) : http.createServer(base);
    const t = new WsServerTransport(server, opts.clock, opts);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
    });
    return t;
  }

  /** The bound address (port 0 in the options picks one). */
  get local(): Addr {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return { host: a.address, port: a.port };
  }

  /** Connections held (in their handshake or open). */
  get connections(): number { return this.admission.size; }

  /** Replaces the certificate and key of a wss:// server (a reload: a renewed certificate);
   *  open connections keep theirs. */
  setTls(tls: { cert: string | Buffer; key: string | Buffer }): void {
    if (this.server instanceof https.Server) this.server.setSecureContext({ cert: tls.cert, key: tls.key });
  }

  /** Replaces the trusted proxies (a reload): connections already upgraded keep their place. */
  setTrustedProxies(list: readonly string[] | undefined): void {
    this.trusted = trustedSet(list);
  }

  private accept(socket: Socket): void {
    const ip = normalizeAddr({ host: socket.remoteAddress ?? '', port: 0 }).host;
    // From a trusted proxy: its clients' shares and accept rates are taken at the upgrade.
    const pending = this.trusted.has(canonicalIp(ip) ?? ip);
    if (!pending && !this.accepts.take(sourceKey(ip), this.clock.now())) { this.counters.add('ws-accept-rate'); socket.destroy(); return; }
    const admit = () => (pending ? this.admission.admitPending() : this.admission.admit(ip));
    let full = admit();
    if (full === 'ws-full' && this.evictFor(ip)) full = admit();
    if (full !== undefined) { this.counters.add(full); socket.destroy(); return; }
    this.counters.add('ws-accept');
    let placed = true;
    const place: Place = { ip, pending, release: () => { if (placed) { placed = false; this.admission.release(place.pending ? undefined : place.ip); } } };
    this.sockets.set(socket, place);
    const guard = new WsConnGuard(this.clock, this.limits, (why) => { this.counters.add(why); socket.destroy(); });
    const rk = remoteKey(socket);
    this.guards.set(rk, guard);
    if (pending) this.proxied.set(rk, place);
    socket.once('close', () => {
      guard.close(); place.release(); this.sockets.delete(socket);
      if (this.guards.get(rk) === guard) this.guards.delete(rk);
      if (this.proxied.get(rk) === place) this.proxied.delete(rk);
    });
    socket.on('error', () => this.counters.add('ws-socket-error'));
  }

  /** The table is full: closes the newest connection of the source holding the most, if it
   *  holds at least two more than `ip`'s (its place is free at once). */
  private evictFor(ip: string): boolean {
    const src = this.admission.victim(ip);
    if (src === undefined) return false;
    let last: Socket | undefined;
    for (const [s, e] of this.sockets) if (sourceKey(e.ip) === src) last = s;
    if (last === undefined) return false;
    this.sockets.get(last)!.release();
    this.counters.add('ws-evicted');
    last.destroy();
    return true;
  }

  private upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const guard = this.guards.get(remoteKey(socket));
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    if (guard === undefined || !offered.includes(WS_SUBPROTOCOL)) {
      this.counters.add('ws-no-subprotocol');
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const refused = this.forwarded(req, socket);
    if (refused !== undefined) {
      this.counters.add(refused);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, socket, guard));
  }

  /** A connection from a trusted proxy: its place moves to the client its X-Forwarded-For names
   *  (the proxy's own address when the header is missing or malformed, counted), within that
   *  client's accept rate and share; the reason when it is refused. Other connections: nothing. */
  private forwarded(req: http.IncomingMessage, socket: Socket): 'ws-accept-rate' | 'ws-full-ip' | undefined {
    const rk = remoteKey(socket);
    const place = this.proxied.get(rk);
    if (place === undefined) return undefined;
    this.proxied.delete(rk);
    const peer = canonicalIp(place.ip) ?? place.ip;
    // (A reload may have stopped trusting the proxy since the accept: then it is its own client.)
    const client = this.trusted.has(peer) ? forwardedClient(req.headers['x-forwarded-for'], peer, this.trusted) : { ip: peer };
    if (client.why !== undefined) this.counters.add(client.why);
    if (!this.accepts.take(sourceKey(client.ip), this.clock.now())) return 'ws-accept-rate';
    const full = this.admission.assign(client.ip);
    if (full !== undefined) return full;
    place.ip = client.ip;
    place.pending = false;
    this.counters.add('ws-forwarded');
    return undefined;
  }

  private opened(ws: WebSocket, socket: Socket, guard: WsConnGuard): void {
    // A 'ws' address: a UDP datagram from the same ip:port is another address (src/proto/addr.ts).
    const addr = wsAddr(normalizeAddr({ host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }));
    const key = addrKey(addr);
    const conn: Conn = { ws, guard, addr, out: new WriteCoalescer(socket) };
    this.conns.set(key, conn);
    guard.opened();
    this.counters.add('ws-open');
    ws.on('ping', (data: Buffer) => this.ping(conn, data));
    ws.on('pong', () => guard.heard());
    ws.on('message', (data: Buffer, isBinary: boolean) => this.message(conn, data, isBinary));
    ws.on('error', (e: Error & { code?: string }) => this.counters.add(e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'ws-oversize' : 'ws-error'));
    ws.on('close', () => {
      guard.close();
      if (conn.paused !== undefined) { this.clock.clearTimeout(conn.paused); conn.paused = undefined; }
      if (this.conns.get(key) !== conn) return;
      this.conns.delete(key);
      this.closeReceiver?.(addr);
    });
  }

  private message(conn: Conn, data: Buffer, isBinary: boolean): void {
    // A relayed frame (its type byte, before anything is decoded) has a budget of its own.
    const relayed = isBinary && data.length > 0 && data[0] === WS_TO;
    if (relayed ? !conn.guard.relayed() : !conn.guard.message()) { this.counters.add(relayed ? 'ws-relay-rate' : 'ws-rate'); this.throttle(conn); return; }
    if (!isBinary) { this.counters.add('ws-text'); return; }
    const r = decodeWsFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    if (!r.ok) { if (relayed) conn.guard.refused(); this.counters.add(r.why); return; }
    if (r.frame.type === WS_TO && this.relayReceiver !== undefined) {
      this.counters.add('ws-to-rx');
      if (!this.relayReceiver('to', conn.addr, r.frame.key, r.frame.data)) conn.guard.refused();
      return;
    }
    if (relayed) conn.guard.refused();
    if (r.frame.type !== WS_DATAGRAM) { this.counters.add(r.frame.type === WS_TO ? 'ws-unrelayed' : 'ws-type'); return; }
    this.counters.add('ws-rx');
    this.receiver(r.frame.data, conn.addr);
  }

  /** A ping costs a message of the rate; answered only within it and the send buffer. */
  private ping(conn: Conn, data: Buffer): void {
    if (!conn.guard.message()) { this.counters.add('ws-ping-rate'); this.throttle(conn); return; }
    this.queue(conn, data.length + 2, (done) => conn.ws.pong(data, false, done));
  }

  /** A message beyond a rate: the connection is not read for `ratePause` (what its socket has
   *  read already is still parsed, and dropped as it is beyond the rate). */
  private throttle(conn: Conn): void {
    if (conn.paused !== undefined || conn.ws.readyState !== conn.ws.OPEN) return;
    this.counters.add('ws-paused');
    conn.ws.pause();
    conn.paused = this.clock.setTimeout(() => {
      conn.paused = undefined;
      if (conn.ws.readyState === conn.ws.OPEN) conn.ws.resume();
    }, this.ratePause);
  }

  /** Hands `bytes` to ws within the connection's and the total bound (else drops and counts);
   *  ws calls back once they are in the kernel (or the socket is gone). */
  private queue(conn: Conn, bytes: number, write: (done: () => void) => void): boolean {
    if (conn.ws.bufferedAmount + bytes > this.sendBufferMax) { this.counters.add('ws-send-full'); return false; }
    if (this.pending + bytes > this.sendBufferTotal) { this.counters.add('ws-send-full-total'); return false; }
    this.pending += bytes;
    let held = true;
    const done = (): void => { if (held) { held = false; this.pending -= bytes; } };
    try { write(done); return true; } catch { done(); this.counters.add('ws-send-error'); return false; }
  }

  /** Bytes queued over all connections, not yet in the kernel. */
  get queuedTotal(): number { return this.pending; }

  send(to: Addr, data: Uint8Array, frame: WsFrame = { type: WS_DATAGRAM, data }): void {
    const conn = this.conns.get(addrKey(to));
    if (conn === undefined || conn.ws.readyState !== conn.ws.OPEN) { this.counters.add('ws-no-connection'); return; }
    const m = encodeWsFrame(frame);
    if (this.queue(conn, m.length, (done) => { conn.out.hold(); conn.ws.send(m, { binary: true }, done); })) this.counters.add(frame.type === WS_FROM ? 'ws-from-tx' : 'ws-tx');
  }

  /** A relayed WireGuard datagram from the node `key` to the connection at `to` (WS_FROM). */
  sendRelay(to: Addr, key: Uint8Array, data: Uint8Array): boolean {
    const conn = this.conns.get(addrKey(to));
    if (conn === undefined || conn.ws.readyState !== conn.ws.OPEN) return false;
    this.send(to, data, { type: WS_FROM, key, data });
    return true;
  }

  setRelayReceiver(receiver: RelayFrameReceiver): void {
    this.relayReceiver = receiver;
  }

  setCloseReceiver(receiver: (addr: Addr) => void): void {
    this.closeReceiver = receiver;
  }

  /** Bytes queued towards the connection at `to` (ws's bufferedAmount; 0 without one). */
  queued(to: Addr): number {
    return this.conns.get(addrKey(to))?.ws.bufferedAmount ?? 0;
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  /** The addresses of its open connections ('ws' addresses at their TCP source addresses). */
  carries(to: Addr): boolean {
    return this.conns.has(addrKey(to));
  }

  close(): void {
    for (const c of this.conns.values()) if (c.paused !== undefined) this.clock.clearTimeout(c.paused);
    for (const s of this.sockets.keys()) s.destroy();
    this.sockets.clear();
    this.proxied.clear();
    this.conns.clear();
    this.guards.clear();
    this.wss.close();
    this.server.close();
  }
}

function trustedSet(list: readonly string[] | undefined): ReadonlySet<string> {
  return new Set((list ?? []).map((ip) => canonicalIp(ip) ?? ip));
}

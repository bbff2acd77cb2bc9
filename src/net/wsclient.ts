// The WebSocket transport's client side (docs/PROTOCOL.md section 12): a NodeTransport of kind
// 'ws' that holds one connection to a boot node's ws:// (or wss://) URL and carries the
// datagrams addressed to that node (its IP address and the URL's TCP port, as the DHT knows it).
// It reconnects with a back-off and pings for keepalive, every timer on the injected clock.
// While the connection opens, a few datagrams wait (WS_CONNECT_QUEUE); otherwise datagrams are
// never queued beyond WS_SEND_BUFFER_MAX: dropped and counted (datagram semantics over TCP).
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { sameAddr, wsAddr, type Addr } from '../proto/addr.js';
import { decodeWsFrame, encodeWsFrame, WS_DATAGRAM, WS_FROM, WS_TO, type WsFrame } from '../proto/wsframe.js';
import {
  WS_CONNECT_QUEUE, WS_HANDSHAKE_TIMEOUT, WS_KEEPALIVE, WS_MAX_MESSAGE, WS_RECONNECT_MAX, WS_RECONNECT_MIN, WS_SEND_BUFFER_MAX, WS_SUBPROTOCOL,
} from '../params.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { Counters } from '../util/counters.js';
import type { NodeTransport, Receiver } from './transport.js';
import type { RelayFrameReceiver, WsRelayPort } from './wsrelayport.js';
import { WriteCoalescer } from './wscoalesce.js';
import { wsClientOptions, wsErrorOf, wsRefusalOf, type WsClientSetup } from './wsdial.js';
import type { ProxyDirective, ProxyEnv } from './wsproxy.js';

export interface WsClientOptions {
  url: string;
  /** The far node's address as the DHT knows it (its IP and TCP port, as a 'ws' address):
   *  datagrams to it go over the connection, and datagrams from the connection come from it. */
  addr: Addr;
  clock: Clock;
  /** Uniform in [0, 1): the back-off's jitter (seeded in tests). */
  random?: () => number;
  /** Told of each change of state (logs). */
  onState?: (state: WsClientState, why?: string) => void;
  /** The environment the HTTP proxy is chosen from (https_proxy, no_proxy...: docs/NODE.md,
   *  "HTTP proxies"), and the network file's `proxy` line, which overrides it. */
  env?: ProxyEnv;
  proxy?: ProxyDirective;
}

export type WsClientState = 'connecting' | 'open' | 'waiting' | 'closed';

export class WsClientTransport implements NodeTransport, WsRelayPort {
  readonly kind = 'ws';
  readonly counters = new Counters();
  private receiver: Receiver = () => {};
  private relayReceiver: RelayFrameReceiver | undefined;
  /** Coalesces the open connection's frames of one event-loop turn (src/net/wscoalesce.ts). */
  private out: WriteCoalescer | undefined;
  private ws: WebSocket | undefined;
  private timer: TimerHandle | undefined;
  private backoff = WS_RECONNECT_MIN;
  private queue: Uint8Array[] = [];
  private pongDue = false;
  private _state: WsClientState = 'connecting';
  /** The current attempt's dial (its proxy, if any). */
  private setup: WsClientSetup | undefined;

  private readonly opts: WsClientOptions;

  constructor(opts: WsClientOptions) {
    // Its datagrams come from (and go to) a 'ws' address: a UDP datagram from the server's IP
    // and TCP port is not from this connection (src/proto/addr.ts).
    this.opts = { ...opts, addr: wsAddr(opts.addr) };
    this.connect();
  }

  get state(): WsClientState { return this._state; }
  get url(): string { return this.opts.url; }
  get addr(): Addr { return this.opts.addr; }

  private setState(s: WsClientState, why?: string): void {
    if (this._state === s) return;
    this._state = s;
    this.opts.onState?.(s, why);
  }

  private arm(fn: () => void, ms: number): void {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => { this.timer = undefined; fn(); }, ms);
  }

  private connect(): void {
    if (this._state === 'closed') return;
    this.setState('connecting');
    this.counters.add('ws-connect');
    let ws: WebSocket;
    let setup: WsClientSetup;
    const target = new URL(this.opts.url);
    try {
      setup = wsClientOptions(target, this.opts.env ?? {}, this.opts.proxy, { maxPayload: WS_MAX_MESSAGE, perMessageDeflate: false, followRedirects: false });
      ws = new WebSocket(this.opts.url, [WS_SUBPROTOCOL], setup.options);
    } catch (e) {
      this.lost(undefined, `cannot connect: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.ws = ws;
    this.setup = setup;
    if (setup.proxy !== null) this.opts.onState?.('connecting', `through proxy ${setup.proxy} (${setup.source})`);
    this.arm(() => this.lost(ws, 'handshake timeout'), WS_HANDSHAKE_TIMEOUT);
    ws.on('open', () => {
      if (this.ws !== ws) return;
      // (ws keeps the TCP or TLS socket in _socket once open: ws 8 has no public accessor.)
      this.out = new WriteCoalescer((ws as unknown as { _socket?: Duplex })._socket);
      this.backoff = WS_RECONNECT_MIN;
      this.setState('open');
      this.counters.add('ws-open');
      const queued = this.queue;
      this.queue = [];
      for (const d of queued) this.sendNow(ws, d);
      this.keepalive(ws);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ws !== ws) return;
      this.pongDue = false;
      if (!isBinary) { this.counters.add('ws-text'); return; }
      const r = decodeWsFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (!r.ok) { this.counters.add(r.why); return; }
      if (r.frame.type === WS_FROM && this.relayReceiver !== undefined) { this.counters.add('ws-from-rx'); this.relayReceiver('from', this.opts.addr, r.frame.key, r.frame.data); return; }
      if (r.frame.type !== WS_DATAGRAM) { this.counters.add(r.frame.type === WS_FROM ? 'ws-unrelayed' : 'ws-type'); return; }
      this.counters.add('ws-rx');
      this.receiver(r.frame.data, this.opts.addr);
    });
    ws.on('pong', () => { this.pongDue = false; });
    ws.on('unexpected-response', (_req, res) => this.lost(ws, wsRefusalOf(setup, target, res.statusCode).message));
    ws.on('error', (e) => this.lost(ws, wsErrorOf(setup, target, e, WS_HANDSHAKE_TIMEOUT).message));
    ws.on('close', (code) => this.lost(ws, `closed (${code})`));
  }

  /** A ping every WS_KEEPALIVE; a connection that answered nothing since the last one is dead. */
  private keepalive(ws: WebSocket): void {
    this.arm(() => {
      if (this.ws !== ws) return;
      if (this.pongDue) { this.lost(ws, 'no answer to the keepalive'); return; }
      this.pongDue = true;
      try { ws.ping(); } catch { /* closing: 'close' follows */ }
      this.keepalive(ws);
    }, WS_KEEPALIVE);
  }

  /** The connection `ws` failed or closed: try again after the back-off (doubled, jittered). */
  private lost(ws: WebSocket | undefined, why: string): void {
    if (ws !== undefined && this.ws !== ws) return;
    this.drop();
    if (this._state === 'closed') return;
    this.counters.add('ws-lost');
    const jitter = 0.75 + 0.5 * (this.opts.random ?? Math.random)();
    const wait = Math.round(this.backoff * jitter);
    this.backoff = Math.min(WS_RECONNECT_MAX, this.backoff * 2);
    this.setState('waiting', why);
    this.arm(() => this.connect(), wait);
  }

  private sendNow(ws: WebSocket, data: Uint8Array, frame: WsFrame = { type: WS_DATAGRAM, data }): void {
    const m = encodeWsFrame(frame);
    if (ws.bufferedAmount + m.length > WS_SEND_BUFFER_MAX) { this.counters.add('ws-send-full'); return; }
    try {
      this.out?.hold();
      ws.send(m, { binary: true });
      this.counters.add(frame.type === WS_TO ? 'ws-to-tx' : 'ws-tx');
    } catch {
      this.counters.add('ws-send-error');
    }
  }

  send(to: Addr, data: Uint8Array): void {
    if (!sameAddr(to, this.opts.addr)) { this.counters.add('ws-not-carried'); return; }
    if (this._state === 'open' && this.ws !== undefined) { this.sendNow(this.ws, data); return; }
    if (this._state === 'closed' || this.queue.length >= WS_CONNECT_QUEUE) { this.counters.add('ws-not-open'); return; }
    this.queue.push(data.slice());
  }

  /** A WireGuard datagram for the node `key` relayed by the server (WS_TO): only on an open
   *  connection (never queued: WireGuard retries by itself). */
  sendRelay(to: Addr, key: Uint8Array, data: Uint8Array): boolean {
    if (!sameAddr(to, this.opts.addr) || this._state !== 'open' || this.ws === undefined) return false;
    this.sendNow(this.ws, data, { type: WS_TO, key, data });
    return true;
  }

  setRelayReceiver(receiver: RelayFrameReceiver): void {
    this.relayReceiver = receiver;
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  carries(to: Addr): boolean {
    return sameAddr(to, this.opts.addr);
  }

  /** Ends the current attempt: its connection (silenced) and its dial through a proxy. */
  private drop(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.out = undefined;
    this.setup?.abort();
    this.setup = undefined;
    ws?.removeAllListeners();
    ws?.on('error', () => undefined);
    try { ws?.terminate(); } catch { /* never opened */ }
  }

  close(): void {
    this.setState('closed');
    this.queue = [];
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.drop();
  }
}

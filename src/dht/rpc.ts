// Request/response over the secure channel: seals, sends, matches answers to requests by
// transaction id and sender key, times out and retries; opens and decodes what arrives, counts
// and drops what is bad, and hands requests and one-way messages to the handler.
// Never throws on input from the network.
import type { SecureChannel } from '../proto/channel.js';
import type { Addr } from '../proto/addr.js';
import { decodeBody, decodeRelayBody, encodeBody, encodeRelayBody, isRelayMessage, isResponse, type Message } from '../proto/messages.js';
import { HEADER_BYTES, KIND_RELAY, KIND_SEALED, TAG_BYTES, type FrameKind } from '../proto/packet.js';
import type { Transport } from '../net/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { Counters } from '../util/counters.js';
import { RateLimiter } from '../util/ratelimit.js';
import {
  MAX_PENDING_REQUESTS, RATE_LIMIT_SOURCES, REQUEST_RETRIES, REQUEST_TIMEOUT,
  SOURCE_PACKETS_BURST, SOURCE_PACKETS_PER_SEC, SOURCE_REQUESTS_BURST, SOURCE_REQUESTS_PER_SEC,
} from '../params.js';

export const SEAL_OVERHEAD = HEADER_BYTES + TAG_BYTES;

export interface Reply {
  msg: Message;
  from: Addr;
  rtt: number;
}

export interface Incoming {
  msg: Message;
  sender: Uint8Array;
  senderHex: string;
  from: Addr;
  /** Size of the datagram that carried it (responses to unverified senders stay within it). */
  size: number;
}

export interface RpcHandler {
  onRequest(req: Incoming): void;
  onOneWay(msg: Incoming): void;
}

export interface RequestOptions {
  /** Pad the request datagram to this many bytes. */
  padTo?: number;
  timeout?: number;
  retries?: number;
}

interface Pending {
  expect: string; // sender key hex
  resolve: (r: Reply | undefined) => void;
  timer: TimerHandle | undefined;
  sentAt: number;
}

export class Rpc {
  private readonly pending = new Map<string, Pending>();
  private readonly packetLimiter = new RateLimiter(SOURCE_PACKETS_PER_SEC, SOURCE_PACKETS_BURST, RATE_LIMIT_SOURCES);
  private readonly requestLimiter = new RateLimiter(SOURCE_REQUESTS_PER_SEC, SOURCE_REQUESTS_BURST, RATE_LIMIT_SOURCES);
  private closed = false;
  /** Datagrams exempt from the per-source packet limit (before any crypto): a relay session's own
   *  traffic, as src/nat/traversal.ts decides from the source address and the clear header. */
  isExempt: ((from: Addr, data: Uint8Array) => boolean) | undefined;

  constructor(
    private readonly channel: SecureChannel,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly random: (n: number) => Uint8Array,
    private readonly handler: RpcHandler,
    private readonly defaults: { timeout: number; retries: number } = { timeout: REQUEST_TIMEOUT, retries: REQUEST_RETRIES },
    readonly counters: Counters = new Counters(),
  ) {
    transport.setReceiver((data, from) => this.receive(data, from));
  }

  /** An Rpc on another socket with the same keys, clock and counters (a relay session's port). */
  fork(transport: Transport, handler: RpcHandler): Rpc {
    return new Rpc(this.channel, transport, this.clock, this.random, handler, this.defaults, this.counters);
  }

  /** Sends a request built around a fresh transaction id; resolves undefined on timeout. */
  request(to: Addr, key: Uint8Array, build: (x: Uint8Array) => Message, opts: RequestOptions = {}): Promise<Reply | undefined> {
    if (this.closed || this.pending.size >= MAX_PENDING_REQUESTS) {
      this.counters.add('request-refused');
      return Promise.resolve(undefined);
    }
    const x = this.random(8);
    const txHex = Buffer.from(x).toString('hex');
    const body = encodeBody(build(x), Math.max(0, (opts.padTo ?? 0) - SEAL_OVERHEAD));
    const timeout = opts.timeout ?? this.defaults.timeout;
    let triesLeft = opts.retries ?? this.defaults.retries;
    return new Promise<Reply | undefined>((resolve) => {
      const p: Pending = { expect: Buffer.from(key).toString('hex'), resolve, timer: undefined, sentAt: this.clock.now() };
      const attempt = (): void => {
        p.sentAt = this.clock.now();
        this.sendSealed(to, key, body);
        p.timer = this.clock.setTimeout(() => {
          if (triesLeft-- > 0) {
            this.counters.add('retry');
            attempt();
          } else {
            this.pending.delete(txHex);
            this.counters.add('timeout');
            resolve(undefined);
          }
        }, timeout);
      };
      this.pending.set(txHex, p);
      attempt();
    });
  }

  /** Sends an answer or a one-way message; returns the datagram's size, 0 when not sent.
   *  `maxSize` caps the datagram (anti-amplification). */
  send(to: Addr, key: Uint8Array, msg: Message, maxSize?: number): number {
    if (isRelayMessage(msg)) {
      const relayBody = encodeRelayBody(msg);
      return this.sendSealed(to, key, relayBody, KIND_RELAY) ? relayBody.length + SEAL_OVERHEAD : 0;
    }
    const body = encodeBody(msg);
    if (maxSize !== undefined && body.length + SEAL_OVERHEAD > maxSize) {
      this.counters.add('drop-out:amplification');
      return 0;
    }
    return this.sendSealed(to, key, body) ? body.length + SEAL_OVERHEAD : 0;
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private sendSealed(to: Addr, key: Uint8Array, body: Uint8Array, kind: FrameKind = KIND_SEALED): boolean {
    let packet: Uint8Array;
    try {
      packet = this.channel.seal(key, body, kind);
    } catch {
      this.counters.add('drop-out:bad-key');
      return false;
    }
    this.counters.add('tx');
    this.transport.send(to, packet);
    return true;
  }

  /** Every datagram from the network enters here. Never throws. */
  receive(data: Uint8Array, from: Addr): void {
    try {
      this.receiveUnsafe(data, from);
    } catch {
      // A bug in a handler must cost one packet, never the daemon.
      this.counters.add('drop:handler-error');
    }
  }

  private receiveUnsafe(data: Uint8Array, from: Addr): void {
    this.counters.add('rx');
    if (!(this.isExempt?.(from, data) ?? false) && !this.packetLimiter.take(from.host, this.clock.now())) return this.drop('rate-limited');
    const opened = this.channel.open(data);
    if (!opened.ok) return this.drop(opened.reason);
    const decoded = opened.kind === KIND_RELAY ? decodeRelayBody(opened.body) : decodeBody(opened.body);
    if (!decoded.ok) return this.drop(decoded.reason);
    // Relay data only ever travels in kind-2 frames, and kind-2 frames carry nothing else.
    if (isRelayMessage(decoded.msg) !== (opened.kind === KIND_RELAY)) return this.drop('body');
    const msg = decoded.msg;
    const incoming: Incoming = { msg, sender: opened.sender, senderHex: opened.senderHex, from, size: data.length };
    if (isResponse(msg.t)) {
      const x = (msg as { x: Uint8Array }).x;
      const txHex = Buffer.from(x).toString('hex');
      const p = this.pending.get(txHex);
      if (p === undefined || p.expect !== opened.senderHex) return this.drop('unexpected-response');
      this.pending.delete(txHex);
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      this.counters.add('rx-ok');
      p.resolve({ msg, from, rtt: this.clock.now() - p.sentAt });
      return;
    }
    if ('x' in msg) {
      if (!this.requestLimiter.take(from.host, this.clock.now())) return this.drop('rate-limited-request');
      this.counters.add('rx-ok');
      this.handler.onRequest(incoming);
      return;
    }
    this.counters.add('rx-ok');
    this.handler.onOneWay(incoming);
  }

  private drop(reason: string): void {
    this.counters.add('drop:' + reason);
  }
}


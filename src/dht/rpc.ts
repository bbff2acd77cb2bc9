// Request/response over the secure channel: seals, sends, matches answers to requests by
// transaction id and sender key, times out and retries; opens and decodes what arrives, counts
// and drops what is bad, and hands requests and one-way messages to the handler.
// Never throws on input from the network.
//
// Cookies (docs/PROTOCOL.md 5.7): a new sender's packet may be refused X25519 by the Admission
// policy and answered with a cookie reply instead; as sender, a cookie reply that matches a
// pending request (responder key, address, epoch and counter of our last transmission) is kept
// and the request resent at once carrying the cookie, so requests get through a node under load.
import type { SecureChannel } from '../proto/channel.js';
import { addrKey, sameAddr, sourceKey, type Addr } from '../proto/addr.js';
import { isCookieReply, parseCookieReply } from '../proto/cookie.js';
import { decodeBody, decodeRelayBody, encodeBody, encodeRelayBody, isRelayMessage, isResponse, type Message } from '../proto/messages.js';
import { COOKIE_MAC_BYTES, HEADER_BYTES, KIND_RELAY, KIND_SEALED, TAG_BYTES, type FrameKind, type Header } from '../proto/packet.js';
import { Admission, type Verdict } from './admission.js';
import type { Transport } from '../net/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { Counters } from '../util/counters.js';
import { RateLimiter } from '../util/ratelimit.js';
import { isRefusal, parseRefusal, type Refusal } from '../proto/refusal.js';
import { Refuser } from './refusal.js';
import { toHex } from './id.js';
import {
  COOKIE_KEEP, COOKIE_RESENDS, COOKIES_KEPT, MAX_PACKET, MAX_PENDING_REQUESTS, RATE_LIMIT_SOURCES, REQUEST_RETRIES, REQUEST_TIMEOUT,
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
  to: Addr;
  /** Counter of the last transmission (a cookie reply names it). */
  counter: bigint | undefined;
  cookieResends: number;
  resend: () => void;
}

export class Rpc {
  private readonly pending = new Map<string, Pending>();
  private readonly packetLimiter = new RateLimiter(SOURCE_PACKETS_PER_SEC, SOURCE_PACKETS_BURST, RATE_LIMIT_SOURCES);
  private readonly requestLimiter = new RateLimiter(SOURCE_REQUESTS_PER_SEC, SOURCE_REQUESTS_BURST, RATE_LIMIT_SOURCES);
  /** Transaction of each pending request's last transmission, by its counter. */
  private readonly byCounter = new Map<bigint, string>();
  /** Cookies we were given, by "key hex/address" (LRU, at most COOKIES_KEPT). */
  private readonly cookies = new Map<string, { cookie: Uint8Array; at: number }>();
  private lastCounter: bigint | undefined;
  readonly admission: Admission;
  private closed = false;
  /** Datagrams exempt from the per-source packet limit (before any crypto): a relay session's own
   *  traffic, as src/relay/exempt.ts decides from the source address and the clear header. */
  isExempt: ((from: Addr, data: Uint8Array) => boolean) | undefined;
  /** Workbit refusals (src/proto/refusal.ts) answering datagrams of ours, for the daemon to
   *  report; unauthenticated: information only. */
  onRefusal: ((r: Refusal, from: Addr) => void) | undefined;
  private refuser: Refuser;

  constructor(
    private readonly channel: SecureChannel,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly random: (n: number) => Uint8Array,
    private readonly handler: RpcHandler,
    private readonly defaults: { timeout: number; retries: number } = { timeout: REQUEST_TIMEOUT, retries: REQUEST_RETRIES },
    readonly counters: Counters = new Counters(),
    admission?: Admission,
  ) {
    this.admission = admission ?? new Admission(channel.sodium, clock, random, counters);
    this.refuser = new Refuser(channel.publicKey, channel.workbit, channel.namespace);
    transport.setReceiver((data, from) => this.receive(data, from));
  }

  /** An Rpc on another socket with the same keys, clock and counters (a relay session's port). */
  fork(transport: Transport, handler: RpcHandler): Rpc {
    const r = new Rpc(this.channel, transport, this.clock, this.random, handler, this.defaults, this.counters, this.admission);
    r.refuser = this.refuser; // one budget of refusals for the node
    return r;
  }

  /** Sends a request built around a fresh transaction id; resolves undefined on timeout. */
  request(to: Addr, key: Uint8Array, build: (x: Uint8Array) => Message, opts: RequestOptions = {}): Promise<Reply | undefined> {
    if (this.closed || this.pending.size >= MAX_PENDING_REQUESTS) {
      this.counters.add('request-refused');
      return Promise.resolve(undefined);
    }
    const x = this.random(8);
    const txHex = toHex(x);
    const body = encodeBody(build(x), Math.max(0, (opts.padTo ?? 0) - SEAL_OVERHEAD));
    const timeout = opts.timeout ?? this.defaults.timeout;
    let triesLeft = opts.retries ?? this.defaults.retries;
    return new Promise<Reply | undefined>((resolve) => {
      const attempt = (): void => {
        p.sentAt = this.clock.now();
        if (p.counter !== undefined) this.byCounter.delete(p.counter);
        p.counter = this.sendSealed(to, key, body) > 0 ? this.lastCounter : undefined;
        if (p.counter !== undefined) this.byCounter.set(p.counter, txHex);
        p.timer = this.clock.setTimeout(() => {
          if (triesLeft-- > 0) {
            this.counters.add('retry');
            attempt();
          } else {
            this.forget(txHex, p);
            this.counters.add('timeout');
            resolve(undefined);
          }
        }, timeout);
      };
      const p: Pending = {
        expect: toHex(key), resolve, timer: undefined, sentAt: this.clock.now(), to, counter: undefined, cookieResends: 0, resend: attempt,
      };
      this.pending.set(txHex, p);
      attempt();
    });
  }

  /** Sends an answer or a one-way message; returns the datagram's size, 0 when not sent.
   *  `maxSize` caps the datagram (anti-amplification). */
  send(to: Addr, key: Uint8Array, msg: Message, maxSize?: number): number {
    if (isRelayMessage(msg)) return this.sendSealed(to, key, encodeRelayBody(msg), KIND_RELAY);
    const body = encodeBody(msg);
    if (maxSize !== undefined && body.length + SEAL_OVERHEAD > maxSize) {
      this.counters.add('drop-out:amplification');
      return 0;
    }
    return this.sendSealed(to, key, body, KIND_SEALED, maxSize);
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      p.resolve(undefined);
    }
    this.pending.clear();
    this.byCounter.clear();
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Seals and sends (with our cookie for that key and address, if we hold one and the MAC fits
   *  within MAX_PACKET and `maxSize`); returns the datagram's size, 0 when not sent. */
  private sendSealed(to: Addr, key: Uint8Array, body: Uint8Array, kind: FrameKind = KIND_SEALED, maxSize = MAX_PACKET): number {
    const size = body.length + SEAL_OVERHEAD;
    const cookie = size + COOKIE_MAC_BYTES <= Math.min(maxSize, MAX_PACKET) ? this.cookieFor(key, to) : undefined;
    let packet: Uint8Array;
    try {
      packet = this.channel.seal(key, body, kind, cookie);
    } catch {
      this.counters.add('drop-out:bad-key');
      return 0;
    }
    this.lastCounter = new DataView(packet.buffer, packet.byteOffset).getBigUint64(44);
    this.counters.add(cookie === undefined ? 'tx' : 'tx-cookie');
    this.transport.send(to, packet);
    return packet.length;
  }

  private cookieFor(key: Uint8Array, to: Addr): Uint8Array | undefined {
    if (this.cookies.size === 0) return undefined;
    const id = `${toHex(key)}/${addrKey(to)}`;
    const c = this.cookies.get(id);
    if (c === undefined) return undefined;
    if (this.clock.now() - c.at < COOKIE_KEEP) return c.cookie;
    this.cookies.delete(id);
    return undefined;
  }

  /** A cookie reply: kept, and the request it names resent at once, if it matches one. */
  private onCookieReply(data: Uint8Array, from: Addr): void {
    const r = parseCookieReply(data);
    if (r === undefined) return this.drop('cookie-reply');
    const txHex = r.epoch === this.channel.epoch ? this.byCounter.get(r.counter) : undefined;
    const p = txHex === undefined ? undefined : this.pending.get(txHex);
    if (p === undefined || p.expect !== toHex(r.responder) || !sameAddr(p.to, from)) return this.drop('unexpected-cookie');
    const id = `${p.expect}/${addrKey(from)}`;
    this.cookies.delete(id);
    if (this.cookies.size >= COOKIES_KEPT) this.cookies.delete(this.cookies.keys().next().value!);
    this.cookies.set(id, { cookie: r.cookie, at: this.clock.now() });
    this.counters.add('cookie-received');
    if (p.cookieResends >= COOKIE_RESENDS) return;
    p.cookieResends++;
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
    p.resend();
  }

  private forget(txHex: string, p: Pending): void {
    this.pending.delete(txHex);
    if (p.counter !== undefined) this.byCounter.delete(p.counter);
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
    // A link-local source (fe80::1%eth0): its zone cannot go into a record, and no other node
    // could use the address; such a node is not served (nor let into the table).
    if (from.host.includes('%')) return this.drop('zoned-source');
    if (!(this.isExempt?.(from, data) ?? false) && !this.packetLimiter.take(sourceKey(from.host), this.clock.now())) return this.drop('rate-limited');
    if (isCookieReply(data)) return this.onCookieReply(data, from);
    if (isRefusal(data)) return this.onRefusalFrame(data, from);
    let verdict: Verdict | undefined;
    let header: Header | undefined;
    const derivations = this.channel.derivations;
    const opened = this.channel.open(data, (h, hex) => {
      header = h;
      verdict = this.admission.decide(h, hex, data, from);
      return verdict === 'known' ? 'known' : verdict === 'derive' || verdict === 'proven' ? 'derive' : 'refuse';
    });
    if (!opened.ok) {
      if (opened.reason === 'workbit') this.refuse(data, from);
      if (verdict === 'cookie' && header !== undefined) {
        const reply = this.admission.cookieReply(header, this.channel.publicKey, from);
        if (reply !== undefined && reply.length <= data.length) this.transport.send(from, reply);
      }
      if (verdict === 'derive' && this.channel.derivations > derivations) this.admission.failed(from);
      return this.drop(opened.reason);
    }
    const decoded = opened.kind === KIND_RELAY ? decodeRelayBody(opened.body) : decodeBody(opened.body);
    if (!decoded.ok) return this.drop(decoded.reason);
    // Relay data only ever travels in kind-2 frames, and kind-2 frames carry nothing else.
    if (isRelayMessage(decoded.msg) !== (opened.kind === KIND_RELAY)) return this.drop('body');
    const msg = decoded.msg;
    const incoming: Incoming = { msg, sender: opened.sender, senderHex: opened.senderHex, from, size: data.length };
    if (isResponse(msg.t)) {
      const x = (msg as { x: Uint8Array }).x;
      const txHex = toHex(x);
      const p = this.pending.get(txHex);
      if (p === undefined || p.expect !== opened.senderHex) return this.drop('unexpected-response');
      this.forget(txHex, p);
      if (this.cookies.size > 0) this.cookies.delete(`${p.expect}/${addrKey(from)}`); // it knows our key now
      if (p.timer !== undefined) this.clock.clearTimeout(p.timer);
      this.counters.add('rx-ok');
      p.resolve({ msg, from, rtt: this.clock.now() - p.sentAt });
      return;
    }
    if ('x' in msg) {
      if (!this.requestLimiter.take(sourceKey(from.host), this.clock.now())) return this.drop('rate-limited-request');
      this.counters.add('rx-ok');
      this.handler.onRequest(incoming);
      return;
    }
    this.counters.add('rx-ok');
    this.handler.onOneWay(incoming);
  }

  /** Tells the sender of a datagram dropped for its workbit what we ask (within limits). */
  private refuse(data: Uint8Array, from: Addr): void {
    const out = this.refuser.answer(data, from, this.clock.now());
    if (out === undefined) return;
    this.counters.add('tx-refusal');
    this.transport.send(from, out);
  }

  private onRefusalFrame(data: Uint8Array, from: Addr): void {
    const r = parseRefusal(data);
    if (r === undefined) return this.drop('refusal');
    // Our epoch is in the clear header of all we send: a refusal must also name a request of
    // ours still waiting, for that key at that address (as a cookie reply must).
    const txHex = r.epoch === this.channel.epoch ? this.byCounter.get(r.counter) : undefined;
    const p = txHex === undefined ? undefined : this.pending.get(txHex);
    if (p === undefined || p.expect !== toHex(r.responder) || !sameAddr(p.to, from)) return this.drop('unexpected-refusal');
    this.counters.add('rx-refusal');
    this.onRefusal?.(r, from);
  }

  private drop(reason: string): void {
    this.counters.add('drop:' + reason);
  }
}


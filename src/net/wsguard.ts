// The bounds of a WebSocket server (docs/PROTOCOL.md section 12.3), without I/O: how many
// connections it holds (in all and per source: an IPv4 address or an IPv6 /64, as UDP's
// limits), which source gives a place up when the table is full, and, per connection, the handshake and idle
// deadlines on the injected clock and the message rate. src/net/wsserver.ts applies them before
// a datagram in a message is looked at.
import {
  WS_ACCEPTS_BURST, WS_ACCEPTS_PER_SEC, WS_HANDSHAKE_TIMEOUT, WS_IDLE_TIMEOUT, WS_MAX_CONNECTIONS, WS_MAX_CONNECTIONS_PER_IP, WS_MESSAGES_BURST, WS_MESSAGES_PER_SEC,
  WS_RELAY_FRAMES_BURST, WS_RELAY_FRAMES_PER_SEC,
} from '../params.js';
import { sourceKey } from '../proto/addr.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface WsLimits {
  maxConnections: number;
  maxPerIp: number;
  handshakeTimeout: number;
  idleTimeout: number;
  messagesPerSec: number;
  messagesBurst: number;
  /** Relayed datagrams (WS_TO) per second, and the burst: a budget of their own. */
  relayPerSec: number;
  relayBurst: number;
  /** New connections one source may open per second, and the burst (before a byte is read). */
  acceptsPerSec: number;
  acceptsBurst: number;
}

export const WS_LIMITS: WsLimits = {
  maxConnections: WS_MAX_CONNECTIONS, maxPerIp: WS_MAX_CONNECTIONS_PER_IP, handshakeTimeout: WS_HANDSHAKE_TIMEOUT,
  idleTimeout: WS_IDLE_TIMEOUT, messagesPerSec: WS_MESSAGES_PER_SEC, messagesBurst: WS_MESSAGES_BURST,
  relayPerSec: WS_RELAY_FRAMES_PER_SEC, relayBurst: WS_RELAY_FRAMES_BURST,
  acceptsPerSec: WS_ACCEPTS_PER_SEC, acceptsBurst: WS_ACCEPTS_BURST,
};

/** Connections held, in all and per source (`sourceKey`: an IPv4 address, an IPv6 /64). */
export class WsAdmission {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: WsLimits) {}

  get size(): number { return this.total; }

  /** Takes a place for a new connection from `ip`; a reason when there is none. */
  admit(ip: string): 'ws-full' | 'ws-full-ip' | undefined {
    if (this.total >= this.limits.maxConnections) return 'ws-full';
    const src = sourceKey(ip);
    const n = this.perIp.get(src) ?? 0;
    if (n >= this.limits.maxPerIp) return 'ws-full-ip';
    this.perIp.set(src, n + 1);
    this.total++;
    return undefined;
  }

  /** Takes a place for a new connection from a trusted proxy (`listen ... trusted-proxy`): counted
   *  in all only, until `assign` names the client it stands for (at its upgrade request). */
  admitPending(): 'ws-full' | undefined {
    if (this.total >= this.limits.maxConnections) return 'ws-full';
    this.total++;
    return undefined;
  }

  /** Counts a pending place (`admitPending`) against client `ip`'s share; a reason (the place
   *  is then still pending: `release()` gives it back) when the share is full. */
  assign(ip: string): 'ws-full-ip' | undefined {
    const src = sourceKey(ip);
    const n = this.perIp.get(src) ?? 0;
    if (n >= this.limits.maxPerIp) return 'ws-full-ip';
    this.perIp.set(src, n + 1);
    return undefined;
  }

  /** Gives back the place of a connection `admit` accepted (or, without `ip`, a pending one). */
  release(ip?: string): void {
    if (ip === undefined) { if (this.total > 0) this.total--; return; }
    const src = sourceKey(ip);
    const n = this.perIp.get(src);
    if (n === undefined) return;
    if (n <= 1) this.perIp.delete(src);
    else this.perIp.set(src, n - 1);
    this.total--;
  }

  /** When the table is full: the source that should give a place up to a connection from `ip`,
   *  the one holding the most, if it holds at least two more than `ip`'s source (so a few
   *  sources cannot keep all others out, and a source never evicts itself). */
  victim(ip: string): string | undefined {
    const mine = this.perIp.get(sourceKey(ip)) ?? 0;
    let top: string | undefined;
    let most = 0;
    for (const [src, n] of this.perIp) if (n > most) { most = n; top = src; }
    return most > mine + 1 ? top : undefined;
  }
}

/** One connection's deadlines, message rate and relayed-frame rate. `expire` is called once,
 *  with the reason, when its handshake or an idle period lasts too long; the owner then closes
 *  the connection. */
export class WsConnGuard {
  private timer: TimerHandle | undefined;
  private open = false;
  private lastHeard: number;
  private tokens: number;
  private lastFill: number;
  private relayTokens: number;
  private done = false;

  constructor(private readonly clock: Clock, private readonly limits: WsLimits, private readonly expire: (why: 'ws-handshake-timeout' | 'ws-idle') => void) {
    this.lastHeard = this.lastFill = clock.now();
    this.tokens = limits.messagesBurst;
    this.relayTokens = limits.relayBurst;
    this.timer = clock.setTimeout(() => this.fire(), limits.handshakeTimeout);
  }

  /** The upgrade completed: from now on the idle deadline runs. */
  opened(): void {
    if (this.done || this.open) return;
    this.open = true;
    this.heard();
    this.arm(this.limits.idleTimeout);
  }

  /** Something arrived (a message or a ping): the idle deadline moves. */
  heard(): void {
    this.lastHeard = this.clock.now();
  }

  /** A message arrived: true when it is within the rate (then it counts as heard too). */
  message(): boolean {
    this.fill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** A relayed frame (WS_TO) arrived: true when it is within the relayed-frame rate and the
   *  connection's refused frames have not spent its message budget (`refused`). */
  relayed(): boolean {
    this.fill();
    if (this.relayTokens < 1 || this.tokens < 1) return false;
    this.relayTokens -= 1;
    return true;
  }

  /** The relay refused a frame `relayed` let through: it costs a message of the rate. */
  refused(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** Refills both buckets up to now; the connection counts as heard. */
  private fill(): void {
    const now = this.clock.now(), dt = now - this.lastFill;
    this.tokens = Math.min(this.limits.messagesBurst, this.tokens + (dt * this.limits.messagesPerSec) / 1000);
    this.relayTokens = Math.min(this.limits.relayBurst, this.relayTokens + (dt * this.limits.relayPerSec) / 1000);
    this.lastFill = now;
    this.lastHeard = now;
  }

  /** The connection is gone: no timer stays armed. */
  close(): void {
    this.done = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.fire(), ms);
  }

  /** One timer, re-armed for what is left of the idle period (not re-armed on every message). */
  private fire(): void {
    this.timer = undefined;
    if (this.done) return;
    if (!this.open) { this.close(); this.expire('ws-handshake-timeout'); return; }
    const left = this.lastHeard + this.limits.idleTimeout - this.clock.now();
    if (left > 0) { this.arm(left); return; }
    this.close();
    this.expire('ws-idle');
  }
}

// The bounds of a WebSocket server (docs/PROTOCOL.md section 12.3), without I/O: how many
// connections it holds (in all and per source IP), and, per connection, the handshake and idle
// deadlines on the injected clock and the message rate. src/net/wsserver.ts applies them before
// a datagram in a message is looked at.
import {
  WS_HANDSHAKE_TIMEOUT, WS_IDLE_TIMEOUT, WS_MAX_CONNECTIONS, WS_MAX_CONNECTIONS_PER_IP, WS_MESSAGES_BURST, WS_MESSAGES_PER_SEC,
} from '../params.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export interface WsLimits {
  maxConnections: number;
  maxPerIp: number;
  handshakeTimeout: number;
  idleTimeout: number;
  messagesPerSec: number;
  messagesBurst: number;
}

export const WS_LIMITS: WsLimits = {
  maxConnections: WS_MAX_CONNECTIONS, maxPerIp: WS_MAX_CONNECTIONS_PER_IP, handshakeTimeout: WS_HANDSHAKE_TIMEOUT,
  idleTimeout: WS_IDLE_TIMEOUT, messagesPerSec: WS_MESSAGES_PER_SEC, messagesBurst: WS_MESSAGES_BURST,
};

/** Connections held, in all and per source IP. */
export class WsAdmission {
  private total = 0;
  private readonly perIp = new Map<string, number>();

  constructor(private readonly limits: WsLimits) {}

  get size(): number { return this.total; }

  /** Takes a place for a new connection from `ip`; a reason when there is none. */
  admit(ip: string): 'ws-full' | 'ws-full-ip' | undefined {
    if (this.total >= this.limits.maxConnections) return 'ws-full';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxPerIp) return 'ws-full-ip';
    this.perIp.set(ip, n + 1);
    this.total++;
    return undefined;
  }

  /** Gives back the place of a connection `admit` accepted. */
  release(ip: string): void {
    const n = this.perIp.get(ip);
    if (n === undefined) return;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.total--;
  }
}

/** One connection's deadlines and message rate. `expire` is called once, with the reason, when
 *  its handshake or an idle period lasts too long; the owner then closes the connection. */
export class WsConnGuard {
  private timer: TimerHandle | undefined;
  private open = false;
  private lastHeard: number;
  private tokens: number;
  private lastFill: number;
  private done = false;

  constructor(private readonly clock: Clock, private readonly limits: WsLimits, private readonly expire: (why: 'ws-handshake-timeout' | 'ws-idle') => void) {
    this.lastHeard = this.lastFill = clock.now();
    this.tokens = limits.messagesBurst;
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
    const now = this.clock.now();
    this.tokens = Math.min(this.limits.messagesBurst, this.tokens + ((now - this.lastFill) * this.limits.messagesPerSec) / 1000);
    this.lastFill = now;
    this.heard();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
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

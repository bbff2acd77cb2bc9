// Which underlay a node whose boot nodes have both a UDP and a ws:// line uses to reach them
// (docs/NAT.md "Falling back to WebSocket"). Pure: the driver (src/daemon/wsfallback.ts) passes
// the monotonic time with every call and performs the actions; the machine sets no timer.
// - 'udp' (the start): when no boot node answered over UDP for WS_FALLBACK_AFTER (since the
//   start or the last UDP answer), it moves to 'ws';
// - 'ws': the first UDP answer from a boot node moves it back to 'udp'.
// In both, the boot nodes' UDP addresses are probed every WS_UDP_PROBE_INTERVAL.
import { WS_FALLBACK_AFTER, WS_UDP_PROBE_INTERVAL } from '../params.js';

export type Underlay = 'udp' | 'ws';

export type FallbackAction =
  /** Ping every boot node at its UDP address; report answers with udpAnswered. */
  | { a: 'probe' }
  /** Open the WebSocket links to the boot nodes and move the DHT and relays onto them. */
  | { a: 'useWs'; why: string }
  /** Back to UDP: close the WebSocket links; the DHT and relays move back to UDP. */
  | { a: 'useUdp' };

export interface FallbackTimers {
  fallbackAfter: number;
  probeInterval: number;
}

const DEFAULTS: FallbackTimers = { fallbackAfter: WS_FALLBACK_AFTER, probeInterval: WS_UDP_PROBE_INTERVAL };

export class WsFallback {
  private st: Underlay = 'udp';
  private lastUdp: number;
  private probeAt: number;
  private since: number;
  private readonly t: FallbackTimers;

  constructor(now: number, timers: Partial<FallbackTimers> = {}) {
    this.t = { ...DEFAULTS, ...timers };
    this.lastUdp = this.since = now;
    this.probeAt = now + this.t.probeInterval;
  }

  get state(): Underlay { return this.st; }
  /** When the state last changed. */
  get changedAt(): number { return this.since; }

  /** When the machine next wants a tick. */
  nextDeadline(): number {
    return this.st === 'udp' ? Math.min(this.probeAt, this.lastUdp + this.t.fallbackAfter) : this.probeAt;
  }

  /** A boot node answered at its UDP address. */
  udpAnswered(now: number): FallbackAction[] {
    this.lastUdp = Math.max(this.lastUdp, now);
    if (this.st !== 'ws') return [];
    this.st = 'udp';
    this.since = now;
    return [{ a: 'useUdp' }];
  }

  tick(now: number): FallbackAction[] {
    const out: FallbackAction[] = [];
    if (this.st === 'udp' && now - this.lastUdp >= this.t.fallbackAfter) {
      this.st = 'ws';
      this.since = now;
      out.push({ a: 'useWs', why: `no boot node answered over UDP for ${Math.round((now - this.lastUdp) / 1000)} s` });
    }
    if (now >= this.probeAt) {
      out.push({ a: 'probe' });
      this.probeAt = now + this.t.probeInterval;
    }
    return out;
  }
}

// A relay's sessions (pure; the clock is passed in). A session joins two keys; it forwards only
// once both have asked for it (relay-open naming the other), and only between them. Each
// member's address is the one its last relay-open came from.
import type { Addr } from '../proto/addr.js';
import { RELAY_MAX_SESSIONS, RELAY_SESSION_SECONDS } from '../params.js';

interface Member {
  addr: Addr;
  until: number;
}

interface Session {
  members: Map<string, Member>; // by key hex
  tokens: number;
  last: number;
}

export type OpenResult = 'ok' | 'full';

export class RelaySessions {
  private readonly sessions = new Map<string, Session>();
  /** Member IPs and until when they are members (for the per-source packet limit exemption). */
  private readonly memberIps = new Map<string, number>();

  constructor(private readonly maxSessions = RELAY_MAX_SESSIONS, private readonly lifetimeMs = RELAY_SESSION_SECONDS * 1000) {}

  private static id(a: string, b: string): string {
    return a < b ? `${a}:${b}` : `${b}:${a}`;
  }

  open(fromHex: string, toHex: string, addr: Addr, now: number): OpenResult {
    this.expire(now);
    const id = RelaySessions.id(fromHex, toHex);
    let s = this.sessions.get(id);
    if (s === undefined) {
      if (this.sessions.size >= this.maxSessions) return 'full';
      s = { members: new Map(), tokens: 0, last: now };
      this.sessions.set(id, s);
    }
    s.members.set(fromHex, { addr, until: now + this.lifetimeMs });
    this.memberIps.delete(addr.host); // re-insert: Map order is our age order
    this.memberIps.set(addr.host, now + this.lifetimeMs);
    return 'ok';
  }

  /** Where to forward a packet from `fromHex` to `toHex`, if both opened the session and are live. */
  route(fromHex: string, toHex: string, now: number): Addr | undefined {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    if (s === undefined) return undefined;
    const from = s.members.get(fromHex), to = s.members.get(toHex);
    if (from === undefined || to === undefined || from.until < now || to.until < now) return undefined;
    return to.addr;
  }

  isMemberIp(ip: string, now: number): boolean {
    const until = this.memberIps.get(ip);
    if (until === undefined) return false;
    if (until < now) { this.memberIps.delete(ip); return false; }
    return true;
  }

  get size(): number {
    return this.sessions.size;
  }

  private expire(now: number): void {
    for (const [id, s] of this.sessions) {
      for (const [k, m] of s.members) if (m.until < now) s.members.delete(k);
      if (s.members.size === 0) this.sessions.delete(id);
    }
    for (const [ip, until] of this.memberIps) if (until < now) this.memberIps.delete(ip);
    // Bounded whatever senders do: two addresses per session at most are ever needed.
    while (this.memberIps.size > 2 * this.maxSessions) {
      const oldest = this.memberIps.keys().next().value;
      if (oldest === undefined) break;
      this.memberIps.delete(oldest);
    }
  }
}

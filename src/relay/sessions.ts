// A relay's sessions (pure; the clock is passed in). A session joins two keys; it forwards only
// once both have asked for it (relay-open naming the other), and only between them. Each
// member's address is the one its last relay-open came from.
// A session the relay forwards in the kernel (src/relay/kernel.ts) also has a port of its own,
// and each member the address its last relay-bind to that port came from (its NAT may map the
// flow to that port differently from the flow to the relay's DHT port).
import type { Addr } from '../proto/addr.js';
import { RELAY_MAX_SESSIONS, RELAY_SESSION_SECONDS } from '../params.js';

interface Member {
  addr: Addr;
  until: number;
  /** Where its datagrams to the session port come from (after a relay-bind). */
  bound?: Addr;
}

interface Session {
  members: Map<string, Member>; // by key hex
  port?: number;
}

/** A session both members have bound to its port: what the kernel forwards. */
export interface BoundSession {
  port: number;
  a: Addr;
  b: Addr;
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
      s = { members: new Map() };
      this.sessions.set(id, s);
    }
    const bound = s.members.get(fromHex)?.bound;
    s.members.set(fromHex, { addr, until: now + this.lifetimeMs, ...(bound ? { bound } : {}) });
    this.memberIps.delete(addr.host); // re-insert: Map order is our age order
    this.memberIps.set(addr.host, now + this.lifetimeMs);
    return 'ok';
  }

  /** `fromHex` leaves the session {fromHex, toHex} (it reaches the other directly now); the
   *  session ends with its last member. */
  close(fromHex: string, toHex: string): void {
    const id = RelaySessions.id(fromHex, toHex);
    const s = this.sessions.get(id);
    if (s === undefined) return;
    s.members.delete(fromHex);
    if (s.members.size === 0) this.sessions.delete(id);
  }

  /** Where to forward a packet from `fromHex` to `toHex`, if both opened the session and are live. */
  route(fromHex: string, toHex: string, now: number): Addr | undefined {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    if (s === undefined) return undefined;
    const from = s.members.get(fromHex), to = s.members.get(toHex);
    if (from === undefined || to === undefined || from.until < now || to.until < now) return undefined;
    return to.addr;
  }

  /** The session's own port, if it has one. */
  portOf(aHex: string, bHex: string): number | undefined {
    return this.sessions.get(RelaySessions.id(aHex, bHex))?.port;
  }

  /** Gives the session its own port; false when there is no such session (any more). */
  setPort(aHex: string, bHex: string, port: number): boolean {
    const s = this.sessions.get(RelaySessions.id(aHex, bHex));
    if (s === undefined) return false;
    s.port = port;
    return true;
  }

  /** A relay-bind from `fromHex` (naming `toHex`) arrived at `port` from `addr`: true when the
   *  sender is a live member of that session and the session owns that port. */
  bind(fromHex: string, toHex: string, port: number, addr: Addr, now: number): boolean {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    const m = s?.members.get(fromHex);
    if (s === undefined || m === undefined || s.port !== port || m.until < now) return false;
    m.bound = addr;
    return true;
  }

  /** Sessions whose two members are live and bound, by port. */
  boundSessions(now: number): BoundSession[] {
    this.expire(now);
    const out: BoundSession[] = [];
    for (const s of this.sessions.values()) {
      if (s.port === undefined || s.members.size !== 2) continue;
      const [a, b] = [...s.members.values()];
      if (a!.bound !== undefined && b!.bound !== undefined) out.push({ port: s.port, a: a!.bound, b: b!.bound });
    }
    return out.sort((x, y) => x.port - y.port);
  }

  /** Ports of the sessions that still exist. */
  ports(now: number): Set<number> {
    this.expire(now);
    const out = new Set<number>();
    for (const s of this.sessions.values()) if (s.port !== undefined) out.add(s.port);
    return out;
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

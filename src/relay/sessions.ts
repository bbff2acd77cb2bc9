// A relay's sessions (pure; the clock is passed in). A session joins two keys; it forwards only
// once both have asked for it (relay-open naming the other), and only between them. Each
// member's address is the one its last relay-open came from.
// A session the relay forwards in the kernel (src/relay/kernel.ts) also has a port of its own,
// and each member the address its last relay-bind to that port came from (its NAT may map the
// flow to that port differently from the flow to the relay's DHT port).
// Anyone may ask (docs/PROTOCOL.md "Relay quotas"): one key is a member of at most
// RELAY_SESSIONS_PER_KEY sessions, one source IP of at most RELAY_SESSIONS_PER_SOURCE; a
// session only one member opened (half-open) ends RELAY_HALF_OPEN_SECONDS after it was made;
// a full table makes room by evicting the oldest half-open session, else the oldest idle one,
// never one that is bound by both members or carried traffic within RELAY_ACTIVE.
import { addrKey, sameAddr, sourceKey, type Addr } from '../proto/addr.js';
import {
  RELAY_ACTIVE, RELAY_HALF_OPEN_SECONDS, RELAY_MAX_SESSIONS, RELAY_SESSION_SECONDS, RELAY_SESSIONS_PER_KEY, RELAY_SESSIONS_PER_SOURCE,
  RELAY_SHARE_RECOUNT,
} from '../params.js';

interface Member {
  addr: Addr;
  until: number;
  /** Where its datagrams to the session port come from (after a relay-bind). */
  bound?: Addr;
  /** Its WebSocket connection ended (detachAt): nothing goes to or from `addr` until it opens
   *  the session again (from its next connection). */
  gone?: true;
}

interface Session {
  members: Map<string, Member>; // by key hex
  port?: number;
  createdAt: number;
  /** Last time the session relayed a datagram through the daemon, or was made. */
  usedAt: number;
}

/** A session both members have bound to its port: what the kernel forwards. */
export interface BoundSession {
  port: number;
  a: Addr;
  b: Addr;
}

/** 'quota': the asking key or source IP has its share of sessions already. */
export type OpenResult = 'ok' | 'full' | 'quota';

export interface RelayQuotas {
  perKey: number;
  perSource: number;
  halfOpenMs: number;
  activeMs: number;
}

const DEFAULT_QUOTAS: RelayQuotas = {
  perKey: RELAY_SESSIONS_PER_KEY, perSource: RELAY_SESSIONS_PER_SOURCE, halfOpenMs: RELAY_HALF_OPEN_SECONDS * 1000, activeMs: RELAY_ACTIVE,
};

export class RelaySessions {
  private readonly sessions = new Map<string, Session>();
  /** Session ids by member key (bounded by the per-key quota). */
  private readonly byKey = new Map<string, Set<string>>();
  /** Session ids by port (setPort; stale ones go at `ports`, and a lookup checks the port). */
  private readonly byPort = new Map<number, string>();
  /** Session ids by a member's address (its relay-opens' source), for memberAt. */
  private readonly byAddr = new Map<string, Set<string>>();
  /** Sessions evicted to make room (a caller syncs the kernel when this moves). */
  evictions = 0;
  private counted = 0;
  private countedAt = -Infinity;

  constructor(
    private readonly maxSessions = RELAY_MAX_SESSIONS,
    private readonly lifetimeMs = RELAY_SESSION_SECONDS * 1000,
    private readonly quotas: RelayQuotas = DEFAULT_QUOTAS,
  ) {}

  private static id(a: string, b: string): string {
    return a < b ? `${a}:${b}` : `${b}:${a}`;
  }

  open(fromHex: string, toHex: string, addr: Addr, now: number): OpenResult {
    this.expire(now);
    const id = RelaySessions.id(fromHex, toHex);
    let s = this.sessions.get(id);
    const old = s?.members.get(fromHex);
    if (old === undefined) {
      // A new membership: within the key's and the source's quotas.
      if ((this.byKey.get(fromHex)?.size ?? 0) >= this.quotas.perKey || this.fromSource(addr.host) >= this.quotas.perSource) return 'quota';
      if (s === undefined) {
        if (this.sessions.size >= this.maxSessions && !this.evictOne(now)) return 'full';
        s = { members: new Map(), createdAt: now, usedAt: now };
        this.sessions.set(id, s);
      }
      let ids = this.byKey.get(fromHex);
      if (ids === undefined) this.byKey.set(fromHex, (ids = new Set()));
      ids.add(id);
    } else if (old.addr.host !== addr.host && !RelaySessions.hasMemberAt(s!, addr.host) && this.fromSource(addr.host) >= this.quotas.perSource) {
      // A renewal from another IP moves the membership there: within that IP's quota too (else
      // renewing from a second IP would free the first one's quota, again and again).
      return 'quota';
    }
    if (old !== undefined && !sameAddr(old.addr, addr)) this.unindex(id, s!, fromHex, old.addr);
    s!.members.set(fromHex, { addr, until: now + this.lifetimeMs, ...(old?.bound ? { bound: old.bound } : {}) });
    let at = this.byAddr.get(addrKey(addr));
    if (at === undefined) this.byAddr.set(addrKey(addr), (at = new Set()));
    at.add(id);
    return 'ok';
  }

  /** `fromHex` leaves the session {fromHex, toHex} (it reaches the other directly now); the
   *  session ends with its last member. */
  close(fromHex: string, toHex: string): void {
    const id = RelaySessions.id(fromHex, toHex);
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.removeMember(id, s, fromHex);
  }

  /** Where to forward a packet from `fromHex` to `toHex`, if both opened the session and are live. */
  route(fromHex: string, toHex: string, now: number): Addr | undefined {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    if (s === undefined) return undefined;
    const from = s.members.get(fromHex), to = s.members.get(toHex);
    if (from === undefined || to === undefined || from.until < now || to.until < now || from.gone || to.gone) return undefined;
    s.usedAt = now;
    return to.addr;
  }

  /** The key whose relay-opens for a session with `toHex` come from exactly `addr` (a WebSocket
   *  connection's TCP source: who sends a WS_TO from that connection), the session half-open
   *  or not; undefined when none is live. */
  memberAt(toHex: string, addr: Addr, now: number): string | undefined {
    for (const id of this.byAddr.get(addrKey(addr)) ?? []) {
      const s = this.sessions.get(id);
      for (const [hex, m] of s?.members ?? []) {
        if (hex !== toHex && m.until >= now && !m.gone && sameAddr(m.addr, addr) && RelaySessions.id(hex, toHex) === id) return hex;
      }
    }
    return undefined;
  }

  /** Whether `fromHex` is a live member of its session with `toHex` and `toHex` has not opened it
   *  (half-open: the relay may hold `fromHex`'s latest datagram until `toHex` comes). */
  halfOpenBy(fromHex: string, toHex: string, now: number): boolean {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    const m = s?.members.get(fromHex);
    return s !== undefined && m !== undefined && m.until >= now && !m.gone && !s.members.has(toHex);
  }

  /** Whether `hex`, at exactly `addr` (where its relay-opens come from), is a live member of a
   *  session both members opened: its relay traffic passes the per-source packet limit. */
  isMember(hex: string, addr: Addr, now: number): boolean {
    for (const id of this.byKey.get(hex) ?? []) {
      const s = this.sessions.get(id);
      const m = s?.members.get(hex);
      if (s !== undefined && m !== undefined && !m.gone && sameAddr(m.addr, addr) && RelaySessions.live(s, now)) return true;
    }
    return false;
  }

  /** Sessions both members opened and are live (counted at most once a second: it is read for
   *  every relayed datagram, to share the relay's budget). */
  establishedCount(now: number): number {
    if (now - this.countedAt >= RELAY_SHARE_RECOUNT || now < this.countedAt) {
      this.counted = 0;
      for (const s of this.sessions.values()) if (RelaySessions.live(s, now)) this.counted++;
      this.countedAt = now;
    }
    return this.counted;
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
    this.byPort.set(port, RelaySessions.id(aHex, bHex));
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

  /** A session half in the kernel (docs/NAT.md "Relay over WebSocket"): `port`'s session when
   *  a live member is bound there from exactly `from` and the other member, live and not bound,
   *  reaches the relay over a WebSocket connection (`overWs` of its relay-open address). Then
   *  the relay's daemon forwards between the port's socket and that connection, no sealing. */
  wsHalfAt(port: number, from: Addr, overWs: (a: Addr) => boolean, now: number): { ws: Addr; boundHex: string; wsHex: string } | undefined {
    const id = this.byPort.get(port), s = id === undefined ? undefined : this.sessions.get(id);
    if (s === undefined || s.port !== port || s.members.size !== 2) return undefined;
    const [[ha, a], [hb, b]] = [...s.members] as [[string, Member], [string, Member]];
    const [boundHex, bm, wsHex, wm] = a.bound !== undefined && sameAddr(a.bound, from) ? [ha, a, hb, b] : b.bound !== undefined && sameAddr(b.bound, from) ? [hb, b, ha, a] : [undefined, undefined, undefined, undefined];
    if (boundHex === undefined || bm.until < now || wm.until < now || wm.bound !== undefined || wm.gone || !overWs(wm.addr)) return undefined;
    s.usedAt = now; // the daemon relays this one (as route() for the other direction)
    return { ws: wm.addr, boundHex, wsHex };
  }

  /** The two member keys of `port`'s session when both are live (the caller takes the session's
   *  budget for a datagram the daemon forwards from the port); undefined otherwise. */
  keysAt(port: number, now: number): [string, string] | undefined {
    const id = this.byPort.get(port), s = id === undefined ? undefined : this.sessions.get(id);
    if (s === undefined || s.port !== port || !RelaySessions.live(s, now)) return undefined;
    s.usedAt = now;
    return [...s.members.keys()] as [string, string];
  }

  /** The other direction: `toHex` bound to the session's port, `fromHex` (live, not bound) over
   *  WebSocket at `fromAddr`: the port and `toHex`'s bound address. */
  wsHalfTo(fromHex: string, toHex: string, overWs: (a: Addr) => boolean, now: number): { port: number; to: Addr } | undefined {
    const s = this.sessions.get(RelaySessions.id(fromHex, toHex));
    const f = s?.members.get(fromHex), t = s?.members.get(toHex);
    if (s?.port === undefined || f === undefined || t?.bound === undefined || f.bound !== undefined || f.gone || f.until < now || t.until < now || !overWs(f.addr)) return undefined;
    return { port: s.port, to: t.bound };
  }

  /** The WebSocket connection at `addr` ended: its members are `gone` (another connection from
   *  the same address later, a reused port or a proxy's, is not them) until each opens the
   *  session again. The memberships stay (their quota, the session and its port for the peer). */
  detachAt(addr: Addr): number {
    const at = this.byAddr.get(addrKey(addr));
    if (at === undefined) return 0;
    this.byAddr.delete(addrKey(addr));
    let n = 0;
    for (const id of at) for (const m of this.sessions.get(id)?.members.values() ?? []) if (sameAddr(m.addr, addr) && !m.gone) { m.gone = true; n++; }
    return n;
  }

  /** Sessions whose two members are live and bound, by port. */
  boundSessions(now: number): BoundSession[] {
    this.expire(now);
    const out: BoundSession[] = [];
    for (const s of this.sessions.values()) {
      const b = RelaySessions.bothBound(s);
      if (b !== undefined) out.push(b);
    }
    return out.sort((x, y) => x.port - y.port);
  }

  /** Ports of the sessions that still exist. */
  ports(now: number): Set<number> {
    this.expire(now);
    const out = new Set<number>();
    for (const s of this.sessions.values()) if (s.port !== undefined) out.add(s.port);
    for (const port of this.byPort.keys()) if (!out.has(port)) this.byPort.delete(port);
    return out;
  }

  get size(): number {
    return this.sessions.size;
  }

  private static live(s: Session, now: number): boolean {
    if (s.members.size !== 2) return false;
    for (const m of s.members.values()) if (m.until < now) return false;
    return true;
  }

  private static bothBound(s: Session): BoundSession | undefined {
    if (s.port === undefined || s.members.size !== 2) return undefined;
    const [a, b] = [...s.members.values()];
    return a!.bound !== undefined && b!.bound !== undefined ? { port: s.port, a: a!.bound, b: b!.bound } : undefined;
  }

  private static hasMemberAt(s: Session, ip: string): boolean {
    for (const m of s.members.values()) if (sourceKey(m.addr.host) === sourceKey(ip)) return true;
    return false;
  }

  /** Sessions with a member whose relay-opens come from `ip`'s source (its IPv6 /64: sourceKey). */
  private fromSource(ip: string): number {
    const src = sourceKey(ip);
    let n = 0;
    for (const s of this.sessions.values()) {
      for (const m of s.members.values()) if (sourceKey(m.addr.host) === src) { n++; break; }
    }
    return n;
  }

  /** Makes room for one session: the oldest half-open one, else the oldest idle one that is
   *  not bound by both members. False when every session is protected. */
  private evictOne(now: number): boolean {
    let half: [string, Session] | undefined, idle: [string, Session] | undefined;
    for (const e of this.sessions) {
      const s = e[1];
      if (s.members.size < 2) {
        if (half === undefined || s.createdAt < half[1].createdAt) half = e;
      } else if (RelaySessions.bothBound(s) === undefined && now - s.usedAt >= this.quotas.activeMs) {
        if (idle === undefined || s.usedAt < idle[1].usedAt) idle = e;
      }
    }
    const victim = half ?? idle;
    if (victim === undefined) return false;
    this.deleteSession(victim[0], victim[1]);
    this.evictions++;
    return true;
  }

  /** Drops `id` from `addr`'s index unless another member of it is there too. */
  private unindex(id: string, s: Session, hex: string, addr: Addr): void {
    for (const [k, m] of s.members) if (k !== hex && sameAddr(m.addr, addr)) return;
    const at = this.byAddr.get(addrKey(addr));
    at?.delete(id);
    if (at?.size === 0) this.byAddr.delete(addrKey(addr));
  }

  private removeMember(id: string, s: Session, hex: string): void {
    const m = s.members.get(hex);
    if (m !== undefined) this.unindex(id, s, hex, m.addr);
    s.members.delete(hex);
    const ids = this.byKey.get(hex);
    ids?.delete(id);
    if (ids?.size === 0) this.byKey.delete(hex);
    if (s.members.size === 0) this.sessions.delete(id);
  }

  private deleteSession(id: string, s: Session): void {
    for (const hex of [...s.members.keys()]) this.removeMember(id, s, hex);
    this.sessions.delete(id);
  }

  private expire(now: number): void {
    for (const [id, s] of this.sessions) {
      for (const [k, m] of s.members) if (m.until < now) this.removeMember(id, s, k);
      // Half-open for longer than allowed (renewals do not extend it): gone.
      if (s.members.size < 2 && now - s.createdAt > this.quotas.halfOpenMs) this.deleteSession(id, s);
    }
  }
}

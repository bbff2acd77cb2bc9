// The relay server (only nodes directly reachable): `relay-open` sessions between two keys
// that both asked, `relay-close`, and forwarding of `relay` → `relayed` between them, rate
// limited per session (fair share) and in all; the latest datagram sent into a half-open
// session, held until the other member opens (RELAY_PENDING_HOLD); and, where the system
// allows, forwarding of their WireGuard datagrams in the kernel (src/relay/kernel.ts).
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import type { Addr } from '../proto/addr.js';
import { ERR_BUSY, ERR_REFUSED, type Message, type MessageOf } from '../proto/messages.js';
import { RateLimiter } from '../util/ratelimit.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { RELAY_FAIR_BUCKETS, RELAY_GLOBAL_BURST, RELAY_GLOBAL_PPS, RELAY_MAX_SESSIONS, RELAY_PENDING_HOLD, RELAY_SESSION_PPS, RELAY_SESSION_SECONDS } from '../params.js';
import { RelaySessions } from './sessions.js';
import { KernelRelay, type KernelForwardDeps } from './kernel.js';
import { FairShare } from './fair.js';
import { fragmentShapeOk, isWireGuardShaped } from './wgshape.js';
import { fragment, type Fragment } from './fragment.js';

export interface RelayServerHost {
  dht: DhtNode;
  log: Logger;
  clock: Clock;
  /** Whether this node may serve as a relay (it is directly reachable). */
  canRelay(): boolean;
  /** The system's support for relaying in the kernel; absent: relay through the daemon only. */
  forward?: KernelForwardDeps;
  /** The node's WebSocket connections (src/net/wsrelayport.ts): a whole datagram for a member
   *  connected over one goes as WS_FROM on it (true), else as a sealed `relayed`. */
  wsFrom?(to: Addr, fromKey: Uint8Array, data: Uint8Array): boolean;
  /** Whether `addr` is one of the node's WebSocket connections. */
  wsCarries?(addr: Addr): boolean;
}

export class RelayServer {
  readonly sessions = new RelaySessions();
  readonly kernel: KernelRelay | undefined;
  private readonly globalRelay = new RateLimiter(RELAY_GLOBAL_PPS, RELAY_GLOBAL_BURST, 1);
  private readonly sessionRelay = new FairShare(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS, RELAY_FAIR_BUCKETS);
  /** The latest datagram of each half-open session, by "sender>peer" (at most one per session:
   *  RELAY_MAX_SESSIONS in all), and when it came. */
  private readonly pending = new Map<string, { from: Uint8Array; m: MessageOf<'relay'>; at: number }>();
  closed = false;
  /** Packet ids of the datagrams this relay splits itself (whole ones from WebSocket members). */
  private nextPacket = 0;

  constructor(private readonly host: RelayServerHost) {
    const { clock } = host;
    this.kernel = host.forward ? new KernelRelay(this.sessions, host.dht.rpc, host.forward, host.log, () => clock.now(), clock) : undefined;
    const { wsFrom, wsCarries } = host;
    if (this.kernel !== undefined) this.kernel.take = (a, b) => this.budget(a, b, clock.now());
    if (this.kernel !== undefined && wsFrom !== undefined && wsCarries !== undefined) {
      this.kernel.ws = { carries: (a) => wsCarries(a), from: (to, k, d) => wsFrom(to, k, d) };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.kernel?.close();
  }

  onRelayClose(req: Incoming, m: MessageOf<'relay-close'>, reply: (msg: Message) => number): number {
    this.sessions.close(req.senderHex, toHex(m.k));
    void this.kernel?.sync();
    return reply({ t: 'ack', x: m.x });
  }

  onRelayOpen(req: Incoming, m: MessageOf<'relay-open'>, reply: (msg: Message) => number, now: number): number {
    if (!this.host.canRelay()) return reply({ t: 'error', x: m.x, c: ERR_REFUSED, m: 'not a relay' });
    const peerHex = toHex(m.k), evictions = this.sessions.evictions;
    const opened = this.sessions.open(req.senderHex, peerHex, req.from, now);
    if (opened !== 'ok') { this.host.dht.counters.add(`relay-open-${opened}`); return reply({ t: 'error', x: m.x, c: ERR_BUSY, m: `relay ${opened}` }); }
    if (this.sessions.evictions !== evictions) void this.kernel?.sync(); // an evicted session's port and rules go
    if (this.kernel === undefined) {
      const sent = reply({ t: 'relay-ok', x: m.x, l: RELAY_SESSION_SECONDS });
      this.release(peerHex, req.senderHex, now);
      return sent;
    }
    // The session's own port (bound on first use) lets the members move to the kernel path.
    void this.kernel.portFor(req.senderHex, peerHex).then((p) => {
      if (this.closed) return;
      reply({ t: 'relay-ok', x: m.x, l: RELAY_SESSION_SECONDS, ...(p !== undefined ? { p } : {}) });
      this.release(peerHex, req.senderHex, this.host.clock.now());
    });
    return 0;
  }

  /** `toHex` just opened its half: the datagram `fromHex` sent into the session before, if held. */
  private release(fromHex: string, toHex: string, now: number): void {
    const key = `${fromHex}>${toHex}`, p = this.pending.get(key);
    if (p === undefined) return;
    this.pending.delete(key);
    if (now - p.at <= RELAY_PENDING_HOLD) this.forward(fromHex, p.from, toHex, p.m, now);
  }

  /** A datagram into a session only its sender opened: kept (the latest one) for a while. */
  private hold(inc: Pick<Incoming, 'senderHex' | 'sender'>, toHex: string, m: MessageOf<'relay'>, now: number): void {
    if (this.pending.size >= RELAY_MAX_SESSIONS) for (const [k, p] of this.pending) if (now - p.at > RELAY_PENDING_HOLD) this.pending.delete(k);
    const key = `${inc.senderHex}>${toHex}`;
    if (this.pending.size >= RELAY_MAX_SESSIONS && !this.pending.has(key)) { this.host.dht.counters.add('relay-no-session'); return; }
    this.pending.set(key, { from: inc.sender, m, at: now });
    this.host.dht.counters.add('relay-held');
  }

  /** The WebSocket connection at `addr` ended: whoever opened sessions over it is no longer
   *  there (a later connection from the same address is someone else until it opens again). */
  onWsClosed(addr: Addr): void {
    if (this.sessions.detachAt(addr) > 0) this.host.dht.counters.add('relay-ws-gone');
  }

  /** One datagram of session {aHex, bHex}: its fair share (src/relay/fair.ts: the rate among
   *  the pairs relayed lately, the burst among those or the live sessions), and the global rate (both
   *  directions of the daemon path, and of a session half in the kernel). */
  private budget(aHex: string, bHex: string, now: number): boolean {
    const sid = aHex < bHex ? aHex + bHex : bHex + aHex;
    return this.sessionRelay.take(sid, this.sessions.establishedCount(now), now) && this.globalRelay.take('all', now);
  }

  /** A `relay` datagram: forwarded as `relayed` to the other member of the session. */
  onRelay(inc: Incoming, m: MessageOf<'relay'>, now: number): void {
    const { dht } = this.host;
    if (!this.host.canRelay()) { dht.counters.add('relay-refused'); return; }
    const toHexKey = toHex(m.k);
    // (Only a whole datagram is held: a WireGuard handshake is never fragmented.)
    const half = m.g === undefined && this.sessions.halfOpenBy(inc.senderHex, toHexKey, now);
    if (!half && this.sessions.route(inc.senderHex, toHexKey, now) === undefined) { dht.counters.add('relay-no-session'); return; }
    if (!fragmentShapeOk(m)) { dht.counters.add('relay-malformed'); return; } // only WireGuard (or a whole sealed frame) is relayed
    if (half) this.hold(inc, toHexKey, m, now);
    else this.forward(inc.senderHex, inc.sender, toHexKey, m, now);
  }

  /** A WS_TO frame from the WebSocket connection at `from` (docs/PROTOCOL.md section 12.2): a
   *  WireGuard datagram for `toKey`, from the key whose relay-opens came over that connection.
   *  Then exactly as a `relay` message: only within a session both keys asked for (the latest
   *  datagram of a half-open one held), within the same per-session and global limits. False
   *  when refused (not a relay, no such membership, not WireGuard): the transport then charges
   *  the connection's message rate (a refused frame costs what any other message does). */
  onWsTo(from: Addr, toKey: Uint8Array, data: Uint8Array, now: number): boolean {
    const { dht } = this.host;
    if (!this.host.canRelay()) { dht.counters.add('relay-refused'); return false; }
    const toHexKey = toHex(toKey), senderHex = this.sessions.memberAt(toHexKey, from, now);
    if (senderHex === undefined) { dht.counters.add('relay-ws-no-session'); return false; }
    if (!isWireGuardShaped(data)) { dht.counters.add('relay-malformed'); return false; }
    const sender = new Uint8Array(Buffer.from(senderHex, 'hex'));
    // Forwarded at once, the frame's bytes are sent as they are; a held one is copied (the
    // transport's buffer is not ours to keep).
    if (this.sessions.halfOpenBy(senderHex, toHexKey, now)) this.hold({ senderHex, sender }, toHexKey, { t: 'relay', k: toKey.slice(), d: data.slice() }, now);
    else this.forward(senderHex, sender, toHexKey, { t: 'relay', k: toKey, d: data }, now);
    return true;
  }

  private forward(fromHex: string, from: Uint8Array, toHex: string, m: MessageOf<'relay'>, now: number): void {
    const { dht } = this.host;
    const to = this.sessions.route(fromHex, toHex, now);
    if (to === undefined) { dht.counters.add('relay-no-session'); return; }
    // The session's fair share first, so that a session over it takes nothing from the rest.
    if (!this.budget(fromHex, toHex, now)) { dht.counters.add('relay-rate-limited'); return; }
    if (m.g === undefined && this.host.wsFrom?.(to, from, m.d) === true) { dht.counters.add('relay-forwarded-ws'); return; }
    // From a WebSocket member to one bound to the session's port (half in the kernel): the
    // datagram itself, from that port, as the kernel path would (the member's WireGuard takes it).
    const wsCarries = this.host.wsCarries;
    if (m.g === undefined && this.kernel !== undefined && wsCarries !== undefined) {
      const h = this.sessions.wsHalfTo(fromHex, toHex, wsCarries, now);
      if (h !== undefined && this.kernel.sendFromPort(h.port, h.to, m.d)) { dht.counters.add('relay-forwarded-port'); return; }
    }
    // A whole datagram larger than one `relayed` carries (a WS_TO: WebSocket members send whole
    // ones) goes to a UDP member as fragments, as a UDP member would have sent it.
    const parts: Fragment[] = m.g === undefined ? fragment(m.d, this.nextPacket++) ?? [] : [{ d: m.d, g: m.g, i: m.i!, c: m.c! }];
    if (parts.length === 0) { dht.counters.add('relay-malformed'); return; }
    for (const f of parts) dht.rpc.send(to, m.k, { t: 'relayed', k: from, d: f.d, ...(f.g !== undefined ? { g: f.g, i: f.i!, c: f.c! } : {}) });
    dht.counters.add('relay-forwarded');
    if (m.g === undefined && parts.length > 1) dht.counters.add('relay-split');
  }
}

// The relay side of relaying in the kernel (docs/NAT.md "Relaying in the kernel"). A session
// gets a UDP port of its own on the relay (a socket this class binds, so nothing else takes the
// port). Each member sends a sealed `relay-bind` to that port from its shared WireGuard port:
// the socket learns the member's address as its NAT maps the flow to that port. Once both are
// bound, the session's nftables rules (src/firewall/relayforward.ts) forward WireGuard datagrams
// between the two addresses, and `relay-bound {r: 1}` tells each member to point WireGuard at
// relay:port. Until then, and whenever the kernel path cannot be used (no route, an IPv6
// member: routeTo gives none, the rules are IPv4 only; nft refuses; no system support), the members relay through the daemons (`relay`/`relayed` messages).
// A WireGuard datagram that arrives IP-fragmented (a member's path MTU is below 1480) passes
// the kernel's rules by (netdev ingress sees fragments, not datagrams); the IP stack reassembles
// it and this class forwards it from the session's socket, between the same two addresses, if
// it is shaped like WireGuard (src/relay/wgshape.ts), within the session's fair share.
// The kernel's forwarding expires by itself after RELAY_KERNEL_EXPIRY_SECONDS (nftables element
// timeouts): each sync pass that changes nothing refreshes it (at most once per
// RELAY_KERNEL_REFRESH), so only a live daemon keeps its kernel forwarding.
import type { Addr } from '../proto/addr.js';
import { sameAddr } from '../proto/addr.js';
import type { Incoming, Rpc, RpcHandler } from '../dht/rpc.js';
import type { Transport } from '../net/transport.js';
import { toHex } from '../dht/id.js';
import { ERR_REFUSED } from '../proto/messages.js';
import type { Logger } from '../util/log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { ForwardSession, Hop } from '../firewall/relayforward.js';
import {
  RELAY_FAIR_BUCKETS, RELAY_GLOBAL_PPS, RELAY_KERNEL_FAILURES, RELAY_KERNEL_INSTALL_GAP, RELAY_KERNEL_REFRESH, RELAY_ROUTE_CACHE, RELAY_ROUTE_CACHE_ENTRIES, RELAY_SESSION_PPS,
} from '../params.js';
import { looksLikeWireGuard } from '../proto/packet.js';
import { FairShare } from './fair.js';
import type { RelaySessions } from './sessions.js';
import { isWireGuardShaped } from './wgshape.js';

/** What relaying in the kernel needs from the system (src/daemon/system.ts binds it). */
export interface KernelForwardDeps {
  /** Installs (atomically replaces) the forwarding rules for exactly these sessions. */
  install(sessions: readonly ForwardSession[]): Promise<void>;
  /** Removes the forwarding rules. */
  remove(): Promise<void>;
  /** Device and next hop towards an IPv4 host; undefined when none (or the host is local). */
  route(host: string): Promise<Hop | undefined>;
  /** Binds a UDP socket on a free port. */
  openPort(): Promise<{ port: number; transport: Transport }>;
  /** Restarts the expiry of the installed sessions' forwarding; absent: install() again does. */
  refresh?(ports: readonly number[]): Promise<void>;
}

/** The relay's WebSocket connections, for sessions half in the kernel (one member bound to the
 *  port, the other over WebSocket: RelaySessions.wsHalfAt). */
export interface KernelWs {
  carries(addr: Addr): boolean;
  /** Sends `data` as WS_FROM naming `fromKey` on the connection at `to`; false without one. */
  from(to: Addr, fromKey: Uint8Array, data: Uint8Array): boolean;
}

interface PortSocket {
  transport: Transport;
  rpc: Rpc;
}

export class KernelRelay {
  /** False once the system refused the rules: sessions are then relayed by the daemon only. */
  enabled = true;
  /** Set by the relay server when it has WebSocket connections (sessions half in the kernel). */
  ws: KernelWs | undefined;
  /** Set by the relay server: takes one datagram of session {aHex, bHex}'s budget, the daemon
   *  path's (its fair share and the relay's global rate: RelayServer.budget), for every datagram
   *  the daemon forwards from a session port. Absent: a share of RELAY_GLOBAL_PPS among the
   *  installed sessions (a KernelRelay on its own, in tests). */
  take: ((aHex: string, bHex: string) => boolean) | undefined;
  private readonly sockets = new Map<number, PortSocket>();
  private readonly allocating = new Map<string, Promise<number | undefined>>();
  private readonly routes = new Map<string, { hop: Hop | undefined; at: number }>();
  /** What the kernel forwards now, by port. */
  private installed = new Map<number, ForwardSession>();
  private syncing: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Sync passes started and finished, and who waits for a pass to finish. */
  private passesStarted = 0;
  private passesDone = 0;
  private waiters: { need: number; resolve: () => void }[] = [];
  /** Installs that failed in a row (kernel forwarding is turned off at RELAY_KERNEL_FAILURES). */
  private failures = 0;
  /** Reassembled (once fragmented) WireGuard datagrams forwarded from a session's socket, when
   *  no `take` is set (a KernelRelay on its own): a share among the installed sessions. */
  private readonly userLimiter = new FairShare(RELAY_SESSION_PPS, RELAY_GLOBAL_PPS, RELAY_FAIR_BUCKETS);
  /** When the kernel's forwarding was last installed or refreshed (its expiry restarted). */
  private refreshedAt = -Infinity;
  /** When the table was last replaced (or that was tried): at most once per RELAY_KERNEL_INSTALL_GAP. */
  private installAt = -Infinity;
  /** The pass that installs a deferred change once the gap has passed. */
  private deferredTimer: TimerHandle | undefined;

  constructor(
    private readonly sessions: RelaySessions,
    private readonly parent: Rpc,
    private readonly deps: KernelForwardDeps,
    private readonly log: Logger,
    private readonly now: () => number,
    /** Timers for the pass after a deferred install; absent: only later sync() calls install it. */
    private readonly timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>,
  ) {}

  /** The session's port, bound on first use; undefined when relaying in the kernel is off. */
  portFor(aHex: string, bHex: string): Promise<number | undefined> {
    if (!this.enabled || this.closed) return Promise.resolve(undefined);
    const have = this.sessions.portOf(aHex, bHex);
    if (have !== undefined) return Promise.resolve(have);
    const id = aHex < bHex ? aHex + bHex : bHex + aHex;
    let p = this.allocating.get(id);
    if (p === undefined) {
      p = this.allocate(aHex, bHex).finally(() => this.allocating.delete(id));
      this.allocating.set(id, p);
    }
    return p;
  }

  private async allocate(aHex: string, bHex: string): Promise<number | undefined> {
    let opened: { port: number; transport: Transport };
    try {
      opened = await this.deps.openPort();
    } catch (e) {
      this.parent.counters.add('relay-port-error');
      this.log.warn(`relay: cannot bind a session port: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    const { port, transport: socket } = opened;
    // Closed meanwhile, or the session expired (then there is nothing to give a port to).
    if (this.closed || this.sessions.portOf(aHex, bHex) !== undefined || !this.sessions.setPort(aHex, bHex, port)) {
      socket.close();
      return this.closed ? undefined : this.sessions.portOf(aHex, bHex);
    }
    const handler: RpcHandler = {
      onRequest: (req) => void this.onBind(port, req),
      onOneWay: () => this.parent.counters.add('relay-port-unexpected'),
    };
    // WireGuard datagrams reaching the socket (reassembled fragments) are forwarded here; the
    // rest goes to the Rpc (relay-bind requests, or dropped and counted).
    const transport: Transport = {
      send: (to, data) => socket.send(to, data),
      setReceiver: (receiver) => socket.setReceiver((data, from) => { if (!this.forwardFromSocket(port, socket, data, from)) receiver(data, from); }),
      close: () => socket.close(),
    };
    this.sockets.set(port, { transport, rpc: this.parent.fork(transport, handler) });
    return port;
  }

  /** A datagram on session port `port`: if it is a WireGuard message from one bound member,
   *  sends it to the other, from the same socket; true when it was taken. */
  private forwardFromSocket(port: number, socket: Transport, data: Uint8Array, from: Addr): boolean {
    if (!looksLikeWireGuard(data)) return false;
    if (!isWireGuardShaped(data)) { this.parent.counters.add('relay-port-malformed'); return true; }
    const f = this.installed.get(port);
    const to = f === undefined ? undefined : sameAddr(f.a, from) ? f.b : sameAddr(f.b, from) ? f.a : undefined;
    if (to === undefined) return this.forwardToWs(port, data, from);
    let ok: boolean;
    if (this.take === undefined) ok = this.userLimiter.take(String(port), this.installed.size, this.now());
    else {
      const keys = this.sessions.keysAt(port, this.now());
      if (keys === undefined) { this.parent.counters.add('relay-port-not-member'); return true; }
      ok = this.take(keys[0], keys[1]);
    }
    if (!ok) { this.parent.counters.add('relay-port-rate-limited'); return true; }
    socket.send({ host: to.host, port: to.port }, data);
    this.parent.counters.add('relay-port-forwarded');
    return true;
  }

  /** A WireGuard datagram on `port` from the member bound there, whose session's other member
   *  is over WebSocket: to that connection as WS_FROM naming the sender, within the daemon
   *  path's budget (the kernel's fair share counts only what the kernel forwards). */
  private forwardToWs(port: number, data: Uint8Array, from: Addr): boolean {
    const h = this.ws === undefined ? undefined : this.sessions.wsHalfAt(port, from, (a) => this.ws!.carries(a), this.now());
    if (h === undefined) { this.parent.counters.add('relay-port-not-member'); return true; }
    if (!(this.take?.(h.boundHex, h.wsHex) ?? true)) { this.parent.counters.add('relay-port-rate-limited'); return true; }
    if (this.ws!.from(h.ws, Buffer.from(h.boundHex, 'hex'), data)) this.parent.counters.add('relay-port-forwarded-ws');
    return true;
  }

  /** Sends a WireGuard datagram from session port `port` to `to` (a member bound there, for a
   *  WebSocket member's datagram); false when the port has no socket. */
  sendFromPort(port: number, to: Addr, data: Uint8Array): boolean {
    const s = this.sockets.get(port);
    if (s === undefined) return false;
    s.transport.send(to, data);
    return true;
  }

  /** Whether `addr`, bound to `port`, is forwarded half in the kernel (the other member over WebSocket). */
  private halfForwards(port: number, addr: Addr): boolean {
    return this.ws !== undefined && this.sessions.wsHalfAt(port, addr, (a) => this.ws!.carries(a), this.now()) !== undefined;
  }

  private async onBind(port: number, req: Incoming): Promise<void> {
    const s = this.sockets.get(port);
    if (s === undefined) return;
    const m = req.msg;
    if (m.t !== 'relay-bind' || !this.sessions.bind(req.senderHex, toHex(m.k), port, req.from, this.now())) {
      this.parent.counters.add('relay-bind-refused');
      s.rpc.send(req.from, req.sender, { t: 'error', x: (m as { x: Uint8Array }).x, c: ERR_REFUSED }, req.size);
      return;
    }
    await this.syncedAfterNow();
    if (this.closed || !this.sockets.has(port)) return;
    s.rpc.send(req.from, req.sender, { t: 'relay-bound', x: m.x, a: req.from, r: this.forwards(port, req.from) || this.halfForwards(port, req.from) ? 1 : 0 });
  }

  /** Brings the kernel's rules and the session sockets in line with the sessions. Serialized;
   *  a call during a sync makes one more pass run after it. */
  sync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        this.passesStarted++;
        try {
          await this.syncOnce();
        } catch (e) {
          this.log.warn(`relay: ${e instanceof Error ? e.message : String(e)}`); // a pass that failed still ends
        }
        this.passesDone++;
        const ready = this.waiters.filter((w) => w.need <= this.passesDone);
        this.waiters = this.waiters.filter((w) => w.need > this.passesDone);
        for (const w of ready) w.resolve();
      } while (this.again && !this.closed);
    })().finally(() => { this.syncing = undefined; });
    return this.syncing;
  }

  /** Resolves when a sync pass that started after this call has finished: not later, however
   *  many syncs others ask for meanwhile (so a stream of binds cannot hold a reply back). */
  private syncedAfterNow(): Promise<void> {
    const need = this.passesStarted + 1;
    const done = new Promise<void>((resolve) => this.waiters.push({ need, resolve }));
    void this.sync();
    return done;
  }

  private async syncOnce(): Promise<void> {
    const now = this.now();
    const live = this.sessions.ports(now);
    for (const [port, s] of this.sockets) {
      if (live.has(port)) continue;
      s.rpc.close();
      s.transport.close();
      this.sockets.delete(port);
    }
    if (!this.enabled || this.closed) return;
    const bound = this.sessions.boundSessions(now);
    const hops = await Promise.all(bound.map((b) => Promise.all([this.route(b.a.host, now), this.route(b.b.host, now)])));
    const want: ForwardSession[] = [];
    bound.forEach((b, i) => {
      const [ha, hb] = hops[i]!;
      if (ha === undefined || hb === undefined) return; // no usable route: the daemons relay
      want.push({ port: b.port, a: { host: b.a.host, port: b.a.port, hop: ha }, b: { host: b.b.host, port: b.b.port, hop: hb } });
    });
    if (sameForwarding(want, [...this.installed.values()])) {
      if (want.length === 0 || now - this.refreshedAt < RELAY_KERNEL_REFRESH) return;
      // Unchanged: restart the rules' expiry (a failed refresh falls through to a reinstall).
      try {
        await (this.deps.refresh !== undefined ? this.deps.refresh(want.map((s) => s.port)) : this.deps.install(want));
        this.refreshedAt = now;
        this.parent.counters.add('relay-kernel-refresh');
        return;
      } catch (e) {
        this.log.warn(`relay: cannot refresh the kernel forwarding (${e instanceof Error ? e.message : String(e)}); installing it again`);
      }
    }
    // Paced: each bind from a new address changes `want`, and a full replacement costs an
    // `nft -f` of every session and restarts every limit. A deferred change is installed by a
    // later pass (a timer's, the members' next binds, or the periodic one). Removals only (a
    // session ended) are not deferred: each followed an addition, which was paced.
    if (this.adds(want) && now - this.installAt < RELAY_KERNEL_INSTALL_GAP && now >= this.installAt) {
      this.parent.counters.add('relay-kernel-install-deferred');
      if (this.timers !== undefined && this.deferredTimer === undefined) {
        this.deferredTimer = this.timers.setTimeout(() => { this.deferredTimer = undefined; if (!this.closed) void this.sync(); }, this.installAt + RELAY_KERNEL_INSTALL_GAP - now);
      }
      return;
    }
    this.installAt = now;
    try {
      await this.deps.install(want);
      this.installed = new Map(want.map((s) => [s.port, s]));
      this.refreshedAt = now;
      this.failures = 0;
      this.parent.counters.add('relay-kernel-install');
    } catch (e) {
      // The table is replaced atomically, so the rules installed before stay in force. A route
      // read a while ago may name a device that is gone: read the routes again next time.
      this.routes.clear();
      const why = e instanceof Error ? e.message : String(e);
      if (++this.failures < RELAY_KERNEL_FAILURES) {
        this.log.warn(`relay: cannot update the kernel forwarding (${why}); trying again`);
        return;
      }
      this.enabled = false;
      this.installed.clear();
      this.log.warn(`relay: cannot forward in the kernel (${why}, ${this.failures} times in a row); relaying through the daemon only`);
      await this.deps.remove().catch(() => undefined);
    }
  }

  /** Whether `want` forwards a session, or between addresses, that the kernel does not now. */
  private adds(want: readonly ForwardSession[]): boolean {
    return want.some((s) => { const i = this.installed.get(s.port); return i === undefined || JSON.stringify(i) !== JSON.stringify(s); });
  }

  private async route(host: string, now: number): Promise<Hop | undefined> {
    const c = this.routes.get(host);
    if (c !== undefined && now - c.at < RELAY_ROUTE_CACHE) return c.hop;
    const hop = await this.deps.route(host).catch(() => undefined);
    this.routes.set(host, { hop, at: now });
    if (this.routes.size > RELAY_ROUTE_CACHE_ENTRIES) this.routes.delete(this.routes.keys().next().value!);
    return hop;
  }

  /** Sessions forwarded in the kernel now. */
  get forwarding(): number {
    return this.installed.size;
  }

  /** Whether datagrams from `addr` to `port` are forwarded in the kernel. */
  forwards(port: number, addr: Addr): boolean {
    const f = this.installed.get(port);
    return f !== undefined && (sameAddr(f.a, addr) || sameAddr(f.b, addr));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.deferredTimer !== undefined) this.timers?.clearTimeout(this.deferredTimer);
    await this.syncing?.catch(() => undefined);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    for (const s of this.sockets.values()) {
      s.rpc.close();
      s.transport.close();
    }
    this.sockets.clear();
    this.installed.clear();
    await this.deps.remove().catch((e: unknown) => this.log.warn(`relay: ${String(e)}`));
  }
}

function sameForwarding(a: readonly ForwardSession[], b: readonly ForwardSession[]): boolean {
  const key = (l: readonly ForwardSession[]) => JSON.stringify([...l].sort((x, y) => x.port - y.port));
  return key(a) === key(b);
}

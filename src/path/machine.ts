// One trusted peer's path, as one state machine that owns every timer of it (in the spirit of
// wireguard-go's device/timers.go and tailscale's magicsock endpoint). Pure: the driver passes
// the monotonic time with every event, gets back the actions to perform, and calls `tick` when
// `nextDeadline()` has come; the machine never sets a timer and performs no I/O. States, events
// and timers: src/path/types.ts and docs/NAT.md "The per-peer path machine".
//
// Relay and punch race: once a rendezvous knew the peer (punch-ok), a relay opens while the
// probes go on; traffic takes the relay as soon as it is ready (it counts once the peer is heard
// through it: heard.ts), and moves to the direct path when a probe (or any ping) is answered
// through the path check; the relay closes after that.
import { addrKey as show, sameAddr as same, type Addr } from '../proto/addr.js';
import {
  BAD_ENDPOINT_KEEP, DIRECT_RETRY_MAX, DIRECT_RETRY_MIN, NAT_KEEPALIVE_SECONDS, PATH_CHECK_FAILURES, PATH_OP_TIMEOUT, PATH_PUNCH_AFTER,
  PATH_SEARCH_JITTER, PEER_OFFLINE_AFTER, PEER_RECHECK, PEER_SEARCH_MAX, PEER_SEARCH_MIN,
} from '../params.js';
import { HandshakeWatch } from './handshake.js';
import { RelayHeard } from './heard.js';
import { RelayAttempt } from './holds.js';
import type { PathAction, PathEndpoint, PathEvent, PathOptions, PathState, PathView, RelayId, RelayTransport, ShownPath } from './types.js';

export type * from './types.js';
const NEVER = Infinity;

interface Relay<R> { r: R; endpoint: string; kernel: boolean; transport: RelayTransport }

export class PathMachine<R extends RelayId = RelayId> {
  private st: PathState = 'searching';
  private since: number;
  private hint: Addr | undefined;
  private keepalive: number;
  /** Failed searches in a row (back-off, offline), failed direct retries while relayed, and
   *  unanswered re-checks of the direct endpoint. */
  private failures = 0; private directFailures = 0; private checkFailures = 0;
  private endpoint: Addr | undefined;
  /** The last direct pong's round trip (direct only: dropped when the path leaves direct). */
  private rtt: number | undefined;
  /** The relay WireGuard uses (ready), and the one being opened. */
  private relay: Relay<R> | undefined;
  private readonly relayHeard = new RelayHeard(); // whether the peer was heard through `relay`
  private opening: R | undefined;
  private readonly relays = new RelayAttempt<R>(); // this attempt's relays; the relays held for the peer
  /** The last direct endpoint whose path died, and when: not taken again for BAD_ENDPOINT_KEEP. */
  private deadDirect: { addr: Addr; at: number } | undefined;
  private readonly handshake: HandshakeWatch;
  private checking = false; // a re-check ping of the direct endpoint is out (only its silence counts)
  private punchAgain = false;
  // The timers (ms, NEVER when off).
  private wait = NEVER; // the state's own: next search (backoff/offline), re-check (direct), direct retry (relayed)
  private lookupUntil = NEVER; // a lookup is pending until then
  private punchUntil = NEVER; // a punch is pending until then
  private relayUntil = NEVER; // `opening` is pending until then
  private punchAt = NEVER; // the punch after the pings of a lookup's addresses
  private out: PathAction<R>[] = [];

  constructor(private readonly opts: PathOptions<R>) {
    this.since = opts.now;
    this.hint = opts.hint;
    this.keepalive = opts.keepalive;
    this.handshake = new HandshakeWatch(opts.initiator);
  }

  /** The actions to start with: the first search. */
  start(now: number): PathAction<R>[] {
    this.search(now);
    return this.flush(now);
  }

  get state(): PathState { return this.st; }

  /** When the machine next wants a tick (ms); Infinity once removed. */
  nextDeadline(): number {
    return Math.min(this.wait, this.lookupUntil, this.punchUntil, this.relayUntil, this.punchAt, this.handshake.next(), this.relayHeard.by);
  }

  view(): PathView<R> {
    const relayed = this.st === 'relayed' && this.relay !== undefined;
    return {
      state: this.st, shown: this.shown(), since: this.since,
      ...(this.st === 'direct' && this.endpoint ? { endpoint: this.endpoint } : {}),
      ...(relayed && this.relayHeard.heard ? { relay: this.relay!.r, kernel: this.relay!.kernel, transport: this.relay!.transport } : {}),
      ...(relayed ? { via: { relay: this.relay!.r, endpoint: this.relay!.endpoint } } : {}),
      ...(this.st === 'direct' && this.rtt !== undefined ? { rtt: this.rtt } : {}),
    };
  }

  /** Whether a relay may be opened through `relayHex` for this peer at `now`. */
  mayRelay(relayHex: string, now: number): boolean {
    return this.relays.holds.may(relayHex, now);
  }

  /** One event at monotonic time `now`; the actions to perform, in order. */
  step(ev: PathEvent<R>, now: number): PathAction<R>[] {
    if (this.st === 'removed') return [];
    // Timers due by now fire first, whatever the event (a driver may tick late).
    if (ev.t !== 'removed') this.tick(now);
    switch (ev.t) {
      case 'tick': break;
      case 'lookupResult': if (this.lookupUntil !== NEVER) this.lookedUp(ev.found, now); break;
      case 'answered': this.answered(ev.addr, ev.rtt, now); break;
      case 'unanswered': this.unanswered(ev.addr, now); break;
      case 'punchAccepted': this.punchAccepted(ev.via, now); break;
      case 'punchEnded': if (this.punchUntil !== NEVER) this.punchEnded(now); break;
      case 'relayReady': this.relayReady({ r: ev.relay, endpoint: ev.endpoint, kernel: ev.kernel, transport: ev.transport ?? 'udp' }, now); break;
      case 'relayFailed': this.relayFailed(ev.relay, now); break;
      case 'relayLost':
        if (this.relay?.r.hex !== ev.relay.hex) break;
        this.relay = undefined;
        if (this.st === 'relayed') { this.log('info', `relay via ${ev.relay.hex} lost; searching again`); this.enter('searching', now); this.search(now, true); }
        break;
      case 'pathSuspect': if (this.onPath()) this.emit({ a: 'poke' }); break;
      case 'pathSilent': if (this.onPath()) this.emit({ a: 'recreate', why: 'silent' }); break;
      case 'pathDead': this.pathDead(ev.why, now); break;
      case 'heard': this.relays.holds.heard(); break;
      case 'pathHeard': this.pathHeard(now); break;
      case 'handshakeSeen': this.sessionSeen(); break;
      case 'restored': if (this.onPath()) { this.emit({ a: 'poke' }); this.handshake.watch(now); } break;
      case 'configChanged':
        if (ev.endpoint !== undefined && !same(this.hint, ev.endpoint) && !this.onPath()) this.emit({ a: 'ping', addr: ev.endpoint, why: 'hint' });
        this.hint = ev.endpoint;
        break;
      case 'keepalive':
        if (ev.seconds === this.keepalive) break;
        this.keepalive = ev.seconds;
        if (this.st === 'direct' && this.endpoint) this.setEndpoint({ kind: 'direct', addr: this.endpoint }, now);
        break;
      case 'removed':
        for (const r of [this.relay?.r, this.opening]) if (r !== undefined) this.emit({ a: 'closeRelay', relay: r });
        this.relay = this.opening = undefined;
        this.enter('removed', now);
        this.wait = this.lookupUntil = this.punchUntil = this.relayUntil = this.punchAt = NEVER;
        this.handshake.stop();
    }
    return this.flush(now);
  }

  // ---- internals ---------------------------------------------------------------------------

  private onPath(): boolean { return this.st === 'direct' || this.st === 'relayed'; }

  private emit(a: PathAction<R>): void {
    this.out.push(a);
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string): void {
    this.emit({ a: 'log', level, msg });
  }

  private flush(now: number): PathAction<R>[] {
    // Every live state has a timer (tested); a machine without one would never act again.
    if (this.st !== 'removed' && this.nextDeadline() === NEVER) {
      this.log('warn', `path machine in ${this.st} had no timer; searching again in ${PEER_SEARCH_MAX} ms`);
      this.wait = now + PEER_SEARCH_MAX;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  /** A relayed path is shown `relay` only once the peer was heard through it; until then the
   *  peer is still being searched for. */
  private shown(): ShownPath {
    if (this.st === 'direct') return 'direct';
    if (this.st === 'relayed' && this.relayHeard.heard) return 'relay';
    return this.failures >= PEER_OFFLINE_AFTER ? 'offline' : 'searching';
  }

  /** `since` is when the path `wh show` prints last changed (an offline peer's searches do not reset it). */
  private enter(st: PathState, now: number, before = this.shown()): void {
    if (st !== 'direct') this.rtt = undefined; // measured on the direct path only
    if (st !== 'relayed') this.relayHeard.clear();
    this.st = st;
    if (this.shown() !== before) this.since = now;
  }

  private tick(now: number): void {
    if (this.handshake.due(now, this.onPath())) this.emit({ a: 'recreate', why: 'handshake' });
    if (this.handshake.pokeDue(now) && this.onPath()) this.emit({ a: 'poke' });
    if (this.relayHeard.due(now) && this.st === 'relayed' && this.relay) this.relayUnheard(now, 'the peer was not heard through it');
    if (this.lookupUntil <= now) this.lookedUp(undefined, now);
    if (this.punchAt <= now) { this.punchAt = NEVER; this.punch(now); }
    if (this.relayUntil <= now) {
      this.relayUntil = NEVER;
      // No report: the link, should it ever come up, is not wanted.
      if (this.opening !== undefined) { this.emit({ a: 'closeRelay', relay: this.opening }); this.relayFailed(this.opening, now); }
    }
    if (this.punchUntil <= now) this.punchEnded(now);
    if (this.wait <= now) {
      this.wait = NEVER;
      if (this.st === 'direct' && this.endpoint) {
        this.emit({ a: 'ping', addr: this.endpoint, why: 'check' });
        this.checking = true;
        this.wait = now + PEER_RECHECK;
      } else if (this.st === 'relayed' || this.st === 'backoff' || this.st === 'offline') {
        this.search(now);
      }
    }
  }

  /** A new search: lookup (and ping the config's hint). Relayed peers stay relayed meanwhile. */
  private search(now: number, fresh = false): void {
    if (fresh) { this.failures = 0; this.relays.reset(); }
    if (this.st !== 'relayed' && this.st !== 'offline') this.enter('searching', now);
    this.wait = NEVER;
    // One lookup at a time (one under way serves the new attempt).
    if (this.lookupUntil === NEVER) { this.lookupUntil = now + PATH_OP_TIMEOUT; this.emit({ a: 'lookup' }); }
    if (this.hint !== undefined) this.emit({ a: 'ping', addr: this.hint, why: 'hint' });
  }

  private lookedUp(found: Addr | undefined, now: number): void {
    this.lookupUntil = NEVER;
    if (this.st === 'direct') return;
    const pinged = found !== undefined || this.hint !== undefined;
    if (found !== undefined && !same(found, this.hint)) this.emit({ a: 'ping', addr: found, why: 'found' });
    if (this.st !== 'relayed') this.enter('punching', now);
    // The pings get a moment to be answered (a public peer is never punched); then punch.
    if (pinged) this.punchAt = now + PATH_PUNCH_AFTER;
    else this.punch(now);
  }

  private punch(now: number): void {
    if (this.st === 'direct') return;
    // One punch at a time (the driver runs one per peer): a new attempt's punch follows the old one.
    if (this.punchUntil !== NEVER) { this.punchAgain = true; return; }
    this.punchUntil = now + PATH_OP_TIMEOUT;
    this.emit({ a: 'punch', rendezvous: this.opts.rendezvous() });
  }

  private punchAccepted(via: R, now: number): void {
    if (this.punchUntil === NEVER || this.onPath()) return; // a late punch-ok: that punch is over
    this.relays.locate(via);
    // The race: a relay opens now, while the probes go on.
    if (this.relay === undefined && this.opening === undefined) this.openRelay(now);
  }

  /** Opens the next untried, unheld relay of this attempt; false if none is left. */
  private openRelay(now: number): boolean {
    const next = this.relays.next(this.opts.rendezvous(), now);
    if (next === undefined) return false;
    this.opening = next;
    this.relayUntil = now + PATH_OP_TIMEOUT;
    this.emit({ a: 'openRelay', relay: next });
    return true;
  }

  private punchEnded(now: number): void {
    this.punchUntil = NEVER;
    if (this.st === 'direct') return;
    if (this.punchAgain) { this.punchAgain = false; this.punch(now); return; }
    if (this.st === 'relayed') {
      // A direct retry failed again: back off (jittered ±50 %), and keep trying.
      this.directFailures++;
      const d = Math.min(DIRECT_RETRY_MAX, DIRECT_RETRY_MIN * 2 ** Math.min(this.directFailures, 16));
      this.wait = now + Math.round(d * (0.5 + this.opts.random()));
      return;
    }
    // (A search started meanwhile, after a dead path: it decides.)
    if (this.opening === undefined && this.relay === undefined && this.lookupUntil === NEVER) this.searchFailed(now);
  }

  private relayFailed(relay: R, now: number): void {
    if (this.opening?.hex !== relay.hex) return;
    this.opening = undefined;
    this.relayUntil = NEVER;
    if (this.onPath()) return;
    if (!this.openRelay(now) && this.punchUntil === NEVER && this.punchAt === NEVER && this.lookupUntil === NEVER) this.searchFailed(now);
  }

  private searchFailed(now: number): void {
    const before = this.shown();
    this.failures++;
    this.relays.reset();
    const offline = this.failures >= PEER_OFFLINE_AFTER;
    if (offline && this.st !== 'offline') this.log('info', 'offline (not found; searching goes on)');
    this.enter(offline ? 'offline' : 'backoff', now, before);
    const d = Math.min(PEER_SEARCH_MAX, PEER_SEARCH_MIN * 2 ** Math.min(this.failures - 1, 16));
    this.wait = now + Math.round(d * (1 - PATH_SEARCH_JITTER + 2 * PATH_SEARCH_JITTER * this.opts.random()));
  }

  private relayReady(link: Relay<R>, now: number): void {
    if (this.opening?.hex === link.r.hex) { this.opening = undefined; this.relayUntil = NEVER; }
    // A direct path won the race (or holds): the late link goes.
    if (this.st === 'direct') { this.emit({ a: 'closeRelay', relay: link.r }); return; }
    const old = this.relay, before = this.shown();
    this.relay = link;
    // A relay (another one) the peer is yet to be heard through; shown `relay` only then.
    if (this.st !== 'relayed' || old?.r.hex !== link.r.hex) this.relayHeard.expect(now);
    if (this.shown() !== before) this.since = now;
    if (this.st !== 'relayed') {
      // (The search's failures are forgotten only once the peer is heard through the relay.)
      this.enter('relayed', now, before);
      this.directFailures = 0;
      this.relays.reset(true);
      // Direct retries from now on; a punch still under way counts as the first.
      if (this.punchUntil === NEVER && this.lookupUntil === NEVER) this.wait = now + Math.round(DIRECT_RETRY_MIN * (0.5 + this.opts.random()));
    }
    if (old !== undefined && old.r.hex === link.r.hex && old.endpoint === link.endpoint && old.kernel === link.kernel && old.transport === link.transport) return;
    this.log('info', `relay via ${link.r.hex}${link.kernel ? ' (kernel)' : link.transport === 'ws' ? ' (over WebSocket)' : ''}`);
    this.setEndpoint({ kind: 'relay', relay: link.r, endpoint: link.endpoint, kernel: link.kernel }, now);
  }

  private answered(addr: Addr, rtt: number | undefined, now: number): void {
    if (this.st === 'direct' && same(this.endpoint, addr)) {
      this.checkFailures = 0;
      this.checking = false;
      if (rtt !== undefined) this.rtt = rtt;
      this.wait = now + PEER_RECHECK;
      return;
    }
    // Hysteresis: an endpoint whose path died lately is not taken back (the relay, or the
    // search, goes on), so that the path does not flap between it and the relay.
    if (this.deadDirect && same(this.deadDirect.addr, addr) && now - this.deadDirect.at < BAD_ENDPOINT_KEEP) {
      this.log('debug', `answer from ${show(addr)} not taken (its path died lately)`);
      return;
    }
    if (this.st === 'direct') this.since = now; // another endpoint
    this.enter('direct', now);
    this.endpoint = addr;
    this.checking = false;
    if (rtt !== undefined) this.rtt = rtt;
    this.failures = this.directFailures = this.checkFailures = 0;
    this.relays.reset();
    this.punchAt = NEVER;
    this.wait = now + PEER_RECHECK;
    this.log('info', `direct ${show(addr)}`);
    this.setEndpoint({ kind: 'direct', addr }, now);
    // The relay goes once WireGuard left it (the driver performs the actions in order).
    for (const r of [this.relay?.r, this.opening]) if (r !== undefined) this.emit({ a: 'closeRelay', relay: r });
    this.relay = this.opening = undefined;
    this.relayUntil = NEVER;
  }

  private unanswered(addr: Addr, now: number): void {
    // A candidate's silence (even at the endpoint a probe got through to since): the punch goes on.
    if (this.st !== 'direct' || !same(this.endpoint, addr) || !this.checking) return;
    this.checking = false;
    this.checkFailures++;
    if (this.checkFailures < PATH_CHECK_FAILURES) { this.wait = now + PEER_SEARCH_MIN; return; }
    this.log('info', `direct ${show(addr)}: ${this.checkFailures} checks unanswered; searching again`);
    this.checkFailures = 0;
    this.search(now, true);
  }

  /** WireGuard received the peer's packets through the relay link in use: the relayed path counts. */
  private pathHeard(now: number): void {
    if (this.st !== 'relayed' || this.relay === undefined) return;
    const before = this.shown();
    if (!this.relayHeard.confirm()) return;
    this.failures = 0;
    if (this.shown() !== before) this.since = now;
    this.log('info', `relay via ${this.relay.r.hex}: the peer is heard through it`);
  }

  /** The relay in use was not heard through (in time, or its path died first): it reached no one.
   *  It is held for this peer; the attempt failed (the search goes on, or backs off: offline). */
  private relayUnheard(now: number, why: string): void {
    this.dropRelay(now, 'info', why);
    this.wait = NEVER; // the direct retries
    if (this.lookupUntil !== NEVER) this.enter('searching', now);
    else if (this.punchAt !== NEVER || this.punchUntil !== NEVER || this.opening !== undefined) this.enter('punching', now);
    else this.searchFailed(now);
  }

  private pathDead(why: string, now: number): void {
    if (this.st === 'relayed' && this.relay && !this.relayHeard.heard) { this.relayUnheard(now, `dropped: ${why}`); return; }
    if (this.st === 'direct' && this.endpoint) {
      this.deadDirect = { addr: this.endpoint, at: now };
      this.log('warn', `direct ${show(this.endpoint)} dropped: ${why}; searching again`);
    } else if (this.st === 'relayed' && this.relay) {
      this.dropRelay(now, 'warn', `dropped: ${why}`);
    } else {
      return;
    }
    this.enter('searching', now);
    this.search(now, true);
  }

  /** Closes the relay in use and holds it for this peer only (other relays stay allowed). */
  private dropRelay(now: number, level: 'info' | 'warn', why: string): void {
    const r = this.relay!.r, len = this.relays.holds.hold(r.hex, now);
    this.log(level, `relay via ${r.hex}: ${why}; not through it for ${Math.round(len / 1000)} s`);
    this.emit({ a: 'closeRelay', relay: r });
    this.relay = undefined;
  }

  /** A session: the held keepalive goes to WireGuard; a relayed path pokes once (a data packet). */
  private sessionSeen(): void {
    const keepalive = this.handshake.sessionSeen();
    if (keepalive !== undefined && this.onPath()) this.emit({ a: 'keepalive', seconds: keepalive });
    if (this.st === 'relayed' && this.relay !== undefined && this.relayHeard.pokeOnce()) this.emit({ a: 'poke' });
  }

  private setEndpoint(endpoint: PathEndpoint<R>, now: number): void {
    // Who initiates, when, and with what keepalive: src/path/handshake.ts.
    const relay = endpoint.kind === 'relay';
    const first = this.handshake.endpointSet(now, relay, relay ? NAT_KEEPALIVE_SECONDS : this.keepalive);
    this.emit({ a: 'setEndpoint', endpoint, keepalive: first.keepalive });
    if (first.poke) this.emit({ a: 'poke' });
  }
}

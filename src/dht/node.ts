// A Kademlia DHT node over the secure channel. Transport, clock and randomness are injected, so
// the same code runs over real UDP (src/net/udp.ts) and in the in-memory network (src/sim).
import type { Sodium } from '../crypto/sodium.js';
import { addrKey, isUdpAddr, sameAddr, usableAddr, type Addr } from '../proto/addr.js';
import { SecureChannel } from '../proto/channel.js';
import { PONG_DIRECT, type Message } from '../proto/messages.js';
import type { Transport } from '../net/transport.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { Counters } from '../util/counters.js';
import { RateLimiter } from '../util/ratelimit.js';
import { randomBytes } from '../util/random.js';
import {
  ALPHA, OBSERVED_ADDRS_KEPT, BOOTSTRAP_ATTEMPTS, FIND_ATTEMPTS, BOOTSTRAP_RETRY_DELAY, BUCKET_REFRESH, FIND_PAD_TO, K, LOOKUP_MAX_REQUESTS, MAX_PACKET, PING_PAD_TO,
  ENTRY_GOOD_FOR, JOIN_REFRESH_WIDTH, REFRESH_CHECK, REQUEST_RETRIES, REQUEST_TIMEOUT, VERIFY_PINGS_PER_SEC,
} from '../params.js';
import { randomIdInBucket, toHex } from './id.js';
import { Lookup } from './lookup.js';
import { nodesRecords } from './records.js';
import { Rpc, type Incoming, type Reply } from './rpc.js';
import { RoutingTable } from './table.js';

export interface DhtNodeOptions {
  sodium: Sodium;
  secret: Uint8Array;
  workbit: number;
  namespace: string;
  transport: Transport;
  clock: Clock;
  random?: (n: number) => Uint8Array;
  k?: number;
  alpha?: number;
  requestTimeout?: number;
  retries?: number;
  /** Declare this node directly reachable in pongs (verified by others later). */
  direct?: boolean;
  /** Run the periodic bucket refresh (default true). */
  refresh?: boolean;
  /** Called whenever a node answers us at an address (a verified, direct exchange); `seenAs` is
   *  where a pong says its sender saw us (absent for other answers). */
  onVerified?: (id: Uint8Array, addr: Addr, rtt: number | undefined, seenAs?: Addr) => void;
  /** Keys that are not strangers (our trusted peers): exempt from the amplification limit. */
  isKnown?: (hex: string) => boolean;
  epoch?: bigint;
}

/** Handlers for the message types above the DHT (hole punching, relaying). */
export interface DhtExtensions {
  /** Answers a request within maxSize bytes and returns the bytes sent; undefined if not handled. */
  request?(req: Incoming, maxSize: number): number | undefined;
  /** Handles a one-way message; true if handled. */
  oneWay?(msg: Incoming): boolean;
}

export interface BootNode {
  key: Uint8Array;
  addr: Addr;
}

export interface LookupResult {
  target: Uint8Array;
  closest: { id: Uint8Array; addr: Addr }[];
  /** The target's address, as reported (or as it answered), when the target was found. */
  found?: Addr;
  /** `found` is where the target itself answered us during this lookup. */
  verified: boolean;
  rounds: number;
  requests: number;
}

export class DhtNode {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly table: RoutingTable;
  readonly channel: SecureChannel;
  readonly rpc: Rpc;
  readonly counters = new Counters();
  private readonly clock: Clock;
  private readonly random: (n: number) => Uint8Array;
  private readonly k: number;
  private readonly alpha: number;
  private readonly verifyLimiter = new RateLimiter(VERIFY_PINGS_PER_SEC, VERIFY_PINGS_PER_SEC, 1);
  private readonly verifying = new Set<string>();
  private readonly evictionChecks = new Set<string>();
  private refreshTimer: TimerHandle | undefined;
  private closed = false;
  /** What the last pongs told us about our own address, by responder address, most recent
   *  last, at most OBSERVED_ADDRS_KEPT (NAT detection builds on this). */
  readonly observed = new Map<string, Addr>();
  private lastObserved: Addr | undefined;
  direct: boolean;
  private readonly onVerified: DhtNodeOptions['onVerified'];
  private readonly isKnown: DhtNodeOptions['isKnown'];
  private extensions: DhtExtensions | undefined;

  constructor(opts: DhtNodeOptions) {
    this.onVerified = opts.onVerified;
    this.isKnown = opts.isKnown;
    this.clock = opts.clock;
    this.random = opts.random ?? randomBytes;
    this.k = opts.k ?? K;
    this.alpha = opts.alpha ?? ALPHA;
    this.direct = opts.direct ?? false;
    this.channel = new SecureChannel(opts.sodium, {
      secret: opts.secret, workbit: opts.workbit, namespace: opts.namespace,
      ...(opts.epoch !== undefined ? { epoch: opts.epoch } : {}),
    });
    this.id = this.channel.publicKey;
    this.hex = toHex(this.id);
    this.table = new RoutingTable(this.id, this.k);
    this.rpc = new Rpc(this.channel, opts.transport, this.clock, this.random, {
      onRequest: (req) => this.onRequest(req),
      onOneWay: (msg) => this.onOneWay(msg),
    }, { timeout: opts.requestTimeout ?? REQUEST_TIMEOUT, retries: opts.retries ?? REQUEST_RETRIES });
    // Trusted peers and table entries never wait on the new-key budget (src/dht/admission.ts).
    this.rpc.admission.isKnown = (hex) => (this.isKnown?.(hex) ?? false) || this.table.get(hex) !== undefined;
    if (opts.refresh ?? true) this.scheduleRefresh();
  }

  close(): void {
    this.closed = true;
    if (this.refreshTimer !== undefined) this.clock.clearTimeout(this.refreshTimer);
    this.rpc.close();
  }

  // ---- outgoing ------------------------------------------------------------------------------

  /** Pings `key` at `addr`; on an answer from that address the node enters the table. */
  async ping(key: Uint8Array, addr: Addr, retries?: number): Promise<Reply | undefined> {
    const reply = await this.rpc.request(addr, key, (x) => ({ t: 'ping', x }), { padTo: PING_PAD_TO, ...(retries !== undefined ? { retries } : {}) });
    if (reply === undefined || reply.msg.t !== 'pong') {
      // (Only a silence at the entry's own address counts: a dual-stack node pinged at its
      // other family's address, which this host may not reach, is not failing.)
      const entry = this.table.get(toHex(key));
      if (reply === undefined && (entry === undefined || sameAddr(entry.addr, addr))) this.table.failed(toHex(key));
      return undefined;
    }
    const k = addrKey(reply.from);
    // Responders mostly see us at one address: equal ones share one object (64 kept a node).
    const seenAs = this.lastObserved !== undefined && sameAddr(this.lastObserved, reply.msg.a) ? this.lastObserved : reply.msg.a;
    // (Over a WebSocket link it saw our TCP source, which says nothing of our UDP address.)
    if (isUdpAddr(reply.from)) {
      this.lastObserved = seenAs;
      this.observed.delete(k);
      this.observed.set(k, seenAs);
      if (this.observed.size > OBSERVED_ADDRS_KEPT) this.observed.delete(this.observed.keys().next().value!);
    }
    // The entry keeps the address the answer came from (equal to `addr`): one object per datagram
    // source, not one per record that named it.
    if (sameAddr(reply.from, addr)) this.learn(key, reply.from, { direct: (reply.msg.f & PONG_DIRECT) !== 0, rtt: reply.rtt, seenAs });
    return reply;
  }

  /** Pings every boot node, then looks up our own ID to fill the table. Returns how many boot nodes answered. */
  async bootstrap(boots: readonly BootNode[]): Promise<number> {
    const others = boots.filter((b) => toHex(b.key) !== this.hex);
    let answered = 0;
    // Until a boot node answers and our own lookup gets answers, try again (each request
    // already has its own retries; this covers bursts of loss and boot nodes still starting).
    for (let attempt = 0; attempt < BOOTSTRAP_ATTEMPTS && others.length > 0 && !this.closed; attempt++) {
      if (attempt > 0) await this.sleep(BOOTSTRAP_RETRY_DELAY);
      const answers = await Promise.all(others.map((b) => this.ping(b.key, b.addr)));
      answered = Math.max(answered, answers.filter((a) => a !== undefined).length);
      if (answered === 0 && this.table.size === 0) continue;
      const self = await this.lookup(this.id);
      if (self.closest.length > 0) break;
    }
    // Kademlia's join: the self lookup taught us our neighbourhood and some of the way to it;
    // now look up an ID in every farther bucket that is still empty, so that we can route
    // towards any ID (and those regions of the network hear of us through our requests).
    await this.refreshBuckets(-Infinity, true, JOIN_REFRESH_WIDTH);
    return answered;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /** Iterative parallel lookup of the K nodes closest to `target` (or the `width` closest).
   *  `onFound(addr)` is called once, as soon as an answer names the target (hearsay, as
   *  `found`), before the lookup ends. */
  lookup(target: Uint8Array, onFound?: (addr: Addr) => void, width = this.k): Promise<LookupResult> {
    this.table.touch(target, this.clock.now());
    const lk = new Lookup(target, this.id, width, this.alpha, LOOKUP_MAX_REQUESTS);
    lk.add(this.table.closest(target, this.k).map((e) => ({ id: e.id, addr: e.addr })), 1);
    const targetHex = toHex(target);
    let answeredAt: Addr | undefined;
    return new Promise<LookupResult>((resolve) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        // An address the target answered from is verified; one only reported by others (the
        // target's query may have been lost) is hearsay, and callers must confirm it directly.
        const found = answeredAt ?? lk.targetAddr ?? this.table.get(targetHex)?.addr;
        resolve({
          target, closest: lk.closest().map((c) => ({ id: c.id, addr: c.addr })),
          ...(found ? { found } : {}), verified: answeredAt !== undefined, rounds: lk.rounds, requests: lk.requests,
        });
      };
      const pump = (): void => {
        if (settled) return;
        if (this.closed || lk.finished) return finish();
        for (const c of lk.next()) {
          void this.rpc.request(c.addr, c.id, (x) => ({ t: 'find', x, k: target }), { padTo: FIND_PAD_TO }).then((reply) => {
            if (reply !== undefined && reply.msg.t === 'nodes') {
              if (sameAddr(reply.from, c.addr)) {
                // A `nodes` answer does not say whether its sender is directly reachable; a
                // pong does. So a node met this way is pinged once, when it enters the table.
                const isNew = this.table.get(c.hex) === undefined;
                this.learn(c.id, reply.from, { rtt: reply.rtt });
                if (isNew && this.table.get(c.hex) !== undefined) void this.ping(c.id, reply.from, 0);
                if (c.hex === targetHex) answeredAt = c.addr;
              }
              // Records of keys below the network's workbit are not even followed, nor records
              // at an address no node may have (src/proto/addr.ts usableAddr: this host's
              // loopback from a remote teller, multicast, link-local, NAT64 around a private IPv4).
              const keyed = reply.msg.n.filter((r) => this.channel.acceptsKey(r.key));
              if (keyed.length < reply.msg.n.length) this.counters.add('records-below-workbit');
              const records = keyed.filter((r) => usableAddr(r.addr, reply.from));
              if (records.length < keyed.length) this.counters.add('records-bad-addr');
              lk.answered(c, records.map((r) => ({ id: r.key, addr: r.addr })));
              const early = answeredAt ?? lk.targetAddr;
              if (early !== undefined && onFound !== undefined) {
                const tell = onFound;
                onFound = undefined;
                // (The caller's trouble must not stop this lookup: pump() below still runs.)
                try { tell(early); } catch { /* the caller's to report */ }
              }
            } else {
              // (A silence at an address a record named, not the entry's own, is not the entry's.)
              if (reply === undefined && sameAddr(this.table.get(c.hex)?.addr, c.addr)) this.noAnswer(c.hex);
              lk.failed(c);
            }
            pump();
          });
        }
        if (lk.finished) finish();
      };
      pump();
    });
  }

  /** Looks a node up by key; a lookup that misses it is tried again (FIND_ATTEMPTS in all).
   *  `onFound`: as lookup()'s, across the attempts. */
  async findNode(key: Uint8Array, onFound?: (addr: Addr) => void): Promise<LookupResult> {
    let told = false;
    const tell = onFound && ((a: Addr) => { if (!told) { told = true; onFound(a); } });
    let result = await this.lookup(key, tell);
    for (let i = 1; i < FIND_ATTEMPTS && result.found === undefined && !this.closed; i++) {
      const again = await this.lookup(key, tell);
      result = { ...again, requests: result.requests + again.requests, rounds: result.rounds + again.rounds };
    }
    return result;
  }

  // ---- incoming --------------------------------------------------------------------------------

  private onRequest(req: Incoming): void {
    const entry = this.table.get(req.senderHex);
    const inTable = entry !== undefined && sameAddr(entry.addr, req.from);
    if (inTable) this.table.heardFrom(req.senderHex, this.clock.now());
    // Known keys (our trusted peers) are not strangers: no amplification limit for them, and a
    // new address of theirs is always verified (that is how a punched path is found).
    const verified = inTable || (this.isKnown?.(req.senderHex) ?? false);
    if (!inTable && verified) this.verify(req.sender, req.from, true);
    // Anti-amplification: everything we send to an address we have not verified, in reaction
    // to one request (the answer, then a verification ping), fits in the request's own size.
    // The answer leaves room for the ping when the request was large enough for both.
    const reserve = !verified && req.size >= 2 * PING_PAD_TO ? PING_PAD_TO : 0;
    const maxSize = verified ? MAX_PACKET : Math.min(MAX_PACKET, Math.max(req.size - reserve, 0));
    const sent = this.answer(req, maxSize);
    if (!verified && req.size - sent >= PING_PAD_TO) this.verify(req.sender, req.from);
  }

  /** Answers a request within maxSize bytes; returns the bytes sent. */
  private answer(req: Incoming, maxSize: number): number {
    const msg = req.msg;
    switch (msg.t) {
      case 'ping':
        return this.rpc.send(req.from, req.sender, { t: 'pong', x: msg.x, a: req.from, f: this.direct ? PONG_DIRECT : 0 }, Math.max(maxSize, Math.min(req.size, MAX_PACKET)));
      case 'find': {
        // The closest UDP contacts that fit (src/dht/records.ts: never a WebSocket client's TCP
        // address), chosen among the UDP ones so that WebSocket clients do not shorten the answer.
        const { records, truncated } = nodesRecords(this.table.closest(msg.k, this.k, req.senderHex, (e) => isUdpAddr(e.addr)), maxSize);
        if (truncated) this.counters.add('nodes-truncated');
        return this.rpc.send(req.from, req.sender, { t: 'nodes', x: msg.x, n: records }, maxSize);
      }
      default: {
        // Hole punching, relaying and aliases are handled by the layers above (src/nat,
        // src/relay) when they registered; a bare DHT node ignores them.
        const sent = this.extensions?.request?.(req, maxSize);
        if (sent === undefined) this.counters.add('unhandled:' + msg.t);
        return sent ?? 0;
      }
    }
  }

  private onOneWay(msg: Incoming): void {
    if (this.extensions?.oneWay?.(msg) === true) return;
    this.counters.add('unhandled:' + msg.msg.t);
  }

  /** Registers the handlers of the layers above for the message types the DHT does not handle. */
  extend(ext: DhtExtensions): void {
    this.extensions = ext;
  }

  // ---- table maintenance ---------------------------------------------------------------------

  /** A node answered us at `addr`: it enters the table (or refreshes its entry). */
  private learn(id: Uint8Array, addr: Addr, info: { direct?: boolean; rtt?: number; seenAs?: Addr }): void {
    this.onVerified?.(id, addr, info.rtt, info.seenAs);
    const now = this.clock.now();
    const r = this.table.verified(id, addr, now, info);
    // A full bucket of good entries keeps them (the newcomer waits as a replacement): only a
    // questionable oldest entry (not heard from for ENTRY_GOOD_FOR, or failing) is pinged.
    if (r?.status === 'full' && (r.oldest.failures > 0 || now - r.oldest.lastSeen > ENTRY_GOOD_FOR)) this.checkOldest(r.oldest.id, r.oldest.addr);
  }

  private noAnswer(hex: string): void {
    if (this.table.failed(hex)) this.table.evict(hex);
  }

  /** A node contacted us first: ping it back before it may enter the table. */
  private verify(key: Uint8Array, addr: Addr, known = false): void {
    const hex = toHex(key);
    if (this.verifying.has(hex) || this.closed) return;
    // A stranger whose bucket is full of good entries could not enter the table: no ping.
    if (!known && this.table.get(hex) === undefined && this.table.fullOfGood(key, this.clock.now())) {
      this.counters.add('verify-bucket-full');
      return;
    }
    if (!known && !this.verifyLimiter.take('all', this.clock.now())) {
      this.counters.add('verify-skipped');
      return;
    }
    this.verifying.add(hex);
    // No retry: one ping is what the anti-amplification budget of the request left room for.
    void this.ping(key, addr, 0).finally(() => this.verifying.delete(hex));
  }

  /** The bucket is full: the least recently seen entry keeps its place only if it answers. */
  private checkOldest(id: Uint8Array, addr: Addr): void {
    const hex = toHex(id);
    if (this.evictionChecks.has(hex) || this.closed) return;
    this.evictionChecks.add(hex);
    void this.rpc.request(addr, id, (x) => ({ t: 'ping', x }), { padTo: PING_PAD_TO }).then((reply) => {
      this.evictionChecks.delete(hex);
      if (reply !== undefined && reply.msg.t === 'pong' && sameAddr(reply.from, addr)) {
        this.table.verified(id, addr, this.clock.now(), { rtt: reply.rtt });
      } else {
        this.table.evict(hex);
        this.counters.add('evicted');
      }
    });
  }

  private scheduleRefresh(): void {
    this.refreshTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      void this.refresh().finally(() => this.scheduleRefresh());
    }, REFRESH_CHECK);
  }

  /** Periodic maintenance: a self lookup while the table is small, then a lookup of a random
   *  ID in every bucket that saw no lookup for BUCKET_REFRESH. */
  async refresh(): Promise<void> {
    // A node that knows fewer than K others (it joined a young network, or its first contacts
    // were lost) looks itself up again, so that others learn of it.
    if (this.table.size < this.k) await this.lookup(this.id);
    await this.refreshBuckets(this.clock.now() - BUCKET_REFRESH);
  }

  /** Looks up a random ID in each bucket (up to the deepest non-empty one) with no lookup since `before`. */
  private async refreshBuckets(before: number, onlyEmpty = false, width = this.k): Promise<void> {
    for (const i of this.table.bucketsToRefresh(before, onlyEmpty)) {
      if (this.closed) return;
      await this.lookup(randomIdInBucket(this.id, i, this.random), undefined, width);
    }
  }

  /** Everything a status display needs. */
  snapshot(): { id: string; nodes: number; buckets: ReturnType<RoutingTable['stats']>; counters: Record<string, number>; rpc: Record<string, number> } {
    return { id: this.hex, nodes: this.table.size, buckets: this.table.stats(), counters: this.counters.toJSON(), rpc: this.rpc.counters.toJSON() };
  }
}

export type { Message };

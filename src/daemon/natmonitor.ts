// The NAT monitor: where this node stands behind its NAT. It asks directly reachable nodes
// where they see us and classifies the NAT (src/nat/classify.ts), every NAT_CHECK_INTERVAL and
// whenever this host's addresses change; behind a NAT it asks the gateway for a port mapping
// (src/nat/upnp.ts) and keeps it renewed; and it has other nodes' claims to be directly
// reachable checked (src/nat/reach.ts), since only confirmed nodes become rendezvous and relays.
import { toHex } from '../dht/id.js';
import { classifyNat, type NatSample, type NatVerdict } from '../nat/classify.js';
import { ReachVerdicts } from '../nat/reach.js';
import type { MapResult } from '../nat/upnp.js';
import { addrKey, isUdpAddr, sameAddr } from '../proto/addr.js';
import type { RelayRef } from '../relay/link.js';
import {
  ADDRESS_CHECK_INTERVAL, NAT_CHECK_INTERVAL, NAT_CHECK_NODES, NAT_KEEPALIVE_SECONDS, PING_PAD_TO, PORTMAP_DISCOVER_TIMEOUT,
  PORTMAP_LEASE_SECONDS, PORTMAP_RETRY, REACH_ASK_SLACK, REACH_CHECKERS_PER_CLAIM, REACH_CHECKS_PER_ROUND, REACH_TIMEOUT,
} from '../params.js';
import type { TimerHandle } from '../util/clock.js';
import type { NodeContext } from './context.js';
import type { GatewayMapper } from './seams.js';
import { isPublicNodeConfig } from './trusted.js';

/** The verdict while the fallback is on WebSocket: nothing is asked over UDP. */
const UDP_BLOCKED: NatVerdict = { type: 'blocked', observed: [], responders: 0 };

export class NatMonitor {
  verdict: NatVerdict = { type: 'unknown', observed: [], responders: 0 };
  /** Which nodes' claims to be directly reachable were confirmed by a checker. */
  readonly claims = new ReachVerdicts();
  /** The gateway's port mapping of our UDP port (UPnP IGD / NAT-PMP), when we have one. */
  mapping: MapResult | undefined;
  private mapper: GatewayMapper | undefined;
  private portmapTriedAt = -Infinity;
  private verifying = false;
  private timer: TimerHandle | undefined;
  private addressTimer: TimerHandle | undefined;
  private addressSig: string | undefined;

  constructor(private readonly ctx: NodeContext) {}

  /** Checks the NAT again every NAT_CHECK_INTERVAL (after the first check, at bootstrap). */
  startChecks(): void {
    const next = () => {
      this.timer = this.ctx.clock.setTimeout(() => { if (this.ctx.stopping) return; next(); void this.checkNat(); }, NAT_CHECK_INTERVAL);
    };
    next();
  }

  /** Watches this host's addresses every ADDRESS_CHECK_INTERVAL: a new local address (another
   *  network, a DHCP renewal) means a new NAT situation, checked at once. */
  watchAddresses(): void {
    this.addressTimer = this.ctx.clock.setTimeout(() => {
      if (this.ctx.stopping) return;
      this.watchAddresses();
      const sig = this.ctx.seams.localAddresses().join(',');
      if (this.addressSig !== undefined && sig !== this.addressSig) {
        this.ctx.log.info(`local addresses changed (${sig}); re-checking the NAT`);
        void this.checkNat();
      }
      this.addressSig = sig;
    }, ADDRESS_CHECK_INTERVAL);
  }

  /** Stops the checks and removes the port mapping. */
  async close(): Promise<void> {
    if (this.timer) this.ctx.clock.clearTimeout(this.timer);
    if (this.addressTimer) this.ctx.clock.clearTimeout(this.addressTimer);
    await this.mapper?.close();
  }

  /** WireGuard keepalive: on behind a NAT (to hold the mapping open), off on a public node. */
  keepalive(): number {
    return this.verdict.type === 'none' ? 0 : NAT_KEEPALIVE_SECONDS;
  }

  /** Directly reachable nodes we know: boot nodes first (the configuration vouches for them),
   *  then nodes whose claim to be direct a checker confirmed. Rendezvous and relay candidates. */
  relayCandidates(exclude: string[]): RelayRef[] {
    const { ctx } = this;
    const out: RelayRef[] = [];
    const later: RelayRef[] = [];
    const seen = new Set([...exclude, ctx.dht.hex]);
    // A boot key with several lines (a dual-stack boot node): the address it last answered us
    // at (its table entry), else its first line; one we cannot reach (IPv4 from an IPv6-only
    // host) would make a useless rendezvous and relay.
    for (const b of ctx.join.boots) {
      const hex = toHex(b.key);
      if (seen.has(hex)) continue;
      seen.add(hex);
      const answered = ctx.dht.table.get(hex)?.addr;
      // (A boot node with a fallback ws:// line: the address of the underlay in use.)
      const addr = ctx.fallback?.addrFor(hex) ?? ctx.join.boots.find((o) => toHex(o.key) === hex && sameAddr(o.addr, answered))?.addr ?? b.addr;
      // On WebSocket, a boot node whose link is not open comes after those whose link is: a
      // punch takes the first punch-ok in the order asked (src/nat/punch.ts), and would wait
      // for this one's request to time out (docs/NAT.md "The WebSocket rows").
      (ctx.fallback?.reachableNow(hex) === false ? later : out).push({ key: b.key, hex, addr });
    }
    out.push(...later);
    const now = ctx.clock.now();
    for (const e of ctx.dht.table.entries()) {
      if (e.direct && isUdpAddr(e.addr) && !seen.has(e.hex) && !ctx.paths.has(e.hex) && this.claims.confirmed(e.hex, e.addr, now)) {
        seen.add(e.hex);
        out.push({ key: e.id, hex: e.hex, addr: e.addr });
      }
    }
    return out;
  }

  /**
   * Has the direct claims of nodes in our table checked (src/nat/reach.ts): a checker (a boot
   * node or a confirmed node, never the claimant) pings the claimant from a fresh port. Only
   * confirmed claimants become rendezvous and relays. A few claims per round, one at a time.
   */
  private async verifyClaims(): Promise<void> {
    const { ctx } = this;
    if (this.verifying || ctx.stopping) return;
    this.verifying = true;
    try {
      const bootHex = new Set(ctx.join.boots.map((b) => toHex(b.key)));
      const keys = new Map<string, Uint8Array>();
      const claims = ctx.dht.table.entries()
        // (A client of our `listen ws://` is at a TCP address: never checked, never a relay.)
        .filter((e) => e.direct && isUdpAddr(e.addr) && !bootHex.has(e.hex) && !ctx.paths.has(e.hex))
        .map((e) => { keys.set(e.hex, e.id); return { hex: e.hex, addr: e.addr }; });
      for (const c of this.claims.due(claims, ctx.clock.now(), REACH_CHECKS_PER_ROUND)) {
        let verdict: boolean | undefined;
        for (const checker of this.relayCandidates([c.hex]).slice(0, REACH_CHECKERS_PER_CLAIM)) {
          if (ctx.stopping) return;
          const r = await ctx.dht.rpc.request(checker.addr, checker.key, (x) => ({ t: 'reach', x, k: keys.get(c.hex)!, a: c.addr }),
            { padTo: PING_PAD_TO, timeout: REACH_TIMEOUT + REACH_ASK_SLACK, retries: 0 });
          if (r?.msg.t === 'reach-ok') { verdict = r.msg.r === 1; break; }
        }
        if (verdict === undefined) {
          this.claims.untested(c, ctx.clock.now());
        } else {
          this.claims.record(c, verdict, ctx.clock.now());
          if (!verdict) ctx.log.info(`node ${c.hex.slice(0, 8)} (${addrKey(c.addr)}) says it is directly reachable, but a checker's ping from a fresh port got no answer: not used as rendezvous or relay`);
        }
      }
    } finally {
      this.verifying = false;
    }
  }

  /**
   * Asks a few directly reachable nodes where they see us, and classifies our NAT. For a node
   * behind a NAT the same pings keep its mappings to those nodes open (they are the rendezvous
   * and relays its peers will use).
   */
  async checkNat(): Promise<void> {
    const { ctx } = this;
    if (ctx.stopping) return;
    if (isPublicNodeConfig(ctx.config)) {
      this.verdict = { type: 'none', observed: [], responders: 0 };
      return;
    }
    // On WebSocket (the fallback found UDP blocked) there is no UDP mapping to check or keep open.
    const onWs = (): boolean => ctx.fallback?.state === 'ws';
    if (onWs()) return this.verdictIs(UDP_BLOCKED);
    const targets = this.relayCandidates([]).slice(0, NAT_CHECK_NODES);
    const replies = await Promise.all(targets.map((t) => ctx.dht.ping(t.key, t.addr)));
    // Only pongs over UDP are evidence of our UDP mapping: over a WebSocket link a boot node sees
    // the TCP source of our connection (a new port per connection, which reads as symmetric).
    const samples: NatSample[] = [];
    for (const r of replies) if (r !== undefined && r.msg.t === 'pong' && isUdpAddr(r.from)) samples.push({ responder: r.from, observed: r.msg.a });
    const localIps = ctx.seams.localAddresses();
    // (A switch to WebSocket while the pings were out: that verdict wins.)
    if (onWs()) return this.verdictIs(UDP_BLOCKED);
    await this.verdictIs(classifyNat(samples, { localIps, localPort: ctx.opts.listenPort, attempted: targets.filter((t) => isUdpAddr(t.addr)).length }));
  }

  private async verdictIs(verdict: NatVerdict): Promise<void> {
    const { ctx } = this;
    const before = this.verdict.type;
    this.verdict = verdict;
    if (this.verdict.type !== 'none' && this.verdict.type !== 'blocked') await this.ensurePortMapping();
    ctx.dht.direct = this.verdict.type === 'none' || this.mapping !== undefined;
    void this.verifyClaims();
    if (before !== this.verdict.type) {
      ctx.log.info(`NAT: ${this.verdict.type}${this.verdict.publicAddr ? ` (public address ${addrKey(this.verdict.publicAddr)})` : ''}`);
      ctx.paths.natChanged();
    }
  }

  /**
   * Behind a NAT, asks the gateway (UPnP IGD v2/v1, NAT-PMP) to map our UDP port, and keeps the
   * mapping renewed; removed again on stop. Without a gateway we try again every PORTMAP_RETRY.
   */
  private async ensurePortMapping(): Promise<void> {
    const { ctx } = this;
    if (this.mapper !== undefined || ctx.stopping || ctx.clock.now() - this.portmapTriedAt < PORTMAP_RETRY) return;
    this.portmapTriedAt = ctx.clock.now();
    const log = ctx.log;
    // The mapper's requests and renewals run on the node's clock, like every other timer of it.
    const mapper = await ctx.seams.discoverMapper({ timeoutMs: PORTMAP_DISCOVER_TIMEOUT, log: (l) => log.debug(`portmap: ${l}`), clock: ctx.clock });
    if (mapper === undefined) { log.debug('portmap: no UPnP IGD or NAT-PMP gateway answered'); return; }
    if (ctx.stopping) { await mapper.close(); return; }
    try {
      this.mapping = await mapper.map({ internalPort: ctx.opts.listenPort, externalPort: ctx.opts.listenPort, protocol: 'udp', leaseSeconds: PORTMAP_LEASE_SECONDS, description: `WireHub ${ctx.opts.iface}` });
      this.mapper = mapper;
      if (ctx.stopping) { await mapper.close().catch(() => undefined); return; }
      mapper.keepMapped({
        onRenew: (_port, r) => { this.mapping = r; },
        onError: (e) => log.warn(`portmap: renewal failed: ${e.message}`),
      });
      log.info(`portmap: ${this.mapping.method} maps ${this.mapping.externalIp ?? '?'}:${this.mapping.externalPort} to our port ${ctx.opts.listenPort} (lease ${this.mapping.lease} s)`);
    } catch (e) {
      log.warn(`portmap: ${mapper.method} refused the mapping: ${e instanceof Error ? e.message : String(e)}`);
      await mapper.close().catch(() => undefined);
    }
  }
}

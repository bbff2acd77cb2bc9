// NAT routers for the simulated network (src/sim/network.ts), on its virtual clock, in the
// spirit of nebula's e2e/router: private hosts bind addresses on a router, which owns one public
// IP and translates and filters as RFC 4787 describes.
//
// - Mapping (which external port an outbound datagram leaves from): endpoint-independent (one
//   port per internal ip:port, whatever the destination), address-dependent (one per
//   destination IP), address-and-port-dependent (one per destination ip:port: "symmetric").
// - Filtering (which inbound datagrams a mapping lets in): endpoint-independent (anyone: "full
//   cone"), address-dependent (only IPs the mapping sent to: "address-restricted"),
//   address-and-port-dependent (only the exact ip:port sent to: "port-restricted").
// - A mapping and each of its permissions live NAT_MAPPING_TIMEOUT after the last outbound
//   datagram through them (inbound traffic does not refresh them, RFC 4787 REQ-6); expiry is
//   read from the virtual clock when the mapping is used, so no timers are pending.
// - Port allocation: the internal port is kept when free ('preserve'), else (or always, with
//   'random', as Linux's masquerade fully-random) a port from the router's seeded generator.
// - Hairpinning (a host reaching another host of the same LAN through the public IP) is off by
//   default: such datagrams are dropped and counted.
// - UPnP-capable routers hold static port mappings (src/sim/portmap.ts is the client): inbound
//   to a mapped port is forwarded from anyone, and the internal host's answers to such a source
//   leave from the mapped port (as conntrack's reply direction does).
// Everything dropped is counted in `counters` by reason.
import { addrKey, type Addr } from '../proto/addr.js';
import { Counters } from '../util/counters.js';
import { seededRandom, SimTransport, type SimGateway, type SimLink, type SimNetwork } from './network.js';

/** How long a NAT mapping (and each destination it may hear from) lives after its last
 *  outbound datagram: 2 minutes, RFC 4787 REQ-5's minimum and the micronet cone NATs' timeout. */
export const NAT_MAPPING_TIMEOUT = 120_000;
/** Ports a router allocates from (the dynamic range RFC 6335 names). */
export const NAT_PORT_MIN = 49152;
export const NAT_PORT_MAX = 65535;

export type Behaviour = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface RouterOptions {
  mapping: Behaviour;
  filtering: Behaviour;
  /** 'preserve': keep the internal port when free; 'random': always a random port. */
  ports?: 'preserve' | 'random';
  hairpin?: boolean;
  /** Answers UPnP/NAT-PMP port-mapping requests (src/sim/portmap.ts). */
  upnp?: boolean;
  /** Drops every datagram, both ways (a network that blocks UDP). */
  blocked?: boolean;
  timeout?: number;
  seed?: number;
}

/** The kinds of the NAT grid (test/e2e/natgrid.ts, test/micronet/nat.ts), 'public' = no NAT. */
export const NAT_KINDS = ['public', 'full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'symmetric+upnp'] as const;
export type NatKind = (typeof NAT_KINDS)[number] | 'blocked';

/** The router behaviour of a kind (as micronet's nftables rules behave); undefined for 'public'. */
export function routerOptions(kind: NatKind, seed = 1): RouterOptions | undefined {
  const cone = (filtering: Behaviour): RouterOptions => ({ mapping: 'endpoint-independent', filtering, ports: 'preserve', seed });
  switch (kind) {
    case 'public': return undefined;
    case 'full-cone': return cone('endpoint-independent');
    case 'address-restricted': return cone('address-dependent');
    case 'port-restricted': return cone('address-and-port-dependent');
    case 'symmetric': return { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', ports: 'random', seed };
    case 'symmetric+upnp': return { ...routerOptions('symmetric', seed)!, upnp: true };
    case 'blocked': return { ...cone('address-and-port-dependent'), blocked: true };
  }
}

interface Mapping {
  /** Its key in `mappings`. */
  mk: string;
  internal: Addr;
  port: number;
  /** Last outbound datagram, per destination ip or ip:port (what filtering looks up). */
  sentTo: Map<string, number>;
  lastOut: number;
}

/** A static mapping made through UPnP/NAT-PMP; `expiresAt` Infinity for a permanent one. */
export interface StaticMapping {
  internal: Addr;
  port: number;
  expiresAt: number;
}

function key(b: Behaviour, a: Addr): string {
  return b === 'endpoint-independent' ? '' : b === 'address-dependent' ? a.host : addrKey(a);
}

export class NatRouter implements SimLink, SimGateway {
  readonly counters = new Counters();
  private readonly hosts = new Map<string, SimTransport>();
  /** Dynamic mappings by "internal|mapping key", and the same by external port. */
  private readonly mappings = new Map<string, Mapping>();
  private readonly byPort = new Map<number, Mapping>();
  private readonly statics = new Map<number, StaticMapping>();
  /** Flows that came in through a static mapping: "internal|remote" → when last used. */
  private readonly flows = new Map<string, { port: number; at: number }>();
  private readonly random: () => number;
  /** Expired entries are swept when the tables grow past this (then twice the live size). */
  private sweepAt = 64;
  readonly timeout: number;

  constructor(private readonly net: SimNetwork, readonly publicIp: string, readonly opts: RouterOptions) {
    this.random = seededRandom(opts.seed ?? 1);
    this.timeout = opts.timeout ?? NAT_MAPPING_TIMEOUT;
    net.attach(publicIp, this);
  }

  private now(): number {
    return this.net.clock.now();
  }

  /** A transport for a host at private address `addr` behind this router. */
  bind(addr: Addr): SimTransport {
    const k = addrKey(addr);
    if (this.hosts.has(k)) throw new Error(`address in use behind ${this.publicIp}: ${k}`);
    const t = new SimTransport(this, addr);
    this.hosts.set(k, t);
    return t;
  }

  unbind(t: SimTransport): void {
    if (this.hosts.get(addrKey(t.addr)) === t) this.hosts.delete(addrKey(t.addr));
  }

  /** Live dynamic mappings (for tests and displays). */
  get mappingCount(): number {
    let n = 0;
    for (const m of this.mappings.values()) if (this.alive(m)) n++;
    return n;
  }

  /** Entries held, live or expired (expired ones are swept as the tables grow). */
  get tableSize(): number {
    return this.mappings.size + this.flows.size;
  }

  /** The external port `internal` would leave from towards `to` now, if a live mapping exists. */
  externalPort(internal: Addr, to: Addr): number | undefined {
    const m = this.mappings.get(`${addrKey(internal)}|${key(this.opts.mapping, to)}`);
    return m !== undefined && this.alive(m) ? m.port : undefined;
  }

  // ---- outbound ----------------------------------------------------------------------------------

  /** A private host sent a datagram (SimTransport.send). */
  deliver(from: Addr, to: Addr, data: Uint8Array): void {
    if (this.opts.blocked) return this.drop('blocked');
    // Another host of this LAN, by its private address: no translation.
    const local = this.hosts.get(addrKey(to));
    if (local !== undefined) {
      this.counters.add('lan');
      this.net.clock.setTimeout(() => local.receive(new Uint8Array(data), from), 0);
      return;
    }
    const port = this.outboundPort(from, to);
    if (port === undefined) return this.drop('no-port');
    const src = { host: this.publicIp, port };
    if (to.host === this.publicIp) {
      if (!this.opts.hairpin) return this.drop('hairpin');
      this.counters.add('hairpinned');
      const copy = new Uint8Array(data);
      this.net.clock.setTimeout(() => this.receive(copy, src, to), 0);
      return;
    }
    this.counters.add('out');
    this.net.deliver(src, to, data);
  }

  private outboundPort(from: Addr, to: Addr): number | undefined {
    const now = this.now();
    // An answer to a source that came in through a static mapping leaves from the mapped port.
    const flowKey = `${addrKey(from)}|${addrKey(to)}`;
    const flow = this.flows.get(flowKey);
    if (flow !== undefined) {
      const s = this.statics.get(flow.port);
      if (s !== undefined && now - flow.at < this.timeout && this.staticAlive(s) && addrKey(s.internal) === addrKey(from)) {
        flow.at = now;
        return flow.port;
      }
      this.flows.delete(flowKey);
    }
    const mk = `${addrKey(from)}|${key(this.opts.mapping, to)}`;
    let m = this.mappings.get(mk);
    if (m !== undefined && !this.alive(m)) {
      this.forget(mk, m);
      m = undefined;
    }
    if (m === undefined) {
      if (this.mappings.size + this.flows.size >= this.sweepAt) this.sweep();
      const port = this.allocate(from);
      if (port === undefined) return undefined;
      m = { mk, internal: from, port, sentTo: new Map(), lastOut: now };
      this.mappings.set(mk, m);
      this.byPort.set(port, m);
      this.counters.add('mapping-new');
    }
    m.lastOut = now;
    const fk = key(this.opts.filtering, to);
    m.sentTo.delete(fk); // re-insert: oldest first
    m.sentTo.set(fk, now);
    return m.port;
  }

  /** Forgets expired mappings and flows (expiry itself is read at use: this only frees memory). */
  private sweep(): void {
    const now = this.now();
    for (const [k, m] of this.mappings) if (!this.alive(m)) this.forget(k, m);
    for (const [k, f] of this.flows) if (now - f.at >= this.timeout) this.flows.delete(k);
    this.sweepAt = Math.max(64, 2 * (this.mappings.size + this.flows.size));
  }

  private alive(m: Mapping): boolean {
    return this.now() - m.lastOut < this.timeout;
  }

  private staticAlive(s: StaticMapping): boolean {
    return this.now() < s.expiresAt;
  }

  private forget(mk: string, m: Mapping): void {
    if (this.mappings.get(mk) === m) this.mappings.delete(mk);
    if (this.byPort.get(m.port) === m) this.byPort.delete(m.port);
    this.counters.add('mapping-expired');
  }

  /** Whether `port` may be given to `internal`: no live dynamic mapping holds it (for a static
   *  mapping: of another internal endpoint), and no live static mapping of another one. */
  private portFree(port: number, internal: Addr, forStatic = false): boolean {
    const m = this.byPort.get(port);
    if (m !== undefined) {
      if (this.alive(m)) return forStatic && addrKey(m.internal) === addrKey(internal);
      this.forget(m.mk, m);
    }
    const s = this.statics.get(port);
    return s === undefined || !this.staticAlive(s) || addrKey(s.internal) === addrKey(internal);
  }

  /** The internal port when free and wanted, else a random free one (undefined: none left). */
  private allocate(internal: Addr, wanted?: number): number | undefined {
    const forStatic = wanted !== undefined;
    const preferred = wanted ?? (this.opts.ports !== 'random' ? internal.port : undefined);
    if (preferred !== undefined && this.portFree(preferred, internal, forStatic)) return preferred;
    const span = NAT_PORT_MAX - NAT_PORT_MIN + 1;
    for (let i = 0; i < 64; i++) {
      const p = NAT_PORT_MIN + Math.floor(this.random() * span);
      if (this.portFree(p, internal, forStatic)) return p;
    }
    const start = Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      const p = NAT_PORT_MIN + ((start + i) % span);
      if (this.portFree(p, internal, forStatic)) return p;
    }
    return undefined;
  }

  // ---- inbound -----------------------------------------------------------------------------------

  /** A datagram from the public network for this router's IP (SimNetwork delivers it here). */
  receive(data: Uint8Array, from: Addr, to: Addr): void {
    if (this.opts.blocked) return this.drop('blocked');
    const s = this.statics.get(to.port);
    if (s !== undefined && this.staticAlive(s)) {
      if (this.mappings.size + this.flows.size >= this.sweepAt) this.sweep();
      this.flows.set(`${addrKey(s.internal)}|${addrKey(from)}`, { port: s.port, at: this.now() });
      return this.forward(s.internal, data, from, 'in-static');
    }
    const m = this.byPort.get(to.port);
    if (m === undefined || !this.alive(m)) return this.drop('no-mapping');
    const at = this.opts.filtering === 'endpoint-independent' ? m.lastOut : m.sentTo.get(key(this.opts.filtering, from));
    if (at === undefined || this.now() - at >= this.timeout) return this.drop('filtered');
    this.forward(m.internal, data, from, 'in');
  }

  private forward(internal: Addr, data: Uint8Array, from: Addr, what: string): void {
    const host = this.hosts.get(addrKey(internal));
    if (host === undefined) return this.drop('no-host');
    this.counters.add(what);
    host.receive(data, from);
  }

  private drop(reason: string): void {
    this.counters.add(`drop:${reason}`);
  }

  // ---- static mappings (the UPnP/NAT-PMP service; src/sim/portmap.ts is its client) ---------------

  /**
   * Maps external `wanted` (else a free port, as IGD v2's AddAnyPortMapping) to `internal` for
   * `leaseMs` (0: permanent). A mapping of the same internal endpoint is replaced (a renewal).
   * Undefined when the router has no UPnP service or no port is left.
   */
  mapStatic(internal: Addr, wanted: number, leaseMs: number): StaticMapping | undefined {
    if (!this.opts.upnp) return undefined;
    for (const [p, s] of this.statics) if (addrKey(s.internal) === addrKey(internal) && p !== wanted) this.statics.delete(p);
    const existing = this.statics.get(wanted);
    const mine = existing !== undefined && addrKey(existing.internal) === addrKey(internal);
    const port = mine ? wanted : this.allocate(internal, wanted);
    if (port === undefined) return undefined;
    const s: StaticMapping = { internal, port, expiresAt: leaseMs > 0 ? this.now() + leaseMs : Infinity };
    this.statics.set(port, s);
    this.counters.add('upnp-map');
    return s;
  }

  unmapStatic(port: number, internal: Addr): boolean {
    const s = this.statics.get(port);
    if (s === undefined || addrKey(s.internal) !== addrKey(internal)) return false;
    this.statics.delete(port);
    this.counters.add('upnp-unmap');
    return true;
  }

  /** The gateway forgets every static mapping (it rebooted). */
  flushStatic(): void {
    this.statics.clear();
    this.flows.clear();
  }

  staticMapping(port: number): StaticMapping | undefined {
    const s = this.statics.get(port);
    return s !== undefined && this.staticAlive(s) ? s : undefined;
  }

  close(): void {
    this.net.detach(this.publicIp);
  }
}

// The in-process port-mapping service of a UPnP-capable simulated router (src/sim/nat.ts), and
// the interface the daemon uses of src/nat/upnp.ts's PortMapper, defined here so that the
// daemon's port-mapping step can be handed either. PortMapper is structurally a PortMapClient,
// and `(o) => PortMapper.discover(o)` a DiscoverPortMapper (test/unit/simnat.test.ts checks
// both at compile time).
//
// Requests take SIM_PORTMAP_RTT of virtual time, discovery SIM_PORTMAP_DISCOVER when a gateway
// answers and the caller's whole timeout when none does; keepMapped() renews each mapping at
// half its lease on the virtual clock (a gateway that forgot it, after a reboot, gets it again).
import type { Addr } from '../proto/addr.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { NatRouter } from './nat.js';

/** Virtual ms until a simulated gateway answers discovery (SSDP is answered within MX = 1 s;
 *  a LAN gateway answers at once). */
export const SIM_PORTMAP_DISCOVER = 20;
/** Virtual ms of one request to the simulated gateway (a LAN round trip). */
export const SIM_PORTMAP_RTT = 2;
/** The longest lease the simulated gateway grants, in seconds (what PortMapper clamps to). */
export const SIM_PORTMAP_MAX_LEASE = 604_800;

export interface PortMapRequest {
  internalPort: number;
  externalPort?: number;
  protocol: 'udp';
  leaseSeconds: number;
  description: string;
}

export interface PortMapResult {
  externalIp?: string;
  externalPort: number;
  /** Seconds granted; 0: permanent. */
  lease: number;
  method: 'upnp-igd2' | 'upnp-igd1' | 'nat-pmp';
}

export interface PortMapKeep {
  onRenew?: (internalPort: number, result: PortMapResult) => void;
  onError?: (err: Error, internalPort: number) => void;
}

/** What the daemon calls on a port mapper (src/daemon/natmonitor.ts ensurePortMapping). */
export interface PortMapClient {
  readonly method: PortMapResult['method'];
  map(req: PortMapRequest): Promise<PortMapResult>;
  keepMapped(opts?: PortMapKeep): void;
  close(): Promise<void>;
}

/** PortMapper.discover's shape: a client, or undefined when no gateway answered in time. */
export type DiscoverPortMapper = (opts: { timeoutMs: number; log?: (line: string) => void }) => Promise<PortMapClient | undefined>;

/** The discovery function of the host at `internalHost` behind `router` (undefined router: a
 *  public host, whose discovery finds nothing). */
export function simDiscover(clock: Clock, router: NatRouter | undefined, internalHost: string): DiscoverPortMapper {
  return (opts) => new Promise((resolve) => {
    if (router?.opts.upnp === true && opts.timeoutMs >= SIM_PORTMAP_DISCOVER) {
      clock.setTimeout(() => resolve(new SimPortMapper(clock, router, internalHost, opts.log)), SIM_PORTMAP_DISCOVER);
    } else {
      clock.setTimeout(() => resolve(undefined), Math.max(0, opts.timeoutMs));
    }
  });
}

export class SimPortMapper implements PortMapClient {
  readonly method = 'upnp-igd2' as const;
  private readonly maps = new Map<number, { req: PortMapRequest; result: PortMapResult }>();
  private readonly timers = new Map<number, TimerHandle>();
  private keep: PortMapKeep | undefined;
  private closed = false;
  /** Requests made to the gateway (map, renewals, removals), for tests. */
  requests = 0;

  constructor(private readonly clock: Clock, private readonly router: NatRouter, private readonly internalHost: string,
    private readonly log: (line: string) => void = () => {}) {}

  private rtt(): Promise<void> {
    this.requests++;
    return new Promise((r) => this.clock.setTimeout(r, SIM_PORTMAP_RTT));
  }

  private internal(port: number): Addr {
    return { host: this.internalHost, port };
  }

  async map(req: PortMapRequest): Promise<PortMapResult> {
    if (this.closed) throw new Error('port mapper closed');
    await this.rtt();
    const lease = Math.min(Math.max(1, Math.floor(req.leaseSeconds)), SIM_PORTMAP_MAX_LEASE);
    const s = this.router.mapStatic(this.internal(req.internalPort), req.externalPort ?? req.internalPort, lease * 1000);
    if (s === undefined) throw new Error('gateway refused the mapping');
    const result: PortMapResult = { externalIp: this.router.publicIp, externalPort: s.port, lease, method: this.method };
    this.maps.set(req.internalPort, { req, result });
    this.log(`portmap: ${this.router.publicIp}:${s.port} -> ${this.internalHost}:${req.internalPort} (lease ${lease} s)`);
    this.schedule(req.internalPort);
    return result;
  }

  keepMapped(opts: PortMapKeep = {}): void {
    if (this.closed) throw new Error('port mapper closed');
    this.keep = opts;
    for (const port of this.maps.keys()) this.schedule(port);
  }

  private schedule(internalPort: number): void {
    const old = this.timers.get(internalPort);
    if (old !== undefined) this.clock.clearTimeout(old);
    this.timers.delete(internalPort);
    const m = this.maps.get(internalPort);
    if (this.keep === undefined || m === undefined || this.closed) return;
    this.timers.set(internalPort, this.clock.setTimeout(() => void this.renew(internalPort), (m.result.lease * 1000) / 2));
  }

  private async renew(internalPort: number): Promise<void> {
    const m = this.maps.get(internalPort);
    if (m === undefined || this.closed) return;
    await this.rtt();
    if (this.closed) return;
    const s = this.router.mapStatic(this.internal(internalPort), m.result.externalPort, m.result.lease * 1000);
    if (s === undefined) {
      try { this.keep?.onError?.(new Error('gateway refused the renewal'), internalPort); } catch { /* ignored */ }
      // Retried sooner, as PortMapper does (1/8 of the lease).
      this.timers.set(internalPort, this.clock.setTimeout(() => void this.renew(internalPort), (m.result.lease * 1000) / 8));
      return;
    }
    m.result = { ...m.result, externalPort: s.port };
    try { this.keep?.onRenew?.(internalPort, m.result); } catch { /* ignored */ }
    this.schedule(internalPort);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.keep = undefined;
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    this.timers.clear();
    for (const [internalPort, m] of this.maps) {
      await this.rtt();
      this.router.unmapStatic(m.result.externalPort, this.internal(internalPort));
    }
    this.maps.clear();
  }
}

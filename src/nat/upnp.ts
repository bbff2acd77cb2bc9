// Asking the home gateway to map a UDP port to this host: UPnP IGD v2, IGD v1, then NAT-PMP.
// This is the only module of WireHub that speaks these protocols (docs/UPNP.md says why it is
// our own code and not an npm client: every client measured failed one of our needs).
//
//   const pm = await PortMapper.discover({ timeoutMs: 2000, log });
//   if (pm) {
//     const m = await pm.map({ internalPort: 51820, protocol: 'udp', leaseSeconds: 3600, description: 'wh' });
//     pm.keepMapped({ onError: (e) => log(e.message) });   // renews at half the lease
//     ...
//     await pm.close();                                    // stops renewing, removes its mappings
//   }
//
// Files: this one (the mapper: map, renew, unmap, the renewal timer), src/nat/portmap-discover.ts
// (finding the gateway), src/nat/igd.ts (the IGD SOAP client), src/nat/natpmp.ts (the NAT-PMP
// client), src/nat/upnp-proto.ts (the wire formats, pure).
//
// Every network wait is bounded (discovery by timeoutMs, each request by requestTimeoutMs), the
// renewal timer never throws, and calls are serialized so a renewal never re-creates a mapping
// that unmap() removed.
import { isIPv4 } from 'node:net';
import {
  MAX_LEASE, NATPMP_OP_EXTERNAL, NATPMP_OP_MAP_UDP, NATPMP_PORT, NATPMP_RESULTS, UPNP_ERR, addPortMappingArgs, clampLease,
  deletePortMappingArgs, encodeNatPmpExternal, encodeNatPmpMap, isPort, renewDelayMs, retryDelayMs,
  type IgdService, type NatPmpResponse, type PortMapMethod, type SoapArgs, type SoapResult,
} from './upnp-proto.js';
import { soapCall } from './igd.js';
import { natPmpExchange } from './natpmp.js';
import { discoverGateway } from './portmap-discover.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import { UPNP_RANDOM_PORT_TRIES, UPNP_RENEW_GROUPING, UPNP_REQUEST_TIMEOUT } from '../params.js';

export type { PortMapMethod } from './upnp-proto.js';

export interface DiscoverOptions {
  /** Give up (resolve undefined) when no gateway has answered by then. */
  timeoutMs: number;
  log?: (line: string) => void;
  /** Bound of each later request (SOAP call, NAT-PMP exchange). Default 3000 ms. */
  requestTimeoutMs?: number;
  /** The methods allowed, tried in the order IGD v2, IGD v1, NAT-PMP. Default all three. */
  methods?: readonly PortMapMethod[];
  /** The NAT-PMP gateway. Default: the IPv4 default gateway (/proc/net/route). */
  gateway?: string;
  /** NAT-PMP server port (tests only). Default 5351. */
  natPmpPort?: number;
  /** Time and timers of the discovery, requests and renewals. Default realClock. */
  clock?: Clock;
}

export interface MapRequest {
  internalPort: number;
  /** The external port wanted; default internalPort. If it is taken, the gateway picks another. */
  externalPort?: number;
  protocol: 'udp';
  /** Requested lifetime, clamped to [1, 604800] s. */
  leaseSeconds: number;
  description: string;
}

export interface MapResult {
  externalIp?: string;
  externalPort: number;
  /** Seconds granted; 0: permanent (an IGD v1 gateway that only supports permanent mappings). */
  lease: number;
  method: PortMapMethod;
}

export interface KeepMappedOptions {
  /** After each successful renewal of a mapping (its externalPort may have changed). */
  onRenew?: (internalPort: number, result: MapResult) => void;
  /** After a failed renewal; it is retried sooner (1/8 of the lease, 1-60 s). */
  onError?: (err: Error, internalPort: number) => void;
}

/** An error from the gateway or the network; `code` is the UPnP error code or NAT-PMP result. */
export class PortMapError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
    this.name = 'PortMapError';
  }
}

interface Mapping {
  req: MapRequest;
  result: MapResult;
  renewAt: number;
}

const ALL_METHODS: readonly PortMapMethod[] = ['upnp-igd2', 'upnp-igd1', 'nat-pmp'];

export class PortMapper {
  private readonly maps = new Map<number, Mapping>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: TimerHandle | undefined;
  private keep: KeepMappedOptions | undefined;
  private closed = false;
  private externalIpCache: string | undefined;

  private constructor(
    /** The method map() tries first. */
    readonly method: PortMapMethod,
    /** The gateway's address (of its UPnP control URL, or the NAT-PMP server). */
    readonly gateway: string,
    private readonly igd: (IgdService & { internalClient: string }) | undefined,
    private readonly natPmpGateway: string | undefined,
    private readonly opts: { requestTimeoutMs: number; natPmpPort: number; log: (line: string) => void; clock: Clock },
    externalIp: string | undefined,
  ) {
    this.externalIpCache = externalIp;
  }

  /**
   * Looks for a gateway: SSDP (UPnP) and a NAT-PMP probe at once. The first UPnP gateway found
   * wins (its WANIPConnection:2 service if it has one: IGD v2, else IGD v1); NAT-PMP is used
   * when no UPnP gateway answered within MX (1 s) plus a margin. Undefined when nothing answered
   * within timeoutMs. Never rejects.
   */
  static async discover(opts: DiscoverOptions): Promise<PortMapper | undefined> {
    const log = opts.log ?? (() => {});
    const clock = opts.clock ?? realClock;
    const requestTimeoutMs = opts.requestTimeoutMs ?? UPNP_REQUEST_TIMEOUT;
    const natPmpPort = opts.natPmpPort ?? NATPMP_PORT;
    const found = await discoverGateway({
      timeoutMs: opts.timeoutMs, log, methods: opts.methods ?? ALL_METHODS, requestTimeoutMs, gateway: opts.gateway, natPmpPort, clock,
    });
    const common = { requestTimeoutMs, natPmpPort, log, clock };
    if (found?.kind === 'upnp') {
      const { externalIp, ...igd } = found.igd;
      const host = new URL(igd.controlUrl).hostname;
      return new PortMapper(igd.method, host, igd, found.pmpGateway, common, externalIp ?? found.pmpExternalIp);
    }
    if (found?.kind === 'pmp') return new PortMapper('nat-pmp', found.pmpGateway, undefined, found.pmpGateway, common, found.externalIp || undefined);
    return undefined;
  }

  /** The gateway's external address, as last reported by it. */
  get externalIp(): string | undefined {
    return this.externalIpCache;
  }

  /** The mappings currently held: internal port → what the gateway granted. */
  get mappings(): ReadonlyMap<number, MapResult> {
    return new Map([...this.maps].map(([k, m]) => [k, { ...m.result }]));
  }

  /**
   * Maps a UDP port (external → this host's internalPort). Mapping an internal port again
   * replaces (renews) its mapping, keeping its external port unless another is asked.
   * Tries this mapper's method, then NAT-PMP when the gateway is known and UPnP refused.
   */
  map(req: MapRequest): Promise<MapResult> {
    return this.serialize(async () => {
      this.checkOpen();
      validate(req);
      const prev = this.maps.get(req.internalPort);
      const methods = this.methodChain(prev?.result.method);
      let lastErr: Error | undefined;
      for (const method of methods) {
        try {
          const result = await this.mapWith(method, req, prev?.result.externalPort);
          if (prev && prev.result.method !== method) await this.removeOne(prev).catch(() => {});
          this.maps.set(req.internalPort, { req: { ...req }, result, renewAt: this.opts.clock.now() + renewDelayMs(result.lease) });
          this.opts.log(`portmap: mapped ${result.externalIp ?? '?'}:${result.externalPort} -> :${req.internalPort} udp via ${method}, lease ${result.lease} s`);
          this.schedule();
          return { ...result };
        } catch (e) {
          lastErr = e as Error;
          this.opts.log(`portmap: ${method} map :${req.internalPort} failed: ${lastErr.message}`);
        }
      }
      throw lastErr ?? new PortMapError('no port mapping method available');
    });
  }

  /**
   * Maps every held mapping again (before its lease ends), with the method that made it.
   * Resolves with the new results; rejects (after trying them all) if any failed.
   */
  renew(): Promise<MapResult[]> {
    return this.serialize(async () => {
      this.checkOpen();
      const { results, errors } = await this.renewSome([...this.maps.keys()]);
      if (errors.length) throw errors[0]![1];
      return results;
    });
  }

  /** Renews each mapping at half its lease until stop() or close(). Callbacks may throw: ignored. */
  keepMapped(opts: KeepMappedOptions = {}): void {
    this.checkOpen();
    this.keep = opts;
    this.schedule();
  }

  /** Stops the renewals of keepMapped(); the mappings stay until unmap() or their lease ends. */
  stop(): void {
    this.keep = undefined;
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Removes the mapping of `internalPort`, or every mapping this mapper made. A mapping the
   * gateway no longer has counts as removed. Rejects (after trying them all) if any removal
   * failed; those stay listed, so a later unmap() retries them.
   */
  unmap(internalPort?: number): Promise<void> {
    return this.serialize(async () => {
      const targets = [...this.maps.values()].filter((m) => internalPort === undefined || m.req.internalPort === internalPort);
      const errors: string[] = [];
      for (const m of targets) {
        try {
          await this.removeOne(m);
          this.maps.delete(m.req.internalPort);
          this.opts.log(`portmap: unmapped :${m.result.externalPort} (${m.result.method})`);
        } catch (e) {
          errors.push(`:${m.result.externalPort} (${m.result.method}): ${(e as Error).message}`);
        }
      }
      this.schedule();
      if (errors.length) throw new PortMapError(`unmap failed for ${errors.join('; ')}`);
    });
  }

  /** Stops renewing, removes every mapping (best effort, each request bounded), and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stop();
    try {
      await this.unmap();
    } catch (e) {
      this.opts.log(`portmap: close: ${(e as Error).message}`);
    }
    this.closed = true;
  }

  // ---------------------------------------------------------------- internals

  private checkOpen(): void {
    if (this.closed) throw new PortMapError('port mapper is closed');
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  private methodChain(first?: PortMapMethod): PortMapMethod[] {
    const chain: PortMapMethod[] = [];
    const add = (m: PortMapMethod | undefined): void => { if (m && !chain.includes(m)) chain.push(m); };
    add(first);
    add(this.method);
    if (this.natPmpGateway) add('nat-pmp');
    return chain.filter((m) => (m === 'nat-pmp' ? this.natPmpGateway !== undefined : this.igd?.method === m));
  }

  private async mapWith(method: PortMapMethod, req: MapRequest, held?: number): Promise<MapResult> {
    const lease = clampLease(req.leaseSeconds);
    const wanted = req.externalPort ?? held ?? req.internalPort;
    if (method === 'nat-pmp') {
      const r = await this.natPmp(encodeNatPmpMap(req.internalPort, wanted, lease), NATPMP_OP_MAP_UDP);
      if (r.op !== 1) throw new PortMapError('NAT-PMP: unexpected answer');
      if (r.result !== 0) throw new PortMapError(`NAT-PMP: ${NATPMP_RESULTS[r.result] ?? `result ${r.result}`}`, r.result);
      if (r.internalPort !== req.internalPort || !isPort(r.externalPort)) throw new PortMapError('NAT-PMP: answer for another port');
      if (!this.externalIpCache) await this.refreshExternalIp().catch(() => {});
      // Never past the lifetime asked: 2^32-1 s would overflow the renewal timer into a request loop.
      return { externalIp: this.externalIpCache, externalPort: r.externalPort, lease: Math.min(r.lifetime, lease), method };
    }
    const igd = this.igd!;
    const add = (ext: number, l: number) => this.soap('AddPortMapping', addPortMappingArgs({ externalPort: ext, internalPort: req.internalPort, internalClient: igd.internalClient, description: req.description, lease: l }));
    let ext = wanted;
    let grant = lease;
    let r = await add(ext, grant);
    if (!r.ok && r.errorCode === UPNP_ERR.onlyPermanentLeases) {
      grant = 0;
      r = await add(ext, grant);
    }
    if (!r.ok && r.errorCode === UPNP_ERR.samePortValuesRequired && ext !== req.internalPort) {
      ext = req.internalPort;
      r = await add(ext, grant);
    }
    const taken = (x: typeof r) => !x.ok && ([UPNP_ERR.conflict, UPNP_ERR.conflictWithOtherMechanisms, UPNP_ERR.noPortMapsAvailable] as number[]).includes(x.errorCode);
    if (taken(r) && method === 'upnp-igd2') {
      // IGD v2: the gateway picks a free port for us.
      const any = await this.soap('AddAnyPortMapping', addPortMappingArgs({ externalPort: ext, internalPort: req.internalPort, internalClient: igd.internalClient, description: req.description, lease: grant }));
      const port = any.ok ? Number(any.values.NewReservedPort) : NaN;
      if (any.ok && isPort(port)) { ext = port; r = any; } else if (!any.ok) r = any;
    }
    for (let i = 0; i < UPNP_RANDOM_PORT_TRIES && taken(r) && method === 'upnp-igd1'; i++) {
      ext = 49152 + Math.floor(Math.random() * 16384);
      r = await add(ext, grant);
    }
    if (!r.ok) throw new PortMapError(`UPnP AddPortMapping: ${r.errorCode} ${r.errorDescription}`.trim(), r.errorCode);
    if (!this.externalIpCache) await this.refreshExternalIp().catch(() => {});
    return { externalIp: this.externalIpCache, externalPort: ext, lease: grant, method };
  }

  private async removeOne(m: Mapping): Promise<void> {
    if (m.result.method === 'nat-pmp') {
      const r = await this.natPmp(encodeNatPmpMap(m.req.internalPort, 0, 0), NATPMP_OP_MAP_UDP);
      if (r.result !== 0) throw new PortMapError(`NAT-PMP: ${NATPMP_RESULTS[r.result] ?? `result ${r.result}`}`, r.result);
      return;
    }
    const r = await this.soap('DeletePortMapping', deletePortMappingArgs(m.result.externalPort));
    if (!r.ok && r.errorCode !== UPNP_ERR.noSuchEntry) throw new PortMapError(`UPnP DeletePortMapping: ${r.errorCode} ${r.errorDescription}`.trim(), r.errorCode);
  }

  private async refreshExternalIp(): Promise<void> {
    if (this.igd) {
      const r = await this.soap('GetExternalIPAddress', []);
      const ip = r.ok ? r.values.NewExternalIPAddress : undefined;
      if (ip && isIPv4(ip)) { this.externalIpCache = ip; return; }
    }
    if (this.natPmpGateway) {
      const r = await this.natPmp(encodeNatPmpExternal(), NATPMP_OP_EXTERNAL);
      if (r.op === 0 && r.result === 0 && r.externalIp) this.externalIpCache = r.externalIp;
    }
  }

  private async renewSome(ports: number[]): Promise<{ results: MapResult[]; renewed: [number, MapResult][]; errors: [number, Error][] }> {
    const renewed: [number, MapResult][] = [];
    const errors: [number, Error][] = [];
    await this.refreshExternalIp().catch(() => {});
    for (const port of ports) {
      const m = this.maps.get(port);
      if (!m) continue;
      try {
        // the external port held wins over the one first asked for
        const result = await this.mapWith(m.result.method, { ...m.req, externalPort: m.result.externalPort });
        m.result = result;
        m.renewAt = this.opts.clock.now() + renewDelayMs(result.lease);
        renewed.push([port, { ...result }]);
        this.opts.log(`portmap: renewed :${result.externalPort} -> :${port} via ${result.method}, lease ${result.lease} s`);
      } catch (e) {
        m.renewAt = this.opts.clock.now() + retryDelayMs(m.result.lease);
        errors.push([port, e as Error]);
        this.opts.log(`portmap: renewing :${port} failed: ${(e as Error).message}`);
      }
    }
    this.schedule();
    return { results: renewed.map(([, r]) => r), renewed, errors };
  }

  /** (Re)arms the renewal timer for the earliest due mapping, when keepMapped() is on. */
  private schedule(): void {
    if (this.timer) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.keep || this.closed || this.maps.size === 0) return;
    const next = Math.min(...[...this.maps.values()].map((m) => m.renewAt));
    // (The clock's timers do not hold the process: realClock's are unref'd.)
    this.timer = this.opts.clock.setTimeout(() => this.onTimer(), Math.max(0, next - this.opts.clock.now()));
  }

  private onTimer(): void {
    this.timer = undefined;
    const keep = this.keep;
    if (!keep || this.closed) return;
    this.serialize(async () => {
      if (this.keep !== keep || this.closed) return;
      const now = this.opts.clock.now();
      const due = [...this.maps.values()].filter((m) => m.renewAt <= now + UPNP_RENEW_GROUPING).map((m) => m.req.internalPort);
      const { renewed, errors } = await this.renewSome(due);
      for (const [port, r] of renewed) safeCall(() => keep.onRenew?.(port, r));
      for (const [port, err] of errors) safeCall(() => keep.onError?.(err, port));
    }).catch((e: unknown) => {
      this.opts.log(`portmap: renewal: ${(e as Error).message}`);
      this.schedule();
    });
  }

  private soap(action: string, args: SoapArgs): Promise<SoapResult> {
    return soapCall(this.igd!, action, args, this.opts.requestTimeoutMs, this.opts.clock);
  }

  private async natPmp(payload: Buffer, op: number): Promise<NatPmpResponse> {
    const r = await natPmpExchange(this.natPmpGateway!, this.opts.natPmpPort, payload, op, this.opts.requestTimeoutMs, this.opts.clock);
    if (!r) throw new PortMapError(`NAT-PMP: no answer from ${this.natPmpGateway} within ${this.opts.requestTimeoutMs} ms`);
    return r;
  }
}

// ---------------------------------------------------------------- helpers

function validate(req: MapRequest): void {
  if (req.protocol !== 'udp') throw new PortMapError(`protocol ${String(req.protocol)} not supported (udp only)`);
  if (!isPort(req.internalPort)) throw new PortMapError(`bad internal port ${req.internalPort}`);
  if (req.externalPort !== undefined && !isPort(req.externalPort)) throw new PortMapError(`bad external port ${req.externalPort}`);
  if (typeof req.leaseSeconds !== 'number' || !(req.leaseSeconds > 0)) throw new PortMapError(`bad lease ${req.leaseSeconds} (seconds > 0, at most ${MAX_LEASE})`);
  if (typeof req.description !== 'string') throw new PortMapError('description must be a string');
}

function safeCall(f: () => void): void {
  try {
    f();
  } catch {
    // a caller's callback must not break the renewals
  }
}

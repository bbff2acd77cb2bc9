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
// Every network wait is bounded (discovery by timeoutMs, each request by requestTimeoutMs), the
// renewal timer never throws, and calls are serialized so a renewal never re-creates a mapping
// that unmap() removed.
import dgram from 'node:dgram';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import {
  IGD1_DEVICE, IGD2_DEVICE, MAX_LEASE, NATPMP_OP_EXTERNAL, NATPMP_OP_MAP_UDP, NATPMP_PORT, NATPMP_RESULTS, SSDP_ADDR, SSDP_PORT,
  UPNP_ERR, WANIP1, addPortMappingArgs, buildMSearch, clampLease, decodeNatPmp, defaultGatewayFromProcRoute,
  deletePortMappingArgs, encodeNatPmpExternal, encodeNatPmpMap, isPort, natPmpSchedule, parseDescription,
  parseSoapResponse, parseSsdpResponse, renewDelayMs, retryDelayMs, soapEnvelope,
  type IgdService, type NatPmpResponse, type PortMapMethod, type SoapArgs, type SoapResult,
} from './upnp-proto.js';

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
const DEFAULT_REQUEST_TIMEOUT = 3000;
const MX = 1; // seconds a device may wait before answering an M-SEARCH
const SSDP_RESEND_MS = 400;
const MAX_DESCRIPTION_BYTES = 256 * 1024;
const MAX_SOAP_BYTES = 64 * 1024;

export class PortMapper {
  private readonly maps = new Map<number, Mapping>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
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
    private readonly opts: { requestTimeoutMs: number; natPmpPort: number; log: (line: string) => void },
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
    const methods = opts.methods ?? ALL_METHODS;
    const requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT;
    const natPmpPort = opts.natPmpPort ?? NATPMP_PORT;
    const timeoutMs = Math.max(0, opts.timeoutMs);
    const t0 = Date.now();
    const deadline = t0 + timeoutMs;
    const wantUpnp = methods.includes('upnp-igd2') || methods.includes('upnp-igd1');
    const wantPmp = methods.includes('nat-pmp');
    let pmpGateway = opts.gateway;
    if (pmpGateway === undefined && wantPmp) {
      try {
        pmpGateway = defaultGatewayFromProcRoute(readFileSync('/proc/net/route', 'utf8'));
      } catch {
        pmpGateway = undefined;
      }
    }

    const abort = new AbortController();
    let pmpAnswer: { externalIp: string } | undefined;
    let upnpFound: (IgdService & { internalClient: string; externalIp?: string }) | undefined;
    let pmpDone = !wantPmp || !pmpGateway;
    let upnpDone = !wantUpnp;
    let wake: () => void = () => {};
    const changed = (): void => wake();

    const pmpTask = (async () => {
      if (pmpDone) return;
      try {
        const r = await natPmpExchange(pmpGateway!, natPmpPort, encodeNatPmpExternal(), NATPMP_OP_EXTERNAL, timeoutMs, abort.signal);
        if (r && r.op === 0 && r.result === 0) pmpAnswer = { externalIp: r.externalIp };
        else if (r) log(`portmap: NAT-PMP at ${pmpGateway} refused: ${NATPMP_RESULTS[r.result] ?? r.result}`);
      } catch (e) {
        log(`portmap: NAT-PMP probe: ${(e as Error).message}`);
      } finally {
        pmpDone = true;
        changed();
      }
    })();

    const upnpTask = (async () => {
      if (upnpDone) return;
      try {
        upnpFound = await ssdpFindIgd(methods, deadline, requestTimeoutMs, log, abort.signal);
      } catch (e) {
        log(`portmap: UPnP discovery: ${(e as Error).message}`);
      } finally {
        upnpDone = true;
        changed();
      }
    })();

    // Decide: a UPnP gateway as soon as one is found; NAT-PMP once UPnP had its chance.
    const ssdpWindowEnd = t0 + MX * 1000 + 600;
    let chosen: 'upnp' | 'pmp' | undefined;
    for (;;) {
      const now = Date.now();
      if (upnpFound) { chosen = 'upnp'; break; }
      if (pmpAnswer && (upnpDone || now >= ssdpWindowEnd || now >= deadline)) { chosen = 'pmp'; break; }
      if ((upnpDone && pmpDone) || now >= deadline) break;
      const waitUntil = pmpAnswer ? Math.min(ssdpWindowEnd, deadline) : deadline;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, waitUntil - Date.now()));
        wake = () => { clearTimeout(t); resolve(); };
      });
      wake = () => {};
    }
    abort.abort();
    await Promise.allSettled([pmpTask, upnpTask]);

    const common = { requestTimeoutMs, natPmpPort, log };
    const fallbackPmp = wantPmp ? pmpGateway : undefined;
    if (chosen === 'upnp' && upnpFound) {
      const { externalIp, ...igd } = upnpFound;
      const host = new URL(igd.controlUrl).hostname;
      log(`portmap: ${igd.method} gateway ${igd.controlUrl} (we are ${igd.internalClient}) in ${Date.now() - t0} ms`);
      return new PortMapper(igd.method, host, igd, fallbackPmp, common, externalIp ?? pmpAnswer?.externalIp);
    }
    if (chosen === 'pmp' && pmpAnswer && pmpGateway) {
      log(`portmap: nat-pmp gateway ${pmpGateway} (external ${pmpAnswer.externalIp}) in ${Date.now() - t0} ms`);
      return new PortMapper('nat-pmp', pmpGateway, undefined, pmpGateway, common, pmpAnswer.externalIp || undefined);
    }
    log(`portmap: no UPnP IGD or NAT-PMP gateway answered within ${timeoutMs} ms`);
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
          this.maps.set(req.internalPort, { req: { ...req }, result, renewAt: Date.now() + renewDelayMs(result.lease) });
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
    if (this.timer) clearTimeout(this.timer);
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
      return { externalIp: this.externalIpCache, externalPort: r.externalPort, lease: r.lifetime, method };
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
    for (let i = 0; i < 3 && taken(r) && method === 'upnp-igd1'; i++) {
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
        m.renewAt = Date.now() + renewDelayMs(result.lease);
        renewed.push([port, { ...result }]);
        this.opts.log(`portmap: renewed :${result.externalPort} -> :${port} via ${result.method}, lease ${result.lease} s`);
      } catch (e) {
        m.renewAt = Date.now() + retryDelayMs(m.result.lease);
        errors.push([port, e as Error]);
        this.opts.log(`portmap: renewing :${port} failed: ${(e as Error).message}`);
      }
    }
    this.schedule();
    return { results: renewed.map(([, r]) => r), renewed, errors };
  }

  /** (Re)arms the renewal timer for the earliest due mapping, when keepMapped() is on. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.keep || this.closed || this.maps.size === 0) return;
    const next = Math.min(...[...this.maps.values()].map((m) => m.renewAt));
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, next - Date.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    const keep = this.keep;
    if (!keep || this.closed) return;
    this.serialize(async () => {
      if (this.keep !== keep || this.closed) return;
      const now = Date.now();
      const due = [...this.maps.values()].filter((m) => m.renewAt <= now + 1000).map((m) => m.req.internalPort);
      const { renewed, errors } = await this.renewSome(due);
      for (const [port, r] of renewed) safeCall(() => keep.onRenew?.(port, r));
      for (const [port, err] of errors) safeCall(() => keep.onError?.(err, port));
    }).catch((e: unknown) => {
      this.opts.log(`portmap: renewal: ${(e as Error).message}`);
      this.schedule();
    });
  }

  private soap(action: string, args: SoapArgs): Promise<SoapResult> {
    return soapCall(this.igd!, action, args, this.opts.requestTimeoutMs);
  }

  private async natPmp(payload: Buffer, op: number): Promise<NatPmpResponse> {
    const r = await natPmpExchange(this.natPmpGateway!, this.opts.natPmpPort, payload, op, this.opts.requestTimeoutMs);
    if (!r) throw new PortMapError(`NAT-PMP: no answer from ${this.natPmpGateway} within ${this.opts.requestTimeoutMs} ms`);
    return r;
  }
}

// ---------------------------------------------------------------- helpers (I/O)

async function soapCall(igd: IgdService, action: string, args: SoapArgs, timeoutMs: number, signal?: AbortSignal): Promise<SoapResult> {
  const res = await httpRequest(igd.controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${igd.serviceType}#${action}"` },
    body: soapEnvelope(igd.serviceType, action, args),
    timeoutMs,
    maxBytes: MAX_SOAP_BYTES,
    ...(signal ? { signal } : {}),
  });
  return parseSoapResponse(res.status, res.body, action);
}

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

/**
 * One NAT-PMP request to gateway:port, resent on RFC 6886's schedule (250 ms, doubling) until an
 * answer with opcode 128+op comes from that address, `timeoutMs` passes (undefined), or `signal`
 * aborts (undefined). A fresh socket per exchange: answers cannot be mixed up.
 */
function natPmpExchange(gateway: string, port: number, payload: Buffer, op: number, timeoutMs: number, signal?: AbortSignal): Promise<NatPmpResponse | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (r: NatPmpResponse | undefined): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const onAbort = (): void => finish(undefined);
    if (signal?.aborted) { finish(undefined); return; }
    signal?.addEventListener('abort', onAbort);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== gateway || rinfo.port !== port) return;
      const r = decodeNatPmp(msg);
      if (r && r.op === op) finish(r);
    });
    sock.bind(0, () => {
      for (const at of natPmpSchedule(timeoutMs)) {
        timers.push(setTimeout(() => { if (!done) sock.send(payload, port, gateway, () => {}); }, at));
      }
      timers.push(setTimeout(() => finish(undefined), timeoutMs));
    });
  });
}

/**
 * SSDP search for an IGD; resolves with the first gateway whose description offers an allowed
 * WAN connection service (IGD v2's preferred), or undefined at `deadline` / on abort.
 * LOCATION must be an http URL on the address that answered (no fetching elsewhere).
 */
function ssdpFindIgd(methods: readonly PortMapMethod[], deadline: number, requestTimeoutMs: number, log: (l: string) => void, signal: AbortSignal): Promise<(IgdService & { internalClient: string; externalIp?: string }) | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const seen = new Set<string>();
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (r: (IgdService & { internalClient: string; externalIp?: string }) | undefined): void => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      signal.removeEventListener('abort', onAbort);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const onAbort = (): void => finish(undefined);
    if (signal.aborted) { finish(undefined); return; }
    signal.addEventListener('abort', onAbort);
    const targets = [
      ...(methods.includes('upnp-igd2') ? [IGD2_DEVICE] : []),
      IGD1_DEVICE, // IGD v2 devices answer v1 searches too
      WANIP1,
    ];
    sock.on('error', (e) => { log(`portmap: SSDP socket: ${e.message}`); finish(undefined); });
    sock.on('message', (msg, rinfo) => {
      const r = parseSsdpResponse(msg.toString('latin1'));
      if (!r || seen.has(r.location) || done) return;
      seen.add(r.location);
      let url: URL;
      try { url = new URL(r.location); } catch { return; }
      if (url.protocol !== 'http:' || url.hostname !== rinfo.address) {
        log(`portmap: ignoring SSDP answer from ${rinfo.address} with LOCATION ${r.location}`);
        return;
      }
      void (async () => {
        try {
          const left = deadline - Date.now();
          if (left <= 0) return;
          const res = await httpRequest(r.location, { method: 'GET', timeoutMs: Math.min(requestTimeoutMs, left), maxBytes: MAX_DESCRIPTION_BYTES, signal });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          const svc = parseDescription(res.body, r.location, methods);
          if (!svc) {
            log(`portmap: ${r.location}: no ${methods.filter((m) => m !== 'nat-pmp').join('/')} WAN connection service`);
            return;
          }
          const ctl = new URL(svc.controlUrl);
          if (ctl.hostname !== rinfo.address) {
            log(`portmap: ${r.location}: control URL ${svc.controlUrl} is on another host; ignored`);
            return;
          }
          const internalClient = await localAddressTowards(rinfo.address);
          // Its external address now (not fatal if it will not say): one more round trip.
          let externalIp: string | undefined;
          const ipLeft = deadline - Date.now();
          if (ipLeft > 0) {
            const ip = await soapCall(svc, 'GetExternalIPAddress', [], Math.min(requestTimeoutMs, ipLeft), signal).catch(() => undefined);
            const v = ip?.ok ? ip.values.NewExternalIPAddress : undefined;
            if (v && isIPv4(v)) externalIp = v;
          }
          finish({ ...svc, internalClient, ...(externalIp ? { externalIp } : {}) });
        } catch (e) {
          if (!done) log(`portmap: ${r.location}: ${(e as Error).message}`);
        }
      })();
    });
    sock.bind(0, () => {
      try { sock.setMulticastTTL(2); } catch { /* not fatal */ }
      const send = (): void => {
        for (const st of targets) {
          const m = Buffer.from(buildMSearch(st, MX));
          sock.send(m, SSDP_PORT, SSDP_ADDR, (err) => { if (err && !done) log(`portmap: SSDP send: ${err.message}`); });
        }
      };
      send();
      timers.push(setTimeout(() => { if (!done) send(); }, SSDP_RESEND_MS));
      // Stop at the deadline; answers still being fetched are cut by their own timeouts.
      timers.push(setTimeout(() => finish(undefined), Math.max(0, deadline - Date.now())));
    });
  });
}

/** This host's address on the route to `ip` (a connected UDP socket sends nothing). */
function localAddressTowards(ip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('error', (e) => { try { s.close(); } catch { /* */ } reject(e); });
    s.connect(9, ip, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

interface HttpOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

/** One HTTP/1.1 request, no keep-alive; the whole exchange is bounded by timeoutMs and maxBytes. */
function httpRequest(url: string, o: HttpOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(e);
    };
    const body = o.body === undefined ? undefined : Buffer.from(o.body, 'utf8');
    const req = http.request(url, {
      method: o.method,
      agent: false,
      headers: { Connection: 'close', ...(body ? { 'Content-Length': String(body.length) } : {}), ...o.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > o.maxBytes) fail(new Error(`answer larger than ${o.maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => fail(e));
    });
    const timer = setTimeout(() => fail(new Error(`no answer from ${url} within ${o.timeoutMs} ms`)), o.timeoutMs);
    const onAbort = (): void => fail(new Error('aborted'));
    o.signal?.addEventListener('abort', onAbort);
    req.on('error', (e) => fail(e));
    req.end(body);
  });
}

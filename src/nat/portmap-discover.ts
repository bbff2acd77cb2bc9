// Finding the home gateway's port mapper: SSDP (UPnP IGD v2/v1) and a NAT-PMP probe at once.
// src/nat/upnp.ts (PortMapper.discover) makes a mapper of what this finds.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import {
  IGD1_DEVICE, IGD2_DEVICE, NATPMP_OP_EXTERNAL, NATPMP_RESULTS, SSDP_ADDR, SSDP_PORT, WANIP1, buildMSearch,
  defaultGatewayFromProcRoute, encodeNatPmpExternal, parseDescription, parseSsdpResponse,
  type IgdService, type PortMapMethod,
} from './upnp-proto.js';
import { httpRequest, soapCall } from './igd.js';
import { natPmpExchange } from './natpmp.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { UPNP_MAX_DESCRIPTION_BYTES, UPNP_SSDP_MX, UPNP_SSDP_RESEND, UPNP_SSDP_WINDOW_MARGIN } from '../params.js';

export type FoundIgd = IgdService & { internalClient: string; externalIp?: string };

export interface DiscoverRequest {
  timeoutMs: number;
  log: (line: string) => void;
  methods: readonly PortMapMethod[];
  requestTimeoutMs: number;
  gateway: string | undefined;
  natPmpPort: number;
  clock: Clock;
}

/** What discovery found: a UPnP gateway, or a NAT-PMP one; the NAT-PMP gateway to fall back on. */
export type Found =
  | { kind: 'upnp'; igd: FoundIgd; pmpGateway: string | undefined; pmpExternalIp: string | undefined }
  | { kind: 'pmp'; pmpGateway: string; externalIp: string };

/**
 * Looks for a gateway: SSDP (UPnP) and a NAT-PMP probe at once. The first UPnP gateway found
 * wins (its WANIPConnection:2 service if it has one: IGD v2, else IGD v1); NAT-PMP is used
 * when no UPnP gateway answered within MX (1 s) plus a margin. Undefined when nothing answered
 * within timeoutMs. Never rejects.
 */
export async function discoverGateway(opts: DiscoverRequest): Promise<Found | undefined> {
  const { log, methods, requestTimeoutMs, natPmpPort, clock } = opts;
  const timeoutMs = Math.max(0, opts.timeoutMs);
  const t0 = clock.now();
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
  let upnpFound: FoundIgd | undefined;
  let pmpDone = !wantPmp || !pmpGateway;
  let upnpDone = !wantUpnp;
  let wake: () => void = () => {};
  const changed = (): void => wake();

  const pmpTask = (async () => {
    if (pmpDone) return;
    try {
      const r = await natPmpExchange(pmpGateway!, natPmpPort, encodeNatPmpExternal(), NATPMP_OP_EXTERNAL, timeoutMs, clock, abort.signal);
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
      upnpFound = await ssdpFindIgd(methods, deadline, requestTimeoutMs, log, abort.signal, clock);
    } catch (e) {
      log(`portmap: UPnP discovery: ${(e as Error).message}`);
    } finally {
      upnpDone = true;
      changed();
    }
  })();

  // Decide: a UPnP gateway as soon as one is found; NAT-PMP once UPnP had its chance.
  const ssdpWindowEnd = t0 + UPNP_SSDP_MX * 1000 + UPNP_SSDP_WINDOW_MARGIN;
  let chosen: 'upnp' | 'pmp' | undefined;
  for (;;) {
    const now = clock.now();
    if (upnpFound) { chosen = 'upnp'; break; }
    if (pmpAnswer && (upnpDone || now >= ssdpWindowEnd || now >= deadline)) { chosen = 'pmp'; break; }
    if ((upnpDone && pmpDone) || now >= deadline) break;
    const waitUntil = pmpAnswer ? Math.min(ssdpWindowEnd, deadline) : deadline;
    await new Promise<void>((resolve) => {
      const t = clock.setTimeout(resolve, Math.max(0, waitUntil - clock.now()));
      wake = () => { clock.clearTimeout(t); resolve(); };
    });
    wake = () => {};
  }
  abort.abort();
  await Promise.allSettled([pmpTask, upnpTask]);

  const fallbackPmp = wantPmp ? pmpGateway : undefined;
  if (chosen === 'upnp' && upnpFound) {
    log(`portmap: ${upnpFound.method} gateway ${upnpFound.controlUrl} (we are ${upnpFound.internalClient}) in ${Math.round(clock.now() - t0)} ms`);
    return { kind: 'upnp', igd: upnpFound, pmpGateway: fallbackPmp, pmpExternalIp: pmpAnswer?.externalIp };
  }
  if (chosen === 'pmp' && pmpAnswer && pmpGateway) {
    log(`portmap: nat-pmp gateway ${pmpGateway} (external ${pmpAnswer.externalIp}) in ${Math.round(clock.now() - t0)} ms`);
    return { kind: 'pmp', pmpGateway, externalIp: pmpAnswer.externalIp };
  }
  log(`portmap: no UPnP IGD or NAT-PMP gateway answered within ${timeoutMs} ms`);
  return undefined;
}

/**
 * SSDP search for an IGD; resolves with the first gateway whose description offers an allowed
 * WAN connection service (IGD v2's preferred), or undefined at `deadline` / on abort.
 * LOCATION must be an http URL on the address that answered (no fetching elsewhere).
 */
function ssdpFindIgd(methods: readonly PortMapMethod[], deadline: number, requestTimeoutMs: number, log: (l: string) => void, signal: AbortSignal, clock: Clock): Promise<FoundIgd | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const seen = new Set<string>();
    const timers: TimerHandle[] = [];
    let done = false;
    const finish = (r: FoundIgd | undefined): void => {
      if (done) return;
      done = true;
      for (const t of timers) clock.clearTimeout(t);
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
          const left = deadline - clock.now();
          if (left <= 0) return;
          const res = await httpRequest(r.location, { method: 'GET', timeoutMs: Math.min(requestTimeoutMs, left), maxBytes: UPNP_MAX_DESCRIPTION_BYTES, signal }, clock);
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
          const ipLeft = deadline - clock.now();
          if (ipLeft > 0) {
            const ip = await soapCall(svc, 'GetExternalIPAddress', [], Math.min(requestTimeoutMs, ipLeft), clock, signal).catch(() => undefined);
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
          const m = Buffer.from(buildMSearch(st, UPNP_SSDP_MX));
          sock.send(m, SSDP_PORT, SSDP_ADDR, (err) => { if (err && !done) log(`portmap: SSDP send: ${err.message}`); });
        }
      };
      send();
      timers.push(clock.setTimeout(() => { if (!done) send(); }, UPNP_SSDP_RESEND));
      // Stop at the deadline; answers still being fetched are cut by their own timeouts.
      timers.push(clock.setTimeout(() => finish(undefined), Math.max(0, deadline - clock.now())));
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

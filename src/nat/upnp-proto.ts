// The wire formats of port mapping, as pure functions (no I/O): SSDP discovery messages, the
// UPnP IGD device description and SOAP control messages (IGD v1 and v2), NAT-PMP (RFC 6886)
// requests and responses, and the default gateway from /proc/net/route. The I/O is done by
// src/nat/upnp.ts (the mapper), portmap-discover.ts, igd.ts and natpmp.ts. The XML handling is
// deliberately small and tolerant (like miniupnpc's): it reads the few elements it needs and
// ignores namespace prefixes, so odd but valid gateways still parse.

export const SSDP_ADDR = '239.255.255.250';
export const SSDP_PORT = 1900;
export const NATPMP_PORT = 5351;

export const IGD2_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:2';
export const IGD1_DEVICE = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
export const WANIP2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';
export const WANIP1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';
export const WANPPP1 = 'urn:schemas-upnp-org:service:WANPPPConnection:1';

export type PortMapMethod = 'upnp-igd2' | 'upnp-igd1' | 'nat-pmp';

/** IGD v2's longest lease (7 days); a longer request is clamped by the gateway anyway. */
export const MAX_LEASE = 604800;

// ---------------------------------------------------------------- SSDP

/** An SSDP M-SEARCH request for search target `st`; devices answer within `mx` seconds. */
export function buildMSearch(st: string, mx = 1): string {
  return [
    'M-SEARCH * HTTP/1.1',
    `HOST: ${SSDP_ADDR}:${SSDP_PORT}`,
    'MAN: "ssdp:discover"',
    `MX: ${mx}`,
    `ST: ${st}`,
    '', '',
  ].join('\r\n');
}

export interface SsdpResponse {
  /** Header names lowercased. */
  headers: Record<string, string>;
  location: string;
  st: string;
}

/** A unicast answer to an M-SEARCH ("HTTP/1.1 200 OK" with a LOCATION); undefined otherwise. */
export function parseSsdpResponse(text: string): SsdpResponse | undefined {
  const lines = text.split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/i.test(lines[0] ?? '')) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const location = headers.location;
  if (!location) return undefined;
  return { headers, location, st: headers.st ?? '' };
}

// ---------------------------------------------------------------- XML helpers

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function xmlUnescape(s: string): string {
  return s
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    .replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${({ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' } as Record<string, string>)[c]};`);
}

/** Every element named `name` (any namespace prefix): its inner text, in document order. */
export function xmlElements(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:[A-Za-z_][\\w.-]*:)?${name}\\s*>)`, 'g');
  for (const m of xml.matchAll(re)) out.push(m[1] ?? '');
  return out;
}

/** The text of the first element named `name`, unescaped and trimmed; undefined if absent. */
export function xmlText(xml: string, name: string): string | undefined {
  const e = xmlElements(xml, name)[0];
  return e === undefined ? undefined : xmlUnescape(e).trim();
}

// ---------------------------------------------------------------- device description

export interface IgdService {
  method: 'upnp-igd2' | 'upnp-igd1';
  serviceType: string;
  /** Absolute control URL. */
  controlUrl: string;
}

/**
 * The WAN connection service to use from a device description fetched from `location`:
 * WANIPConnection:2 (IGD v2) first, then WANIPConnection:1, then WANPPPConnection:1 (both
 * IGD v1), among the `allowed` methods. Relative URLs are resolved against URLBase, or else the description's own URL.
 * Undefined when the description has none (not a gateway) or its URL is unusable.
 */
export function parseDescription(xml: string, location: string, allowed: readonly PortMapMethod[] = ['upnp-igd2', 'upnp-igd1']): IgdService | undefined {
  const base = xmlText(xml, 'URLBase') || location;
  const services = xmlElements(xml, 'service').map((s) => ({
    type: xmlText(s, 'serviceType') ?? '',
    control: xmlText(s, 'controlURL') ?? '',
  }));
  for (const [type, method] of [[WANIP2, 'upnp-igd2'], [WANIP1, 'upnp-igd1'], [WANPPP1, 'upnp-igd1']] as const) {
    if (!allowed.includes(method)) continue;
    const s = services.find((x) => x.type === type && x.control);
    if (!s) continue;
    let url: URL;
    try {
      url = new URL(s.control, base);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:') continue;
    return { method, serviceType: type, controlUrl: url.href };
  }
  return undefined;
}

// ---------------------------------------------------------------- SOAP

export type SoapArgs = ReadonlyArray<readonly [string, string | number]>;

/** A SOAP request body for `action` of `serviceType`. Every value is written (0 included). */
export function soapEnvelope(serviceType: string, action: string, args: SoapArgs): string {
  const body = args.map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`).join('');
  return '<?xml version="1.0"?>\r\n'
    + '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    + `<s:Body><u:${action} xmlns:u="${xmlEscape(serviceType)}">${body}</u:${action}></s:Body></s:Envelope>\r\n`;
}

export type SoapResult =
  | { ok: true; values: Record<string, string> }
  | { ok: false; errorCode: number; errorDescription: string };

/**
 * A SOAP answer: the child elements of `<actionResponse>` (ok), or the UPnPError of a fault.
 * An HTTP status other than 200 without a readable UPnPError gives errorCode -status.
 */
export function parseSoapResponse(status: number, xml: string, action: string): SoapResult {
  const code = xmlText(xml, 'errorCode');
  if (code !== undefined && /^\d+$/.test(code)) {
    return { ok: false, errorCode: Number(code), errorDescription: xmlText(xml, 'errorDescription') ?? '' };
  }
  const resp = xmlElements(xml, `${action}Response`);
  if (status !== 200 || resp.length === 0) {
    return { ok: false, errorCode: -status, errorDescription: status === 200 ? `no ${action}Response in the answer` : `HTTP ${status}` };
  }
  const values: Record<string, string> = {};
  const inner = resp[0] ?? '';
  for (const m of inner.matchAll(/<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)(?:\s[^>]*)?(?:\/>|>([\s\S]*?)<\/(?:[A-Za-z_][\w.-]*:)?\1\s*>)/g)) {
    values[m[1]!] = xmlUnescape(m[2] ?? '').trim();
  }
  return { ok: true, values };
}

/** UPnP IGD error codes this client acts on. */
export const UPNP_ERR = {
  invalidArgs: 402,
  notAuthorized: 606,
  noSuchEntry: 714,
  conflict: 718,
  samePortValuesRequired: 724,
  onlyPermanentLeases: 725,
  externalPortOnlySupportsWildcard: 727,
  noPortMapsAvailable: 728,
  conflictWithOtherMechanisms: 729,
} as const;

/** The AddPortMapping / AddAnyPortMapping arguments (same names and order in IGD v1 and v2). */
export function addPortMappingArgs(a: { externalPort: number; internalPort: number; internalClient: string; description: string; lease: number }): SoapArgs {
  return [
    ['NewRemoteHost', ''],
    ['NewExternalPort', a.externalPort],
    ['NewProtocol', 'UDP'],
    ['NewInternalPort', a.internalPort],
    ['NewInternalClient', a.internalClient],
    ['NewEnabled', 1],
    ['NewPortMappingDescription', a.description],
    ['NewLeaseDuration', a.lease],
  ];
}

export function deletePortMappingArgs(externalPort: number): SoapArgs {
  return [['NewRemoteHost', ''], ['NewExternalPort', externalPort], ['NewProtocol', 'UDP']];
}

// ---------------------------------------------------------------- NAT-PMP (RFC 6886)

export const NATPMP_OP_EXTERNAL = 0;
export const NATPMP_OP_MAP_UDP = 1;

export const NATPMP_RESULTS: Record<number, string> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized/refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

/** The external address request (2 bytes). */
export function encodeNatPmpExternal(): Buffer {
  return Buffer.from([0, NATPMP_OP_EXTERNAL]);
}

/** A UDP mapping request; lifetime 0 with externalPort 0 deletes the mapping of internalPort. */
export function encodeNatPmpMap(internalPort: number, externalPort: number, lifetime: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(0, 0);
  b.writeUInt8(NATPMP_OP_MAP_UDP, 1);
  b.writeUInt16BE(internalPort, 4);
  b.writeUInt16BE(externalPort, 6);
  b.writeUInt32BE(lifetime >>> 0, 8);
  return b;
}

export type NatPmpResponse =
  | { op: 0; result: number; epoch: number; externalIp: string }
  | { op: 1; result: number; epoch: number; internalPort: number; externalPort: number; lifetime: number };

/** A NAT-PMP response (opcode 128 + request opcode); undefined if malformed or not one we ask. */
export function decodeNatPmp(buf: Uint8Array): NatPmpResponse | undefined {
  if (buf.length < 8 || buf[0] !== 0) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const op = b.readUInt8(1);
  const result = b.readUInt16BE(2);
  const epoch = b.readUInt32BE(4);
  if (op === 128 + NATPMP_OP_EXTERNAL) {
    if (b.length < 12) return result === 0 ? undefined : { op: 0, result, epoch, externalIp: '' };
    return { op: 0, result, epoch, externalIp: `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
  }
  if (op === 128 + NATPMP_OP_MAP_UDP) {
    if (b.length < 16) return result === 0 ? undefined : { op: 1, result, epoch, internalPort: 0, externalPort: 0, lifetime: 0 };
    return { op: 1, result, epoch, internalPort: b.readUInt16BE(8), externalPort: b.readUInt16BE(10), lifetime: b.readUInt32BE(12) };
  }
  return undefined;
}

/**
 * RFC 6886 §3.1: the first request is sent, then resent after 250 ms, doubling each time.
 * The send times (ms from the start) that fit strictly within `totalMs`.
 */
export function natPmpSchedule(totalMs: number, firstMs = 250): number[] {
  const out: number[] = [];
  for (let t = 0, step = firstMs; t < totalMs && out.length < 9; t += step, step *= 2) out.push(t);
  return out;
}

// ---------------------------------------------------------------- routing, leases

/** The IPv4 default gateway from the text of /proc/net/route (lowest metric); undefined if none. */
export function defaultGatewayFromProcRoute(text: string): string | undefined {
  let best: { gw: string; metric: number } | undefined;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [, dest, gw, flags, , , metric, mask] = f;
    if (dest !== '00000000' || mask !== '00000000') continue;
    const fl = parseInt(flags!, 16);
    if (!(fl & 0x1) || !(fl & 0x2)) continue; // RTF_UP and RTF_GATEWAY
    const n = parseInt(gw!, 16);
    if (!Number.isFinite(n) || n === 0) continue;
    // little-endian hex on the machines Node runs on
    const ip = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
    const m = Number(metric);
    if (!best || m < best.metric) best = { gw: ip, metric: m };
  }
  return best?.gw;
}

/** A requested lease in whole seconds within [1, MAX_LEASE]. */
export function clampLease(seconds: number): number {
  if (!Number.isFinite(seconds)) return MAX_LEASE;
  return Math.min(MAX_LEASE, Math.max(1, Math.round(seconds)));
}

/** How often a permanent mapping (lease 0, some IGD v1 gateways) is refreshed anyway. */
export const PERMANENT_REFRESH_S = 1200;

/**
 * When to renew a mapping granted for `lease` seconds: at half its life (RFC 6886 §3.3
 * recommends renewing from half the lifetime on), at least 1 s from now. Lease 0 (permanent):
 * every PERMANENT_REFRESH_S, in case the gateway restarted and forgot it.
 */
export function renewDelayMs(lease: number): number {
  if (lease <= 0) return PERMANENT_REFRESH_S * 1000;
  return Math.max(1000, Math.floor((lease * 1000) / 2));
}

/** After a failed renewal: retry sooner, but not faster than every 1 s nor later than 60 s. */
export function retryDelayMs(lease: number): number {
  if (lease <= 0) return 60_000;
  return Math.min(60_000, Math.max(1000, Math.floor((lease * 1000) / 8)));
}

export function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

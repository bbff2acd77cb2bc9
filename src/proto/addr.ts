// UDP endpoint addresses: the in-memory form, a stable text key, and the compact wire form.
//   compact IPv4: 4 address bytes, 2 port bytes (big-endian)   = 6 bytes
//   compact IPv6: 16 address bytes, 2 port bytes (big-endian)  = 18 bytes
import { isIPv4, isIPv6 } from 'node:net';

export interface Addr {
  readonly host: string; // IPv4 dotted quad or IPv6 text (no brackets)
  readonly port: number;
}

export function addrKey(a: Addr): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function sameAddr(a: Addr | undefined, b: Addr | undefined): boolean {
  return a !== undefined && b !== undefined && a.port === b.port && a.host === b.host;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d, as dual-stack sockets report) becomes plain IPv4. */
export function normalizeAddr(a: Addr): Addr {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a.host);
  return m ? { host: m[1]!, port: a.port } : a;
}

export function ipv4ToBytes(host: string): Uint8Array | undefined {
  if (!isIPv4(host)) return undefined;
  return new Uint8Array(host.split('.').map(Number));
}

export function ipv6ToBytes(host: string): Uint8Array | undefined {
  if (!isIPv6(host)) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups first.
  const text = host.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`);
  const halves = text.split('::');
  const groupsOf = (s: string): number[] => (s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(Math.max(0, fill)).fill(0), ...tail];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

export function bytesToIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

export function encodeCompactAddr(a: Addr): Uint8Array {
  const ip = ipv4ToBytes(a.host) ?? ipv6ToBytes(a.host);
  if (ip === undefined) throw new Error(`not an IP address: ${a.host}`);
  const out = new Uint8Array(ip.length + 2);
  out.set(ip, 0);
  out[ip.length] = a.port >> 8;
  out[ip.length + 1] = a.port & 0xff;
  return out;
}

/** Decodes 6 or 18 bytes; undefined for any other length or port 0. */
export function decodeCompactAddr(b: Uint8Array): Addr | undefined {
  if (b.length !== 6 && b.length !== 18) return undefined;
  const port = (b[b.length - 2]! << 8) | b[b.length - 1]!;
  if (port === 0) return undefined;
  const mapped = b.length === 18 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (b.length === 6 || mapped) return { host: Array.from(b.subarray(b.length - 6, b.length - 2)).join('.'), port };
  return { host: bytesToIpv6(b.subarray(0, 16)), port };
}

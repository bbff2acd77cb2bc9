// Endpoint addresses: the in-memory form, a stable text key, and the compact wire form.
//   compact IPv4: 4 address bytes, 2 port bytes (big-endian)   = 6 bytes
//   compact IPv6: 16 address bytes, 2 port bytes (big-endian)  = 18 bytes
// The transport is part of an address's identity: a UDP endpoint and a WebSocket connection
// with the same IP and port number are different addresses (docs/NAT.md "WebSocket contacts"),
// so a UDP datagram from a WebSocket client's TCP ip:port never selects its connection.
import { formatIPv6, parseIPv6 } from '../util/ip.js';

export interface Addr {
  readonly host: string; // IPv4 dotted quad or IPv6 text (no brackets)
  readonly port: number;
  /** Absent: a UDP endpoint. 'ws': a WebSocket connection, named by its TCP address (a
   *  server's connection from a client: the client's TCP source; a client's link: the
   *  server's IP and TCP port). Never on the wire: the compact form has no place for it, and
   *  a node never gives such an address to a third party. */
  readonly via?: 'ws';
}

/** What a rendezvous names as a `punch-notify`'s `a` for an initiator it reaches only over a
 *  WebSocket connection (docs/PROTOCOL.md section 7.4): the unspecified address, which a
 *  receiver refuses to send to (usableAddr), so the target probes nothing and follows the
 *  initiator to the relay. */
export const NO_UDP_ADDR: Addr = { host: '0.0.0.0', port: 1 };

/** A WebSocket connection's address at `a`'s IP and TCP port. */
export function wsAddr(a: Addr): Addr {
  return { host: a.host, port: a.port, via: 'ws' };
}

/** Whether `a` is a UDP endpoint (not a WebSocket connection). */
export function isUdpAddr(a: Addr): boolean {
  return a.via === undefined;
}

export function addrKey(a: Addr): string {
  const hp = a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
  return a.via === undefined ? hp : `${a.via}:${hp}`;
}

export function sameAddr(a: Addr | undefined, b: Addr | undefined): boolean {
  return a !== undefined && b !== undefined && a.port === b.port && a.host === b.host && a.via === b.via;
}

/**
 * The key of a source for per-source limits and quotas: an IPv4 address itself; for IPv6, its
 * /64 (a site is given at least a /64, so one attacker holds 2^64 addresses but few /64s):
 * "2001:db8:1:2::/64" (a 6to4 address its /48: one IPv4 address's). A text that is not an IPv6
 * address is its own key.
 */
export function sourceKey(host: string): string {
  if (!host.includes(':')) return host;
  // A link-local source comes with its zone (fe80::1%eth0): the key is its /64 all the same.
  const v = parseIPv6(host.replace(/%.*$/, ''));
  if (v === undefined) return host;
  if (v >> 32n === 0xffffn) return `${v >> 24n & 0xffn}.${v >> 16n & 0xffn}.${v >> 8n & 0xffn}.${v & 0xffn}`; // IPv4-mapped
  // 6to4 (2002:a.b.c.d::/48): a whole /48 is derived from one IPv4 address, so it is one source.
  if (v >> 112n === 0x2002n) return `${formatIPv6((v >> 80n) << 80n)}/48`;
  return `${formatIPv6((v >> 64n) << 64n)}/64`;
}

/** IPv4 ranges no record may name: 0/8 (this host), multicast 224/4, reserved and broadcast 240/4. */
function v4Never(v: number): boolean {
  return v >>> 24 === 0 || v >>> 28 >= 0xe;
}

/** IPv4 ranges that are not global (RFC 1918, shared 100.64/10, link-local 169.254/16, loopback). */
function v4Local(v: number): boolean {
  const a = v >>> 24, b = (v >>> 16) & 0xff;
  return a === 10 || a === 127 || (a === 172 && b >> 4 === 1) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >> 6 === 1);
}

const V4_SCRATCH = new Uint8Array(4);

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

/**
 * Whether a node may send to `a` on a third party's word (a `nodes` record, a rendezvous's or a
 * checker's address; docs/PROTOCOL.md "Addresses a receiver refuses"): never an unspecified,
 * multicast, broadcast or reserved address, an IPv6 link-local one (a record has no zone), an
 * IPv4-compatible one (::a.b.c.d, deprecated) or a NAT64 one (64:ff9b::/96) that wraps an IPv4
 * address that is not global; a loopback address only when the teller `from` is itself on
 * loopback (nodes on one host, as in tests). The rest (private IPv4, ULA) stays: LANs use them.
 */
export function usableAddr(a: Addr, from?: Addr): boolean {
  if (a.port === 0 || a.via !== undefined) return false; // (a WebSocket connection is no UDP endpoint)
  if (isLoopback(a.host)) return from !== undefined && isLoopback(from.host);
  // Read into one scratch buffer: this runs for every record of every `nodes` answer.
  if (ipv4Into(a.host, V4_SCRATCH, 0)) return !v4Never(((V4_SCRATCH[0]! << 24) | (V4_SCRATCH[1]! << 16) | (V4_SCRATCH[2]! << 8) | V4_SCRATCH[3]!) >>> 0);
  const v = parseIPv6(a.host);
  if (v === undefined) return false;
  const low = Number(v & 0xffffffffn);
  if (v >> 32n === 0n) return false; // ::, ::a.b.c.d (::1 was loopback above)
  if (v >> 32n === 0xffffn) return !v4Never(low) && !(low >>> 24 === 127); // mapped: as its IPv4
  if (v >> 120n === 0xffn) return false; // multicast ff00::/8
  if (v >> 118n === 0x3fan) return false; // link-local fe80::/10
  if (v >> 32n === 0x64ff9b0000000000000000n) return !v4Never(low) && !v4Local(low); // NAT64 well-known prefix
  return true;
}

/** IPv4-mapped IPv6 becomes plain IPv4: ::ffff:a.b.c.d as dual-stack sockets report it, and
 *  ::ffff:XXXX:XXXX as a config's [::ffff:a.b.c.d] reads canonically (src/util/ip.ts), so a
 *  boot line in that form is the address its answers come from. */
export function normalizeAddr(a: Addr): Addr {
  if (a.host.charCodeAt(0) !== 0x3a || !/^::ffff:/i.test(a.host)) return a; // (every datagram: a cheap test first)
  const v = parseIPv6(a.host);
  if (v === undefined || v >> 32n !== 0xffffn) return a;
  const host = `${v >> 24n & 0xffn}.${v >> 16n & 0xffn}.${v >> 8n & 0xffn}.${v & 0xffn}`;
  return { host, port: a.port, ...(a.via !== undefined ? { via: a.via } : {}) };
}

export function ipv4ToBytes(host: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return ipv4Into(host, out, 0) ? out : undefined;
}

/** Writes the 4 bytes of an IPv4 `host` at out[o]; false (out is then undefined there) when it is not one. */
function ipv4Into(host: string, out: Uint8Array, o: number): boolean {
  // Dotted quad, each part 0..255 without leading zeros: what isIPv4 accepts, read in one pass
  // (isIPv4 and split were 3 % of a simulated node's time: every `nodes` answer has 20 addresses).
  let part = 0, value = 0, digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else if (c === 0x2e && digits > 0 && part < 4) {
      out[o + part++] = value;
      value = 0;
      digits = 0;
    } else return false;
  }
  return part === 4;
}

// IPv6 text <-> value is src/util/ip.ts's (RFC 5952 formatting); here only the byte form.
export function ipv6ToBytes(host: string): Uint8Array | undefined {
  let v = parseIPv6(host);
  if (v === undefined) return undefined;
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

export function bytesToIpv6(b: Uint8Array): string {
  let v = 0n;
  for (let i = 0; i < 16; i++) v = (v << 8n) | BigInt(b[i]!);
  return formatIPv6(v);
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

/** Writes the compact form of `a` at out[o] (IPv4 without a copy); returns its length. */
export function writeCompactAddr(a: Addr, out: Uint8Array, o: number): number {
  if (o + 6 <= out.length && ipv4Into(a.host, out, o)) {
    out[o + 4] = a.port >> 8;
    out[o + 5] = a.port & 0xff;
    return 6;
  }
  const c = encodeCompactAddr(a);
  out.set(c, o);
  return c.length;
}

/** Decodes 6 or 18 bytes; undefined for any other length or port 0. */
export function decodeCompactAddr(b: Uint8Array): Addr | undefined {
  if (b.length !== 6 && b.length !== 18) return undefined;
  const port = (b[b.length - 2]! << 8) | b[b.length - 1]!;
  if (port === 0) return undefined;
  const mapped = b.length === 18 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  const o = b.length - 6;
  if (b.length === 6 || mapped) return { host: `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`, port };
  return { host: bytesToIpv6(b.subarray(0, 16)), port };
}

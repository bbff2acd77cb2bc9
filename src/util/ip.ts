// Pure IPv4/IPv6 address and CIDR helpers. Addresses are held as BigInts (network byte
// order, most significant bit first) so that the same arithmetic serves both families.
// Validation is delegated to node:net's isIP first; the parsers below only convert text
// that isIP already accepted (and additionally reject IPv6 zone ids such as "fe80::1%eth0").
import { isIP } from 'node:net';

export type Family = 4 | 6;

export interface IpAddress {
  family: Family;
  value: bigint;
}

export interface Cidr {
  family: Family;
  /** Network address (host bits all zero). */
  network: bigint;
  prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses a dotted-quad IPv4 address ("10.0.0.1"); undefined when it is not one. */
export function parseIPv4(text: string): bigint | undefined {
  if (isIP(text) !== 4) return undefined;
  let v = 0n;
  for (const part of text.split('.')) v = (v << 8n) | BigInt(Number(part));
  return v;
}

/** Parses an IPv6 address, including "::" compression and a trailing dotted quad. */
export function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%') || isIP(text) !== 6) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const part of s.split(':')) {
      if (part.includes('.')) {
        const v4 = parseIPv4(part);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an IPv4 or IPv6 address (no brackets, no port, no zone id). */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

export function formatIPv4(value: bigint): string {
  const parts: string[] = [];
  for (let shift = 24n; shift >= 0n; shift -= 8n) parts.push(String((value >> shift) & 0xffn));
  return parts.join('.');
}

/** RFC 5952 canonical text: lowercase, no leading zeros, longest run (>= 2) of zero groups as "::". */
export function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export function formatIp(family: Family, value: bigint): string {
  return family === 4 ? formatIPv4(value) : formatIPv6(value);
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; error: string };

/** "ADDR/PREFIX" split and checked (the one CIDR parser: the config's subnets below, WireGuard's
 *  and ip(8)'s addresses in src/wg/names.ts); host bits are not looked at here. */
export type IpPrefixResult =
  | { ok: true; ip: string; addr: IpAddress; prefix: number }
  | { ok: false; why: 'form' | 'address' | 'prefix-syntax' | 'prefix-range'; addrText: string; prefixText: string; bits?: number; family?: Family };

export function parseIpPrefix(text: string): IpPrefixResult {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, why: 'form', addrText: text, prefixText: '' };
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const addr = parseIp(addrText);
  if (addr === undefined) return { ok: false, why: 'address', addrText, prefixText };
  const bits = familyBits(addr.family);
  if (!/^\d{1,3}$/.test(prefixText)) return { ok: false, why: 'prefix-syntax', addrText, prefixText, bits, family: addr.family };
  if (Number(prefixText) > bits) return { ok: false, why: 'prefix-range', addrText, prefixText, bits, family: addr.family };
  return { ok: true, ip: addrText, addr, prefix: Number(prefixText) };
}

/**
 * Parses a subnet "ADDR/PREFIX". Host bits must be zero: "10.0.0.1/24" is refused with a hint
 * naming the network it probably means.
 */
export function parseCidr(text: string): CidrResult {
  const r = parseIpPrefix(text);
  if (!r.ok) {
    if (r.why === 'form') return { ok: false, error: `"${text}" is not a CIDR subnet (expected ADDRESS/PREFIX, e.g. 10.42.0.0/24)` };
    if (r.why === 'address') return { ok: false, error: `"${r.addrText}" is not an IPv4 or IPv6 address` };
    return { ok: false, error: `"${r.prefixText}" is not a valid IPv${r.family} prefix length (0..${r.bits})` };
  }
  const { addr, prefix } = r;
  const cidr: Cidr = { family: addr.family, network: addr.value & prefixMask(addr.family, prefix), prefix };
  if (cidr.network !== addr.value) {
    return { ok: false, error: `"${text}" has host bits set (did you mean ${formatCidr(cidr)}?)` };
  }
  return { ok: true, cidr };
}

export function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.network)}/${c.prefix}`;
}

/** Number of addresses in the subnet, network and broadcast included. */
export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefix);
}

/** Last address of the subnet (the IPv4 broadcast address). */
export function cidrLast(c: Cidr): bigint {
  return c.network + cidrSize(c) - 1n;
}

export function cidrContains(c: Cidr, addr: IpAddress): boolean {
  return addr.family === c.family && (addr.value & prefixMask(c.family, c.prefix)) === c.network;
}

/**
 * Addresses no node may use: the network address, and for IPv4 also the broadcast address
 * (IPv6 has no broadcast). On an IPv4 /31 or /32 this covers the whole subnet.
 */
export function isReservedAddress(c: Cidr, value: bigint): boolean {
  return value === c.network || (c.family === 4 && value === cidrLast(c));
}

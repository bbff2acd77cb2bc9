// Whose connection a WebSocket upgrade is, behind a reverse proxy (docs/CONFIG.md, `listen ws://
// ... trusted-proxy IP`): pure. Only a connection from a proxy the config names is read for an
// X-Forwarded-For header; from any other peer the header is ignored (never trusted by default).
// From a trusted proxy, the client is the right-most address of the header (the one the proxy
// appended, as nginx's $proxy_add_x_forwarded_for does), skipping addresses that are themselves
// trusted proxies (a chain of them); what a client wrote to the left is never read. A header that
// is missing or malformed where it is read leaves the proxy's own address, counted.
import { formatIPv4, formatIPv6, parseIp } from '../util/ip.js';

/** An IP address in one canonical text (IPv4-mapped IPv6 as IPv4, IPv6 per RFC 5952), or
 *  undefined when `text` is not one (no brackets, port or zone). */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  if (ip === undefined) return undefined;
  if (ip.family === 4) return formatIPv4(ip.value);
  return ip.value >> 32n === 0xffffn ? formatIPv4(ip.value & 0xffffffffn) : formatIPv6(ip.value);
}

export type ForwardedWhy = 'ws-xff-missing' | 'ws-xff-bad';

/** The client address a connection from trusted proxy `peer` stands for: `ip` (canonical), and
 *  `why` when it is the proxy's own because the header was missing or malformed. */
export function forwardedClient(header: string | string[] | undefined, peer: string, trusted: ReadonlySet<string>): { ip: string; why?: ForwardedWhy } {
  // node:http joins repeated X-Forwarded-For headers with ", "; an array only from a caller.
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text === undefined || text.trim() === '') return { ip: peer, why: 'ws-xff-missing' };
  const parts = text.split(',');
  for (let i = parts.length - 1; i >= 0; i--) {
    const ip = canonicalIp(parts[i]!.trim());
    if (ip === undefined) return { ip: peer, why: 'ws-xff-bad' };
    if (i === 0 || !trusted.has(ip)) return { ip };
  }
  return { ip: peer, why: 'ws-xff-missing' }; // not reached: the loop returns at i === 0
}

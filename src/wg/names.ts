// Interface names and the values the data plane accepts (keys, CIDRs, endpoints), validated
// before any tool runs so that errors are clear. Pure: no I/O except `resolveEndpoint`.
//
// Interface names: 1..15 characters of [A-Za-z0-9_=+.-], not "." or ".." (wg-quick's rule;
// Linux allows 15 bytes, IFNAMSIZ - 1). A node's default name is "wh-" + the first 8
// characters of its base64 public key, with '+' → '-' and '/' → '_' (neither can occur in
// base64, so the mapping is one-to-one): 11 characters, accepted by `ip link` and by nft once
// prefixed (see src/firewall). wireguard-go's control socket is /var/run/wireguard/NAME.sock,
// shared by every network namespace, so names must be unique on the machine, not only in one
// namespace; 8 base64 characters (48 bits) make a clash between keys negligible.
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { WgError } from '../util/exec.js';
import { keyToBase64, parseKey } from '../crypto/keys.js';
import { addrKey } from '../proto/addr.js';
import { parseIpPrefix } from '../util/ip.js';

export const MAX_IFNAME = 15;
const IFNAME = /^[A-Za-z0-9_=+.-]{1,15}$/;

/** Throws a WgError saying why `name` cannot be a WireGuard interface name. */
export function validateInterfaceName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new WgError('interface name is empty');
  if (name.length > MAX_IFNAME) {
    throw new WgError(`interface name ${JSON.stringify(name)} is ${name.length} characters long; Linux allows at most ${MAX_IFNAME}`);
  }
  if (name === '.' || name === '..') throw new WgError(`interface name ${JSON.stringify(name)} is not allowed`);
  if (!IFNAME.test(name)) {
    const bad = [...name].find((c) => !/[A-Za-z0-9_=+.-]/.test(c))!;
    throw new WgError(`interface name ${JSON.stringify(name)} contains ${JSON.stringify(bad)}; use only letters, digits and _ = + . -`);
  }
  return name;
}

export function isInterfaceName(name: string): boolean {
  return IFNAME.test(name) && name !== '.' && name !== '..';
}

/** "wh-" + the first 8 characters of the base64 key, '+' → '-', '/' → '_'. */
export function interfaceNameForKey(publicKeyB64: string): string {
  const key = validateKey(publicKeyB64, 'public key');
  return 'wh-' + key.slice(0, 8).replace(/\+/g, '-').replace(/\//g, '_');
}

/** Checks a base64 WireGuard key (44 characters, as `wg genkey`/`wg pubkey` print). */
export function validateKey(key: string, what = 'key'): string {
  const s = typeof key === 'string' ? key.trim() : '';
  try {
    return keyToBase64(parseKey(s, what)); // the standard form, whatever form was read
  } catch (e) {
    throw new WgError(e instanceof Error ? e.message : String(e));
  }
}

export function keyToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

export function hexToKey(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export interface Cidr {
  readonly ip: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** Checks an interface address or allowed IP, "10.42.0.1/24" or "fd00::1/64" (the prefix is
 *  required; host bits may be set), with src/util/ip.ts's parser. */
export function wgCidr(text: string, what = 'address'): Cidr {
  const r = parseIpPrefix(typeof text === 'string' ? text.trim() : '');
  if (r.ok) return { ip: r.ip, prefix: r.prefix, family: r.addr.family };
  if (r.why === 'form' || r.why === 'prefix-syntax' || r.addrText === '') throw new WgError(`${what} ${JSON.stringify(text)} is not in CIDR form (like 10.42.0.1/24 or fd00::1/64)`);
  if (r.why === 'address') throw new WgError(`${what} ${JSON.stringify(text)}: ${JSON.stringify(r.addrText)} is not an IP address`);
  throw new WgError(`${what} ${JSON.stringify(text)}: prefix /${Number(r.prefixText)} is longer than /${r.bits}`);
}

export interface Endpoint {
  readonly host: string; // IP or host name, without brackets
  readonly port: number;
}

/** Parses "host:port", "1.2.3.4:port" or "[v6]:port". */
export function parseEndpoint(text: string): Endpoint {
  const s = typeof text === 'string' ? text.trim() : '';
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(s);
  if (!m) throw new WgError(`endpoint ${JSON.stringify(text)} is not host:port or [IPv6]:port`);
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new WgError(`endpoint ${JSON.stringify(text)}: port ${port} is not in 1..65535`);
  if (s.startsWith('[') && isIP(host) !== 6) throw new WgError(`endpoint ${JSON.stringify(text)}: ${JSON.stringify(host)} is not an IPv6 address`);
  return { host, port };
}

export function formatEndpoint(host: string, port: number): string {
  return addrKey({ host, port });
}

/** The endpoint with its host resolved to an IP (UAPI takes IPs only; `wg` resolves itself). */
export async function resolveEndpoint(text: string): Promise<string> {
  const ep = parseEndpoint(text);
  if (isIP(ep.host) !== 0) return formatEndpoint(ep.host, ep.port);
  try {
    const r = await lookup(ep.host);
    return formatEndpoint(r.address, ep.port);
  } catch (e) {
    throw new WgError(`endpoint ${JSON.stringify(text)}: cannot resolve ${JSON.stringify(ep.host)} (${(e as Error).message})`);
  }
}

export function validatePort(port: number, what: string, allowZero = false): number {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new WgError(`${what} ${String(port)} is not an integer in ${allowZero ? 0 : 1}..65535`);
  }
  return port;
}

export function validateKeepalive(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) {
    throw new WgError(`persistent keepalive ${String(seconds)} is not an integer number of seconds in 0..65535 (0 = off)`);
  }
  return seconds;
}

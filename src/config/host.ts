// Hostnames and HOST[:PORT] endpoints as written in network config files. Pure functions.
import { isIP } from 'node:net';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../util/ip.js';
import { quoteToken } from './errors.js';

/** WireHub's UDP port (DHT and WireGuard share it) when a boot line or endpoint names none. */
export { DEFAULT_PORT } from "../params.js";
import { DEFAULT_PORT } from "../params.js";

export type HostKind = 'ipv4' | 'ipv6' | 'hostname';

export interface HostPort {
  /** Canonical address text for IPs (IPv6 without brackets); the hostname as written otherwise. */
  host: string;
  kind: HostKind;
  port: number;
}

export type HostPortResult = { ok: true; value: HostPort } | { ok: false; error: string };

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const NAME_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/**
 * Why `text` is not an acceptable hostname, or undefined when it is one. Rules (RFC 1123):
 * labels of letters, digits and hyphens separated by dots, no label starting or ending with a
 * hyphen, 1..63 characters per label, 253 in all, and the last label not all digits (so that
 * nothing that looks like an IPv4 address, valid or not, is taken for a name).
 */
export function hostnameError(text: string): string | undefined {
  return nameError(text, false);
}

/**
 * Why `text` is not an acceptable peer name (the HOSTNAME of a trust or peer line), or
 * undefined. The hostname rules, plus '_' anywhere in a label (the original tutorial names its
 * nodes `node_a` and `node_b`). Peer names are WireHub's own: matched by `wh resolve`, `wh show
 * IFACE PEER` and the other commands taking a peer (src/daemon/resolve.ts), printed, and
 * answered for by WireHub itself (its /etc/hosts block and DNS responder), never looked up in
 * the world's DNS nor used in an interface or file name; glibc and DNS wire format carry '_'
 * fine. Names that are resolved (the host of a `boot` line or of an endpoint) keep the strict
 * rules of hostnameError.
 */
export function peerNameError(text: string): string | undefined {
  return nameError(text, true);
}

function nameError(text: string, underscore: boolean): string | undefined {
  const q = quoteToken(text);
  if (text.length === 0) return 'empty hostname';
  if (isIP(text) !== 0) {
    return text.includes('%') ? `${q}: IPv6 zone ids ('%...') are not allowed` : `${q} is an IP address, not a hostname`;
  }
  if (text.length > 253) return `hostname ${q} is longer than 253 characters`;
  const bad = (underscore ? /[^A-Za-z0-9._-]/ : /[^A-Za-z0-9.-]/).exec(text);
  if (bad) return `hostname ${q} contains ${JSON.stringify(bad[0])} (allowed: letters, digits, '-'${underscore ? ", '_'" : ''} and '.')`;
  const labels = text.split('.');
  for (const label of labels) {
    if (label.length === 0) return `hostname ${q} has an empty label (leading, trailing or doubled '.')`;
    if (label.length > 63) return `hostname ${q} has a label longer than 63 characters`;
    if (!(underscore ? NAME_LABEL : LABEL).test(label)) return `hostname ${q} has a label starting or ending with '-'`;
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) {
    return `${q} looks like an IP address but is not a valid one`;
  }
  return undefined;
}

export function isHostname(text: string): boolean {
  return hostnameError(text) === undefined;
}

/** Parses a decimal port 1..65535. */
export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Parses HOST[:PORT] where HOST is an IPv4 address, a bracketed IPv6 address or a hostname.
 * A bare IPv6 address (no brackets) is accepted only without a port. With `requirePort` the
 * port must be written; otherwise it defaults to `defaultPort`.
 */
export function parseHostPort(text: string, opts: { requirePort?: boolean; defaultPort?: number } = {}): HostPortResult {
  const defaultPort = opts.defaultPort ?? DEFAULT_PORT;
  const q = quoteToken(text);
  const needPort = (shown: string): HostPortResult =>
    ({ ok: false, error: `${q} has no port (expected ${shown}:PORT)` });
  const withPort = (host: string, kind: HostKind, portText: string | undefined): HostPortResult => {
    if (portText === undefined) {
      return opts.requirePort ? needPort(kind === 'ipv6' ? `[${host}]` : host) : { ok: true, value: { host, kind, port: defaultPort } };
    }
    const port = parsePort(portText);
    if (port === undefined) return { ok: false, error: `bad port ${quoteToken(portText)} in ${q} (expected 1..65535)` };
    return { ok: true, value: { host, kind, port } };
  };

  if (text.startsWith('[')) {
    const m = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (!m) return { ok: false, error: `${q} is malformed (expected [IPV6]:PORT)` };
    const v6 = parseIPv6(m[1]!);
    if (v6 === undefined) return { ok: false, error: `${quoteToken(m[1]!)} in ${q} is not an IPv6 address` };
    return withPort(formatIPv6(v6), 'ipv6', m[2]);
  }
  const bare6 = parseIPv6(text);
  if (bare6 !== undefined) return withPort(formatIPv6(bare6), 'ipv6', undefined);
  const colons = text.split(':').length - 1;
  if (colons > 1) {
    return { ok: false, error: `${q} is not a valid address (an IPv6 address with a port must be bracketed: [ADDRESS]:PORT)` };
  }
  const [host, portText] = colons === 1 ? [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':') + 1)] : [text, undefined];
  const v4 = parseIPv4(host);
  if (v4 !== undefined) return withPort(formatIPv4(v4), 'ipv4', portText);
  const why = hostnameError(host);
  if (why !== undefined) return { ok: false, error: `bad host in ${q}: ${why}` };
  return withPort(host, 'hostname', portText);
}

export function formatHostPort(hp: HostPort): string {
  return hp.kind === 'ipv6' ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

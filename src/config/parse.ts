// Network config file parser: text in, NetworkConfig out, no I/O. The file format and the
// decisions behind it are described in docs/CONFIG.md.
//
// Parsing runs in two passes. The first reads each line on its own (syntax, tokens, values);
// the second checks the file as a whole (required and duplicate entries, addresses against
// subnets, proof of work, room for allocation). Every problem found in either pass is
// collected; if there is any, one ConfigError listing all of them is thrown, sorted by line.
// Only a file without errors gets its overlay addresses allocated.
import { isKeyText, KEY_FORMS, KeyError, keyToBase64, parseKey } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import { MAX_WORKBIT, workbit as keyWorkbit } from '../crypto/workbit.js';
import { DEFAULT_NAMESPACE } from '../params.js';
import { allocateAddresses, allocationCapacity } from './allocate.js';
import { ConfigError, quoteToken, type ConfigIssue } from './errors.js';
import { formatHostPort, parseHostPort, peerNameError, type HostPort } from './host.js';
import { cidrContains, cidrLast, type Family, formatCidr, formatIp, type IpAddress, parseCidr, parseIp } from '../util/ip.js';
import type { Boot, NetworkConfig, Peer, Subnet } from './types.js';

import { DIRECTIVES, type Directive } from './directives.js';
import { suggestDirective } from './suggest.js';
import { namesError, parseSwitch } from './names.js';
import { parseMetricsLine, type MetricsListen } from './metrics.js';
import { parseListenLine, parseWsUrl, type WsListen } from './wslisten.js';
import { parseProxyLine, type ProxySetting } from './proxy.js';
export { DIRECTIVES, type Directive } from './directives.js';
export { editDistance, suggestDirective } from './suggest.js';

const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
const TRUST_USAGE = 'trust [HOSTNAME] [IP] KEY [HOST:PORT]';
const PEER_USAGE = 'peer [HOSTNAME] KEY [HOST:PORT]';
const BOOT_USAGE = 'boot KEY HOST[:PORT], or boot KEY ws://HOST[:PORT][/PATH]';

interface RawPeer {
  trusted: boolean;
  hostname?: string;
  ip?: IpAddress;
  key: Uint8Array;
  keyB64: string;
  endpoint?: HostPort;
  line: number;
}

/** A token that was probably meant as a key (so the key's own error is the useful one). */
function looksLikeKeyAttempt(tok: string): boolean {
  return /^[A-Za-z0-9+/_-]*=*$/.test(tok) && (tok.endsWith('=') || (tok.length >= 40 && tok.length <= 48));
}

function keyErrorMessage(tok: string, what: string): string {
  try {
    parseKey(tok, what);
    return `${what} ${tok} is not acceptable here`;
  } catch (err) {
    // A near-key is described, not quoted: it may be a private key pasted by mistake.
    const got = looksLikeKeyAttempt(tok) ? `${[...tok].length} characters of base64` : quoteToken(tok);
    if (err instanceof KeyError) return `${what} is not a WireGuard key (expected ${KEY_FORMS}, got ${got})`;
    throw err;
  }
}

function plural(n: number | bigint, word: string, pluralWord = word + 's'): string {
  return `${n} ${n === 1 || n === 1n ? word : pluralWord}`;
}

/**
 * Parses the text of a network config file. `file` is only used in error messages and
 * copied to the result. Throws ConfigError listing every problem found.
 */
export function parseConfig(text: string, file: string, sodium: Sodium): NetworkConfig {
  const issues: ConfigIssue[] = [];
  const fail = (line: number, message: string): void => { issues.push({ file, line, message }); };

  const firstLine = new Map<Directive, number>();
  /** For directives allowed once: records the first line, reports later ones. */
  const once = (d: Directive, line: number): boolean => {
    const first = firstLine.get(d);
    if (first !== undefined) {
      fail(line, `duplicate "${d}" directive (already given on line ${first}; it may appear only once)`);
      return false;
    }
    firstLine.set(d, line);
    return true;
  };
  const arity = (d: Directive, args: string[], line: number, usage: string): boolean => {
    if (args.length === 1) return true;
    fail(line, `"${d}" takes exactly one argument, got ${args.length === 0 ? 'none' : args.length} (usage: ${usage})`);
    return false;
  };

  let name: string | undefined;
  let namespace: string | undefined;
  let workbit = 0;
  const subnets: { v4?: Subnet; v6?: Subnet } = {};
  const boots: Boot[] = [];
  const raws: RawPeer[] = [];
  let firstTrustLine: number | undefined;
  let sawSubnet = false;
  const names = { hosts: false, dns: false };
  let metrics: MetricsListen | undefined;
  let listen: WsListen | undefined;
  let proxy: ProxySetting | undefined;

  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const hash = rawLine.indexOf('#');
    const content = hash >= 0 ? rawLine.slice(0, hash) : rawLine;
    const tokens = content.split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) return;
    const [word, ...args] = tokens as [string, ...string[]];

    switch (word) {
      case 'name': {
        if (!once('name', line) || !arity('name', args, line, 'name NAME')) return;
        const v = args[0]!;
        if (!NAME_RE.test(v)) {
          fail(line, `invalid network name ${quoteToken(v)} (1 to 32 characters: letters, digits, '_', '.', '-')`);
          return;
        }
        name = v;
        return;
      }
      case 'namespace': {
        if (!once('namespace', line) || !arity('namespace', args, line, 'namespace STRING')) return;
        namespace = args[0]!;
        return;
      }
      case 'workbit': {
        if (!once('workbit', line) || !arity('workbit', args, line, 'workbit N')) return;
        const v = args[0]!;
        if (!/^\d{1,3}$/.test(v) || Number(v) > MAX_WORKBIT) {
          fail(line, `invalid workbit ${quoteToken(v)} (expected an integer from 0 to ${MAX_WORKBIT})`);
          return;
        }
        workbit = Number(v);
        return;
      }
      case 'subnet': {
        sawSubnet = true;
        if (!arity('subnet', args, line, 'subnet ADDRESS/PREFIX')) return;
        const r = parseCidr(args[0]!);
        if (!r.ok) { fail(line, `invalid subnet: ${r.error}`); return; }
        const slot = r.cidr.family === 4 ? 'v4' : 'v6';
        const prev = subnets[slot];
        if (prev) {
          fail(line, `a second IPv${r.cidr.family} subnet (${formatCidr(r.cidr)}; the first is ${prev.text} on line ${prev.line}); at most one IPv4 and one IPv6 subnet are allowed`);
          return;
        }
        subnets[slot] = { ...r.cidr, text: formatCidr(r.cidr), line };
        return;
      }
      case 'boot': {
        if (args.length !== 2) {
          fail(line, `"boot" takes a key and an address, got ${args.length === 0 ? 'nothing' : plural(args.length, 'argument')} (usage: ${BOOT_USAGE})`);
          return;
        }
        let key: Uint8Array | undefined;
        try {
          key = parseKey(args[0]!, 'boot key');
        } catch (err) {
          if (!(err instanceof KeyError)) throw err;
          fail(line, `${keyErrorMessage(args[0]!, 'boot key')} (usage: ${BOOT_USAGE})`);
        }
        if (/^wss?:\/\//i.test(args[1]!)) {
          const u = parseWsUrl(args[1]!);
          if (!u.ok) fail(line, `invalid boot URL: ${u.error} (usage: ${BOOT_USAGE})`);
          if (key && u.ok) boots.push({ key, keyB64: keyToBase64(key), host: u.value.host, hostKind: u.value.kind, port: u.value.port, ws: u.value, line });
          return;
        }
        const hp = parseHostPort(args[1]!);
        if (!hp.ok) fail(line, `invalid boot address: ${hp.error}`);
        if (key && hp.ok) boots.push({ key, keyB64: keyToBase64(key), host: hp.value.host, hostKind: hp.value.kind, port: hp.value.port, line });
        return;
      }
      case 'hosts':
      case 'dns': {
        if (!once(word, line)) return;
        const v = parseSwitch(word, args, line, fail);
        if (v !== undefined) names[word] = v;
        return;
      }
      case 'metrics': if (once('metrics', line)) metrics = parseMetricsLine(args, line, fail); return;
      case 'listen': if (once('listen', line)) listen = parseListenLine(args, line, fail); return;
      case 'proxy': if (once('proxy', line)) proxy = parseProxyLine(args, line, fail); return;
      case 'trust':
      case 'peer': {
        const trusted = word === 'trust';
        if (trusted) firstTrustLine ??= line;
        const raw = parsePeerLine(trusted, args, line, fail);
        if (raw) raws.push(raw);
        return;
      }
      default: {
        const s = suggestDirective(word);
        fail(line, `unknown directive ${quoteToken(word)}${s ? ` (did you mean "${s}"?)` : ` (known directives: ${DIRECTIVES.join(', ')})`}`);
      }
    }
  });

  // ---- Whole-file checks ----

  if (name === undefined && !firstLine.has('name')) {
    fail(1, 'missing "name" directive (every network config needs exactly one "name NAME" line)');
  }
  // The namespace is that of the DHT the node joins: the public one unless a line says otherwise
  // (it used to be the network name; a file made for that needs `namespace NAME`, see the hint).
  const ns = namespace ?? DEFAULT_NAMESPACE;

  // Proof of work: every key the file names must reach the network's workbit.
  if (workbit > 0) {
    const check = (key: Uint8Array, keyB64: string, line: number, what: string): void => {
      const w = keyWorkbit(sodium, key, ns);
      if (w >= workbit) return;
      const old = namespace === undefined && name !== undefined && keyWorkbit(sodium, key, name) >= workbit
        ? ` (it has it in namespace ${quoteToken(name)}: the namespace no longer defaults to the network name; add "namespace ${name}")` : '';
      fail(line, `${what} ${keyB64} has workbit ${w} in namespace ${quoteToken(ns)}, below the network's workbit ${workbit}${old}`);
    };
    for (const b of boots) check(b.key, b.keyB64, b.line, 'boot key');
    for (const p of raws) check(p.key, p.keyB64, p.line, 'key');
  }

  // Keys: unique among trust+peer lines, and unique among boot lines (a node may be both).
  const peerKeys = new Map<string, number>();
  for (const p of raws) {
    const first = peerKeys.get(p.keyB64);
    if (first !== undefined) fail(p.line, `key ${p.keyB64} is already listed on line ${first} (a key may appear in only one trust or peer line)`);
    else peerKeys.set(p.keyB64, p.line);
  }
  // A boot key may have one line per address (a dual-stack boot node: its IPv4 and its IPv6
  // address), never the same address twice; a ws:// line's TCP port is not a UDP line's port.
  const bootKeys = new Map<string, number>();
  for (const b of boots) {
    const id = `${b.keyB64} ${b.ws !== undefined ? 'ws ' : ''}${formatHostPort({ host: b.host.toLowerCase(), kind: b.hostKind, port: b.port })}`;
    const first = bootKeys.get(id);
    if (first !== undefined) fail(b.line, `boot key ${b.keyB64} is already listed with this address on line ${first}`);
    else bootKeys.set(id, b.line);
  }

  // Hostnames: unique (case-insensitively), and never equal to another peer's address text.
  // (The hostname rules already refuse anything shaped like an IP address; the second check
  // keeps the names unambiguous should those rules ever be relaxed.)
  const hostnames = new Map<string, number>();
  const ipTexts = new Map<string, number>();
  for (const p of raws) if (p.ip) ipTexts.set(formatIp(p.ip.family, p.ip.value), p.line);
  for (const p of raws) {
    if (p.hostname === undefined) continue;
    const h = p.hostname.toLowerCase();
    const first = hostnames.get(h);
    if (first !== undefined) fail(p.line, `hostname ${quoteToken(p.hostname)} is already used on line ${first}`);
    else hostnames.set(h, p.line);
    const ipLine = ipTexts.get(h);
    if (ipLine !== undefined && ipLine !== p.line) fail(p.line, `hostname ${quoteToken(p.hostname)} is the address of the peer on line ${ipLine}`);
  }

  // Trusted peers need a subnet to get addresses from.
  const anySubnet = subnets.v4 !== undefined || subnets.v6 !== undefined;
  if (firstTrustLine !== undefined && !sawSubnet) {
    fail(firstTrustLine, '"trust" needs a "subnet" line: trusted peers get overlay addresses, but no subnet is configured');
  }

  // Explicit addresses: inside the subnet of their family, not reserved, unique.
  const explicitTaken: Record<Family, Map<bigint, number>> = { 4: new Map(), 6: new Map() };
  for (const p of raws) {
    if (!p.ip || !anySubnet) continue;
    const { family, value } = p.ip;
    const text = formatIp(family, value);
    const subnet = family === 4 ? subnets.v4 : subnets.v6;
    if (!subnet) {
      fail(p.line, `IPv${family} address ${text} but no IPv${family} subnet is configured`);
      continue;
    }
    if (!cidrContains(subnet, p.ip)) { fail(p.line, `address ${text} is outside the subnet ${subnet.text}`); continue; }
    if (value === subnet.network) { fail(p.line, `address ${text} is the network address of ${subnet.text}`); continue; }
    if (family === 4 && value === cidrLast(subnet)) { fail(p.line, `address ${text} is the broadcast address of ${subnet.text}`); continue; }
    const first = explicitTaken[family].get(value);
    if (first !== undefined) { fail(p.line, `address ${text} is already assigned on line ${first}`); continue; }
    explicitTaken[family].set(value, p.line);
  }

  // Room for allocation, per family.
  const needing = (family: Family): RawPeer[] => raws.filter((p) => p.trusted && p.ip?.family !== family);
  for (const subnet of [subnets.v4, subnets.v6]) {
    if (!subnet) continue;
    const need = needing(subnet.family).length;
    if (need === 0) continue;
    const room = allocationCapacity(subnet, explicitTaken[subnet.family].keys());
    if (BigInt(need) > room) {
      const tiny = room === 0n && subnet.family === 4 && subnet.prefix >= 31 ? ' (an IPv4 /31 or /32 has no usable host address)' : '';
      fail(subnet.line, `subnet ${subnet.text} has room for ${plural(room, 'allocated address', 'allocated addresses')}${tiny}, but ${plural(need, 'trusted peer')} without an explicit IPv${subnet.family} address need${need === 1 ? 's' : ''} one`);
    }
  }

  // Published names are NAME.NETWORK: the network name must be a DNS name then.
  for (const d of ['hosts', 'dns'] as const) {
    const why = names[d] && name !== undefined ? namesError(name) : undefined;
    if (why !== undefined) fail(firstLine.get(d)!, `"${d} yes" publishes names under the network name, but ${why}`);
  }

  if (issues.length > 0 || name === undefined) {
    throw new ConfigError([...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }

  // ---- Allocation ----
  const peers: Peer[] = raws.map((p) => {
    const peer: Peer = { trusted: p.trusted, key: p.key, keyB64: p.keyB64, ipv4Explicit: false, ipv6Explicit: false, line: p.line };
    if (p.hostname !== undefined) peer.hostname = p.hostname;
    if (p.ip?.family === 4) { peer.ipv4 = formatIp(4, p.ip.value); peer.ipv4Explicit = true; }
    if (p.ip?.family === 6) { peer.ipv6 = formatIp(6, p.ip.value); peer.ipv6Explicit = true; }
    if (p.endpoint) peer.endpoint = p.endpoint;
    return peer;
  });
  for (const subnet of [subnets.v4, subnets.v6]) {
    if (!subnet) continue;
    const fam = subnet.family;
    const todo = peers.filter((p) => p.trusted && (fam === 4 ? !p.ipv4Explicit : !p.ipv6Explicit));
    const taken = new Set(explicitTaken[fam].keys());
    const addrs = allocateAddresses(sodium, subnet, todo.map((p) => p.key), taken);
    todo.forEach((p, i) => {
      const text = formatIp(fam, addrs[i]!);
      if (fam === 4) p.ipv4 = text;
      else p.ipv6 = text;
    });
  }

  return { file, name, namespace: ns, workbit, subnets, boots, peers, names, ...(metrics ? { metrics } : {}), ...(listen ? { listen } : {}), ...(proxy ? { proxy } : {}) };
}

/** Stray tokens, for an error: at most 3, each cut short (quoteToken), a key-shaped one (maybe
 *  a pasted private key) not quoted at all. */
function describeExtra(tokens: string[]): string {
  const shown = tokens.slice(0, 3).map((t) => (isKeyText(t) || looksLikeKeyAttempt(t) ? 'a key' : quoteToken(t)));
  return shown.join(' ') + (tokens.length > 3 ? ` and ${tokens.length - 3} more` : '');
}

/** Reads the arguments of one trust/peer line; reports problems through `fail`. */
function parsePeerLine(trusted: boolean, args: string[], line: number, fail: (line: number, message: string) => void): RawPeer | undefined {
  const d = trusted ? 'trust' : 'peer';
  const usage = trusted ? TRUST_USAGE : PEER_USAGE;
  if (args.length === 0) {
    fail(line, `"${d}" needs at least a key (usage: ${usage})`);
    return undefined;
  }
  const keyIdx = args.findIndex((t) => isKeyText(t));
  if (keyIdx < 0) {
    const attempt = args.find(looksLikeKeyAttempt);
    fail(line, attempt !== undefined ? `${keyErrorMessage(attempt, 'key')} (usage: ${usage})` : `missing key (usage: ${usage})`);
    return undefined;
  }
  let ok = true;
  const bad = (message: string): void => { fail(line, message); ok = false; };
  let hostname: string | undefined;
  let ip: IpAddress | undefined;
  let ipText = '';
  for (const tok of args.slice(0, keyIdx)) {
    const addr = parseIp(tok);
    if (addr) {
      if (!trusted) bad(`"peer" lines take no IP address (${tok}): untrusted peers get no overlay address; use "trust" to give one (usage: ${usage})`);
      else if (ip) bad(`two IP addresses (${ipText} and ${tok}); a trust line takes at most one (usage: ${usage})`);
      else { ip = addr; ipText = tok; }
      continue;
    }
    if (looksLikeKeyAttempt(tok)) { bad(keyErrorMessage(tok, 'key')); continue; }
    if (tok.includes('/') && parseCidr(tok).ok) {
      bad(`${tok} is a subnet; ${trusted ? 'a trust line takes a single address' : 'peer lines take no address'} (usage: ${usage})`);
      continue;
    }
    const why = peerNameError(tok);
    if (why !== undefined) { bad(why); continue; }
    if (hostname !== undefined) { bad(`two hostnames (${quoteToken(hostname)} and ${quoteToken(tok)}); at most one per line (usage: ${usage})`); continue; }
    hostname = tok;
  }
  let endpoint: HostPort | undefined;
  const after = args.slice(keyIdx + 1);
  if (after.length > 0) {
    const tok = after[0]!;
    if (isKeyText(tok)) {
      // Not quoted: a second key on a line is as likely a pasted private key as a public one.
      bad(`a second key after the key; one key per line (usage: ${usage})`);
    } else {
      const r = parseHostPort(tok, { requirePort: true });
      if (r.ok) endpoint = r.value;
      else {
        const hint = peerNameError(tok) === undefined ? '; to name the peer, put the hostname before the key' : '';
        bad(`invalid endpoint: ${r.error}${hint} (usage: ${usage})`);
      }
    }
    if (after.length > 1) bad(`unexpected extra ${after.length === 2 ? 'token' : 'tokens'} after the endpoint: ${describeExtra(after.slice(1))} (usage: ${usage})`);
  }
  if (!ok) return undefined;
  const key = parseKey(args[keyIdx]!);
  const raw: RawPeer = { trusted, key, keyB64: keyToBase64(key), line };
  if (hostname !== undefined) raw.hostname = hostname;
  if (ip) raw.ip = ip;
  if (endpoint) raw.endpoint = endpoint;
  return raw;
}

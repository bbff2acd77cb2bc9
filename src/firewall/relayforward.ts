// The kernel data path of a relay (docs/NAT.md "Relaying in the kernel"): WireGuard datagrams
// between the two members of a relay session are forwarded by nftables in the netdev ingress
// hook, by a stateless rewrite of addresses and ports, and never enter Node.js.
//
// Each session has its own UDP port S on the relay; member A (seen at a:pa from S) and member B
// (seen at b:pb) both send their WireGuard traffic to relay:S. The table, for sessions S1, S2…:
//
//   table netdev TABLE {
//     counter malformed { }
//     limit global { rate over G/second burst G/10 packets }
//     limit sS1 { rate over P/second burst P/10 packets }        # one per session
//     map ports {                                                  # session port -> its chain
//       type inet_service : verdict; flags timeout
//       elements = { S1 timeout T : jump sS1, … }
//     }
//     chain sS1 {                                                  # one per session
//       ip frag-off & 0x3fff != 0 return
//       @th,64,32 != { 0x01000000, 0x02000000, 0x03000000, 0x04000000 } return
//       @th,64,32 0x01000000 udp length != 156 counter name "malformed" drop   # (the WireGuard
//       @th,64,32 0x02000000 udp length != 100 counter name "malformed" drop   #  shape rules,
//       @th,64,32 0x03000000 udp length != 72 counter name "malformed" drop    #  see below)
//       @th,64,32 0x04000000 udp length < 40 counter name "malformed" drop
//       @th,64,32 0x04000000 udp length < M udp length & 0xf != 8 counter name "malformed" drop
//       ip saddr a udp sport pa limit name "sS1" drop
//       ip saddr a udp sport pa limit name "global" drop
//       ip saddr a udp sport pa counter ip saddr set ip daddr ip daddr set b udp sport set S1 udp dport set pb fwd ip to HOP_B device "DEV_B"
//       (the same three rules from b to a)
//       counter drop
//     }
//     chain in0 {                                                  # one per ingress device
//       type filter hook ingress device "DEV" priority filter; policy accept;
//       meta protocol ip fib daddr type local udp dport vmap @ports
//     }
//   }
//
// - Only what is shaped like WireGuard is forwarded: the first four payload bytes (`@th,64,32`,
//   after the 8-byte UDP header) must be a WireGuard type 1..4 followed by three zero bytes,
//   and the length must be that type's: handshake initiation 148 bytes (UDP length 156),
//   response 92 (100), cookie reply 64 (72), transport data at least 32 with (length - 16) a
//   multiple of 16 (16-byte header and tag around padded plaintext: UDP length & 15 == 8),
//   unless it is at least M = 8 + 32 + RELAY_WG_MIN_MTU long (WireGuard pads up to the
//   sender's tunnel MTU at most, so a full-size message may have any length).
//   A datagram with a WireGuard type and another length is dropped and counted (`malformed`).
//   Everything else sent to S (the members' sealed `relay-bind` requests, anything else) goes
//   up to the daemon's socket on S, which drops what is not a valid request. A WireGuard
//   message from anyone but the two members is dropped here (`counter drop`).
// - IP fragments go up to the stack (`frag-off`: more-fragments flag or an offset): ingress sees
//   each fragment alone, and only the first has a UDP header. The stack reassembles them and
//   the daemon forwards the datagram from the socket on S (src/relay/kernel.ts), after the same
//   shape check (src/relay/wgshape.ts).
// - `ip saddr set ip daddr`: the datagram leaves from the address it was sent to, so each member
//   sees the other's traffic come from relay:S, the address it sends to (its NAT keeps the
//   mapping open). nft fixes the IPv4 and UDP checksums when it rewrites addresses and ports.
//   Only datagrams addressed to one of the relay's own (unicast) addresses enter a session
//   (`fib daddr type local`): else a member on the relay's link could hand it datagrams for any
//   address, or a broadcast address, and have them sent on with that address as their source;
//   and datagrams the relay routes for other hosts are never taken for a session's.
// - `fwd ip to HOP device DEV` hands the datagram to the next hop (the member itself on the same
//   link, else the gateway `ip route get` names) without the IP stack: no routing decision, no
//   `ip_forward`, no conntrack, no martian-source check, whatever the host's own firewall does.
// - The verdict map keeps the cost for the host's other traffic at one hash lookup per datagram.
//   Its elements expire (`timeout`) unless the daemon refreshes them (refreshRelayForward): a
//   relay whose daemon died (SIGKILL) stops forwarding after at most T by itself.
// - Rate limits: per session (both directions share one limit object) and for all sessions,
//   counted on the members' datagrams only, so that nobody else can use them up. The session's
//   limit is checked first, and is the fair share min(P, G / sessions): a session over its
//   share is dropped before it takes anything from the global budget, and the shares of all
//   sessions add up to at most G, so two flooding sessions cannot starve a third.
// - IPv4 only: the DHT socket is IPv4 (docs/NAT.md).
// installRelayForward replaces the table atomically ("add table; delete table; table {…}").
import { isIPv4 } from 'node:net';
import { runTool, NFT, IP, findExecutable } from '../util/exec.js';
import { isInterfaceName } from '../wg/names.js';
import { validateTableName } from './portshare.js';
import { FirewallError, nftTables, runNft } from './nft.js';
import { RELAY_WG_MIN_MTU } from '../params.js';

/** Where datagrams for one member leave: the device and the next hop's IPv4 address. */
export interface Hop {
  dev: string;
  via: string;
}

export interface ForwardMember {
  host: string;
  port: number;
  /** Route towards the member: also the device its datagrams arrive on. */
  hop: Hop;
}

export interface ForwardSession {
  /** The session's UDP port on the relay. */
  port: number;
  a: ForwardMember;
  b: ForwardMember;
}

export interface ForwardLimits {
  /** Most packets per second of one session (its share is at most globalPps / sessions). */
  sessionPps: number;
  globalPps: number;
  /** Seconds a session's map element lives without a refresh. */
  expirySeconds: number;
}

const WG_TYPES = '{ 0x01000000, 0x02000000, 0x03000000, 0x04000000 }';

function checkMember(m: ForwardMember): void {
  if (!isIPv4(m.host) || !isIPv4(m.hop.via)) throw new FirewallError(`relay forwarding is IPv4 only (${m.host} via ${m.hop.via})`);
  if (!Number.isInteger(m.port) || m.port < 1 || m.port > 65535) throw new FirewallError(`bad member port ${m.port}`);
  if (!isInterfaceName(m.hop.dev)) throw new FirewallError(`bad device name ${JSON.stringify(m.hop.dev)}`);
}

function checkRate(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new FirewallError(`${what} ${n} is not a positive integer`);
  return n;
}

const burst = (pps: number) => Math.max(1, Math.round(pps / 10));

/** One session's rate: its fair share of the global budget, at most `sessionPps`. Pure. */
export function sessionShare(limits: Pick<ForwardLimits, 'sessionPps' | 'globalPps'>, sessions: number): number {
  return Math.max(1, Math.min(limits.sessionPps, Math.floor(limits.globalPps / Math.max(1, sessions))));
}

/** WireGuard's message shapes (type 1..4 and their lengths): anything else is not relayed. */
const SHAPE_RULES = [
  '@th,64,32 0x01000000 udp length != 156 counter name "malformed" drop',
  '@th,64,32 0x02000000 udp length != 100 counter name "malformed" drop',
  '@th,64,32 0x03000000 udp length != 72 counter name "malformed" drop',
  '@th,64,32 0x04000000 udp length < 40 counter name "malformed" drop',
  `@th,64,32 0x04000000 udp length < ${8 + 32 + RELAY_WG_MIN_MTU} udp length & 0xf != 8 counter name "malformed" drop`,
];

const element = (port: number, expiry: number) => `${port} timeout ${expiry}s : jump s${port}`;

/** The rules that forward `from`'s datagrams to `to` through session port `port`, within the
 *  global and the session's rate limits. */
function forwardRules(port: number, from: ForwardMember, to: ForwardMember): string[] {
  const match = `ip saddr ${from.host} udp sport ${from.port}`;
  return [
    `    ${match} limit name "s${port}" drop`,
    `    ${match} limit name "global" drop`,
    `    ${match} counter ip saddr set ip daddr ip daddr set ${to.host} ` +
      `udp sport set ${port} udp dport set ${to.port} fwd ip to ${to.hop.via} device "${to.hop.dev}"`,
  ];
}

/** The nft script for these sessions (a table that forwards nothing when there are none). Pure. */
export function relayForwardRules(table: string, sessions: readonly ForwardSession[], limits: ForwardLimits): string {
  validateTableName(table);
  const global = checkRate(limits.globalPps, 'global rate');
  checkRate(limits.sessionPps, 'session rate');
  const expiry = checkRate(limits.expirySeconds, 'expiry');
  const ports = new Set<number>();
  const devices = new Set<string>();
  for (const s of sessions) {
    if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new FirewallError(`bad session port ${s.port}`);
    if (ports.has(s.port)) throw new FirewallError(`session port ${s.port} used twice`);
    ports.add(s.port);
    checkMember(s.a);
    checkMember(s.b);
    devices.add(s.a.hop.dev).add(s.b.hop.dev);
  }
  const per = sessionShare(limits, sessions.length);
  const out = [`table netdev ${table} {`, '  counter malformed {', '  }', '  limit global {', `    rate over ${global}/second burst ${burst(global)} packets`, '  }'];
  for (const s of sessions) {
    out.push(`  limit s${s.port} {`, `    rate over ${per}/second burst ${burst(per)} packets`, '  }');
    out.push(
      `  chain s${s.port} {`,
      '    ip frag-off & 0x3fff != 0 return',
      `    @th,64,32 != ${WG_TYPES} return`,
      ...SHAPE_RULES.map((r) => `    ${r}`),
      ...forwardRules(s.port, s.a, s.b),
      ...forwardRules(s.port, s.b, s.a),
      '    counter drop',
      '  }',
    );
  }
  if (sessions.length > 0) {
    out.push(
      '  map ports {',
      '    type inet_service : verdict',
      '    flags timeout',
      `    elements = { ${sessions.map((s) => element(s.port, expiry)).join(', ')} }`,
      '  }',
    );
    [...devices].sort().forEach((dev, i) => {
      out.push(
        `  chain in${i} {`,
        `    type filter hook ingress device "${dev}" priority filter; policy accept;`,
        '    meta protocol ip fib daddr type local udp dport vmap @ports',
        '  }',
      );
    });
  }
  out.push('}');
  return out.join('\n') + '\n';
}

function nft(input: string): Promise<string> {
  return runNft(['-f', '-'], { input }, 'relaying in the kernel');
}

/** Installs (or atomically replaces) the relay's forwarding table. */
export async function installRelayForward(table: string, sessions: readonly ForwardSession[], limits: ForwardLimits): Promise<void> {
  const rules = relayForwardRules(table, sessions, limits);
  await nft(`add table netdev ${table}\ndelete table netdev ${table}\n${rules}`);
}

/** The nft script that restarts the expiry of these session ports' map elements (each: add,
 *  a no-op when it exists; delete; add again, in one transaction). Pure. */
export function relayForwardRefreshRules(table: string, ports: readonly number[], expirySeconds: number): string {
  validateTableName(table);
  const expiry = checkRate(expirySeconds, 'expiry');
  const out: string[] = [];
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new FirewallError(`bad session port ${p}`);
    const el = element(p, expiry);
    out.push(`add element netdev ${table} ports { ${el} }`, `delete element netdev ${table} ports { ${p} }`, `add element netdev ${table} ports { ${el} }`);
  }
  return out.join('\n') + '\n';
}

/** Restarts the expiry of the installed sessions (the table must hold exactly these ports). */
export async function refreshRelayForward(table: string, ports: readonly number[], expirySeconds: number): Promise<void> {
  if (ports.length === 0) return;
  await nft(relayForwardRefreshRules(table, ports, expirySeconds));
}

/** Deletes the forwarding table; no error when it is absent or nft is not installed. */
export async function removeRelayForward(table: string): Promise<void> {
  validateTableName(table);
  if (findExecutable(NFT.cmd, true) === undefined) return;
  await nft(`add table netdev ${table}\ndelete table netdev ${table}\n`);
}

/** Whether the forwarding table exists. */
export async function relayForwardInstalled(table: string): Promise<boolean> {
  validateTableName(table);
  return (await nftTables().catch(() => new Set<string>())).has(`netdev ${table}`);
}

/** The device and next hop towards an IPv4 host, from the kernel's routing table; undefined
 *  when there is no route or the host is this host's own (forwarding to it makes no sense). */
export async function routeTo(host: string): Promise<Hop | undefined> {
  if (!isIPv4(host)) return undefined;
  let out: string;
  try {
    out = await runTool(IP, ['-j', 'route', 'get', host]);
  } catch {
    return undefined;
  }
  return parseRouteGet(out, host);
}

/** Parses `ip -j route get HOST`. Pure. */
export function parseRouteGet(json: string, host: string): Hop | undefined {
  let routes: unknown;
  try {
    routes = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(routes) || routes.length === 0) return undefined;
  const r = routes[0] as { type?: unknown; dev?: unknown; gateway?: unknown } | null;
  if (typeof r !== 'object' || r === null) return undefined;
  if (typeof r.dev !== 'string' || r.dev === 'lo' || !isInterfaceName(r.dev)) return undefined;
  if (r.type !== undefined && r.type !== 'unicast') return undefined; // local, broadcast…
  const via = typeof r.gateway === 'string' ? r.gateway : host;
  return isIPv4(via) ? { dev: r.dev, via } : undefined;
}

// One UDP port shared by WireGuard and the daemon (docs/PROTOCOL.md section 4), with a
// stateless nftables rewrite. WireGuard listens on wgPort P; the daemon binds daemonPort D.
//
//   table ip|ip6 TABLE {
//     chain pre {     # inbound: daemon datagrams (first payload byte = marker) to P go to D
//       type filter hook prerouting priority raw; policy accept;
//       udp dport P @th,64,8 MARKER fib daddr type local notrack udp dport set D
//     }
//     chain out {     # outbound: everything the daemon sends from D leaves from P
//       type filter hook output priority raw; policy accept;
//       udp sport D notrack udp sport set P
//     }
//   }
//
// - `@th,64,8` is the first byte of the UDP payload (bit 64 of the transport header). WireGuard
//   messages start with 1..4, the daemon's with MAGIC (0xF7), so nothing of WireGuard's is
//   steered. `notrack` at raw priority (-300, before conntrack) keeps these packets out of
//   conntrack: no entry clashes with WireGuard's own flows on P, and a NAT in front of the node
//   sees a single port. nft fixes the UDP checksum when it rewrites a port.
// - `fib daddr type local`: only datagrams addressed to this host are steered, never ones this
//   host forwards (a router or container host running another node on the same port).
// - Locally generated datagrams (two nodes in one namespace, or on loopback) need no output
//   rule for P: a packet sent to a local address goes out through `lo` and comes back in
//   through prerouting, where `pre` steers it; the e2e test checks it. An output rule
//   rewriting dport P would be wrong: it would also hit datagrams to remote nodes that use the
//   same port number.
// - Port D must be used by the daemon only: every datagram leaving it is rewritten.
// - Both the ip and the ip6 table are installed (one script, applied atomically by `nft -f`).
//   nft 1.0.6 wants each rule and each closing brace on its own line.
// - Table names: `wirehub-<iface>`. nft identifiers are [A-Za-z_.][A-Za-z0-9_./-]* (checked
//   with nft 1.0.6; quoted names are refused), and interface names may also hold '+' and '=',
//   which are written '/p' and '/e' ('/' never occurs in an interface name, so the mapping is
//   one-to-one): "wh-Ab+c" → "wirehub-wh-Ab/pc".
//
// installPortShare replaces a table of the same name in the same transaction ("add table;
// delete table; table {…}"), so it is atomic and needs no prior check; removePortShare deletes
// both tables and is a no-op when they are absent (or when nft is not installed at all).
import { MAGIC } from '../proto/packet.js';
import { isInterfaceName } from '../wg/names.js';
import { findExecutable, NFT } from '../util/exec.js';
import { FirewallError, nftTables, runNft } from './nft.js';

export { FirewallError };


export interface PortShareOptions {
  /** nft table name (both families); see portShareTableName */
  table: string;
  /** port WireGuard listens on, and the port the outside world sees for both */
  wgPort: number;
  /** local port the daemon binds */
  daemonPort: number;
  /** first payload byte of daemon datagrams; default MAGIC (0xF7) */
  marker?: number;
  /** named network namespace to apply the rules in (default: this process's) */
  netns?: string;
}

const NFT_IDENT = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;
const NFT_IDENT_MAX = 255;

/** The table name for interface `iface`: "wirehub-" + iface, '+' → '/p', '=' → '/e'. */
export function portShareTableName(iface: string): string {
  if (!isInterfaceName(iface)) throw new FirewallError(`cannot name a port-sharing table after ${JSON.stringify(iface)}: not an interface name`);
  return 'wirehub-' + iface.replace(/\+/g, '/p').replace(/=/g, '/e');
}

export function validateTableName(table: string): string {
  if (typeof table !== 'string' || !NFT_IDENT.test(table) || table.length > NFT_IDENT_MAX) {
    throw new FirewallError(`${JSON.stringify(table)} is not a valid nftables table name (letters, digits, _ . / -, not starting with a digit, '/' or '-')`);
  }
  return table;
}

function checkPort(p: number, what: string): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new FirewallError(`${what} ${String(p)} is not an integer in 1..65535`);
  return p;
}

/** The nft script for both families. Pure. */
export function portShareRules(opts: PortShareOptions): string {
  const table = validateTableName(opts.table);
  const wg = checkPort(opts.wgPort, 'WireGuard port');
  const d = checkPort(opts.daemonPort, 'daemon port');
  if (wg === d) throw new FirewallError(`the WireGuard port and the daemon port must differ (both ${wg})`);
  const marker = opts.marker ?? MAGIC;
  if (!Number.isInteger(marker) || marker < 0 || marker > 255) throw new FirewallError(`marker ${String(marker)} is not a byte`);
  if (marker >= 1 && marker <= 4) throw new FirewallError(`marker 0x${marker.toString(16)} would steer WireGuard messages (types 1..4)`);
  const hex = '0x' + marker.toString(16).padStart(2, '0');
  const out: string[] = [];
  for (const family of ['ip', 'ip6']) {
    out.push(
      `table ${family} ${table} {`,
      '  chain pre {',
      '    type filter hook prerouting priority raw; policy accept;',
      `    udp dport ${wg} @th,64,8 ${hex} fib daddr type local notrack udp dport set ${d}`,
      '  }',
      '  chain out {',
      '    type filter hook output priority raw; policy accept;',
      `    udp sport ${d} notrack udp sport set ${wg}`,
      '  }',
      '}',
    );
  }
  return out.join('\n') + '\n';
}

/** `nft ARGS` in `netns` (default: this process's namespace). */
function nft(args: string[], netns: string | undefined, input?: string): Promise<string> {
  return runNft(args, { ...(netns !== undefined ? { netns } : {}), ...(input !== undefined ? { input } : {}) }, 'sharing the UDP port');
}

/** Installs (or atomically replaces) both tables. */
export async function installPortShare(opts: PortShareOptions): Promise<void> {
  const rules = portShareRules(opts);
  const t = opts.table;
  const replace = `add table ip ${t}\ndelete table ip ${t}\nadd table ip6 ${t}\ndelete table ip6 ${t}\n`;
  await nft(['-f', '-'], opts.netns, replace + rules);
}

/** Deletes both tables; no error if they are absent or nft is not installed. */
export async function removePortShare(table: string, opts: { netns?: string } = {}): Promise<void> {
  const t = validateTableName(table);
  if (findExecutable(NFT.cmd, true) === undefined) return;
  await nft(['-f', '-'], opts.netns, `add table ip ${t}\ndelete table ip ${t}\nadd table ip6 ${t}\ndelete table ip6 ${t}\n`);
}

/** Which of the two tables exist. */
export async function portShareTables(table: string, opts: { netns?: string } = {}): Promise<{ ip: boolean; ip6: boolean }> {
  const t = validateTableName(table);
  const have = await nftTables(opts.netns);
  return { ip: have.has(`ip ${t}`), ip6: have.has(`ip6 ${t}`) };
}

/** True when both tables are installed. */
export async function portShareInstalled(table: string, opts: { netns?: string } = {}): Promise<boolean> {
  const s = await portShareTables(table, opts);
  return s.ip && s.ip6;
}

// Binds the daemon to the real system: WireGuard (src/wg) and nftables (src/firewall).
import { readlinkSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { socketOwners, socketPath as wgSocketPath } from '../wg/index.js';
import { socketPath as controlSocketPath } from '../control/protocol.js';
import { createInterface, detectBackend, findExecutable, installHint, interfaceNameForKey, validateInterfaceName } from '../wg/index.js';
import {
  installPortShare, installRelayForward, portShareTableName, refreshRelayForward, removePortShare, removeRelayForward, routeTo,
} from '../firewall/index.js';
import { ANY_HOST, UdpTransport } from '../net/udp.js';
import { RELAY_GLOBAL_PPS, RELAY_KERNEL_EXPIRY_SECONDS, RELAY_SESSION_PPS } from '../params.js';
import type { SystemDeps } from './dataplane.js';
import { WIREHUB_LINK_MARK } from './leftovers.js';
import { hostsFilePath, removeHostsBlockSync } from './hostsfile.js';

/** A UDP socket on a free port (a relay session's port, a `reach` check's fresh port). */
async function openUdpPort(): Promise<{ port: number; transport: UdpTransport }> {
  const transport = await UdpTransport.bind(ANY_HOST, 0);
  return { port: transport.local.port, transport };
}

export const systemDeps: SystemDeps = {
  // The link alias marks the interface as WireHub's (src/daemon/leftovers.ts).
  createDataPlane: (opts) => createInterface({ ...opts, alias: WIREHUB_LINK_MARK }),
  installPortShare: (opts) => installPortShare({ table: opts.table, wgPort: opts.wgPort, daemonPort: opts.daemonPort }),
  removePortShare: (table) => removePortShare(table),
  relayForward: (table) => ({
    install: (sessions) => installRelayForward(table, sessions, { sessionPps: RELAY_SESSION_PPS, globalPps: RELAY_GLOBAL_PPS, expirySeconds: RELAY_KERNEL_EXPIRY_SECONDS }),
    refresh: (ports) => refreshRelayForward(table, ports, RELAY_KERNEL_EXPIRY_SECONDS),
    remove: () => removeRelayForward(table),
    route: (host) => routeTo(host),
    openPort: openUdpPort,
  }),
  openPort: openUdpPort,
};

export function defaultInterfaceName(publicKeyB64: string): string {
  return interfaceNameForKey(publicKeyB64);
}

/** Undefined when `name` is a valid interface name, else the reason. */
export function interfaceNameError(name: string): string | undefined {
  try {
    validateInterfaceName(name);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export function tableFor(iface: string): string {
  return portShareTableName(iface);
}

/** Checks that WireGuard and nftables can be used; throws with the package to install. */
export async function checkSystem(_iface: string): Promise<void> {
  await detectBackend();
  if (findExecutable('nft', true) === undefined) {
    throw new Error(`nftables is needed to share the UDP port between WireGuard and the daemon, and \`nft\` is not installed: ${installHint('nftables')}`);
  }
}

/**
 * The last resort of a daemon process that exits before its cleanup finished (a crash whose
 * cleanup hung or threw, a process.exit from anywhere): removes synchronously, without
 * waiting for anything, what a run for `iface` leaves: the userspace WireGuard serving its
 * socket (SIGKILL), a kernel WireGuard link carrying WireHub's mark, the three nftables tables (port sharing ip/ip6,
 * relay forwarding netdev), the stale WireGuard socket (not one another process still serves),
 * its block in the hosts file and the control socket. Never throws.
 * Returns what it did, for the log.
 */
export function removeLeftoversSync(iface: string): string[] {
  const done: string[] = [];
  const attempt = (what: string, f: () => boolean) => {
    try { if (f()) done.push(what); } catch { /* go on with the rest */ }
  };
  const wgSock = wgSocketPath(iface);
  // Only a process in our own network namespace: the one we started (a socket of that name
  // served from another namespace is another node's).
  const netnsOf = (pid: number | 'self') => { try { return readlinkSync(`/proc/${pid}/ns/net`); } catch { return undefined; } };
  const ours = netnsOf('self');
  // The socket file goes only when nothing else serves it: every server was ours and killed.
  let foreign = false;
  for (const pid of socketOwners(wgSock)) {
    if (pid === process.pid || ours === undefined || netnsOf(pid) !== ours) { foreign = true; continue; }
    attempt(`killed wireguard pid ${pid}`, () => { process.kill(pid, 'SIGKILL'); return true; });
  }
  if (!foreign) attempt(`removed ${wgSock}`, () => { unlinkSync(wgSock); return true; });
  attempt(`deleted link ${iface}`, () => {
    const r = spawnSync('ip', ['-d', '-j', 'link', 'show', 'dev', iface], { encoding: 'utf8', timeout: 2000 });
    if (r.status !== 0) return false;
    const link = (JSON.parse(r.stdout) as { ifalias?: string; linkinfo?: { info_kind?: string } }[])[0];
    if (link?.ifalias !== WIREHUB_LINK_MARK || link.linkinfo?.info_kind !== 'wireguard') return false; // not ours, or a TUN that goes with its process
    return spawnSync('ip', ['link', 'del', 'dev', iface], { timeout: 2000 }).status === 0;
  });
  const table = tableFor(iface);
  for (const family of ['ip', 'ip6', 'netdev']) {
    attempt(`deleted nftables table ${family} ${table}`, () => spawnSync('nft', ['delete', 'table', family, table], { stdio: 'ignore', timeout: 2000 }).status === 0);
  }
  const hosts = hostsFilePath();
  attempt(`removed its block in ${hosts}`, () => removeHostsBlockSync(hosts, iface));
  attempt(`removed ${controlSocketPath(iface)}`, () => { unlinkSync(controlSocketPath(iface)); return true; });
  return done;
}

// What WireHub made, and removing what a dead run of it left behind, touching nothing else.
//
// The mark: every WireGuard interface a daemon creates carries the link alias "wirehub"
// (`ip link set dev NAME alias wirehub`, set in the same `ip -b -` batch that brings the link
// up; `ip link show` prints it). An interface NAME that exists without it (made by hand, by
// wg-quick, eth0) is not WireHub's: `wh up … interface NAME` and `wh down NAME` refuse it and
// leave it alone, as wg-quick refuses "NAME already exists". A userspace WireGuard serving
// /var/run/wireguard/NAME.sock with no link NAME in this network namespace is someone else's
// too (a node in another namespace, or a hand-made interface). nftables tables named
// "wirehub-…" (src/firewall) and sockets in WireHub's own run directory carry the mark in
// their name: WireHub reserves those names.
import { findExecutable, IP, tryTool } from '../util/exec.js';
import { destroyInterface, socketAccepts } from '../wg/interface.js';
import { socketPath as wgSocketPath } from '../wg/uapi.js';
import { hostsFilePath, removeHostsBlock } from './hostsfile.js';
import { portShareInstalled, portShareTableName, relayForwardInstalled, removePortShare, removeRelayForward } from '../firewall/index.js';

/** The link alias that marks an interface as made by WireHub. */
export const WIREHUB_LINK_MARK = 'wirehub';

/** An interface (or a name) that WireHub did not make; `reason` says what it is. */
export class NotOursError extends Error {
  constructor(readonly iface: string, readonly reason: string) {
    super(`${iface} was not made by WireHub (${reason})`);
  }
}

export type Ownership = { state: 'absent' } | { state: 'wirehub'; kind: string } | { state: 'foreign'; reason: string };

/** Whether interface `iface` exists here, and whether it carries WireHub's mark. */
export async function interfaceOwner(iface: string): Promise<Ownership> {
  // Without iproute2 (a public DHT node needs none) WireHub made no link here.
  const r = findExecutable(IP.cmd, IP.sbin) !== undefined
    ? await tryTool(IP, ['-d', '-j', 'link', 'show', 'dev', iface])
    : { code: 1, stdout: '', stderr: 'does not exist' };
  if (r.code === 0) {
    const link = (JSON.parse(r.stdout) as { ifalias?: string; linkinfo?: { info_kind?: string } }[])[0];
    const kind = link?.linkinfo?.info_kind ?? '';
    if (link?.ifalias === WIREHUB_LINK_MARK) return { state: 'wirehub', kind };
    return { state: 'foreign', reason: `a ${kind || 'network'} link without WireHub's mark, the alias "${WIREHUB_LINK_MARK}"` };
  }
  if (!/does not exist|cannot find device/i.test(r.stderr)) throw new Error(`\`ip link show dev ${iface}\` failed: ${r.stderr.trim()}`);
  const sock = wgSocketPath(iface);
  if (await socketAccepts(sock)) return { state: 'foreign', reason: `a userspace WireGuard serves ${sock}, with no link ${iface} in this network namespace` };
  return { state: 'absent' };
}

/** Removes what a dead run for `iface` left behind and returns what was removed; throws
 *  NotOursError, touching nothing, when an interface of that name is not WireHub's. */
export async function removeLeftovers(iface: string): Promise<string[]> {
  const owner = await interfaceOwner(iface);
  if (owner.state === 'foreign') throw new NotOursError(iface, owner.reason);
  const removed: string[] = [];
  if (owner.state === 'wirehub' && (await destroyInterface(iface))) removed.push(`interface ${iface}`);
  const table = portShareTableName(iface);
  if (await portShareInstalled(table).catch(() => false)) {
    await removePortShare(table);
    removed.push(`nftables table ${table}`);
  }
  if (await relayForwardInstalled(table).catch(() => false)) {
    await removeRelayForward(table);
    removed.push(`nftables table netdev ${table}`);
  }
  // Its block in the hosts file (`hosts yes`). A file that cannot be edited is left as it is:
  // a node that publishes there says why when it starts.
  const hosts = hostsFilePath();
  if (await removeHostsBlock(hosts, iface).catch(() => false)) {
    removed.push(`its block in ${hosts}`);
  }
  return removed;
}

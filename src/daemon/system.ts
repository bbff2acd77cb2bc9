// Binds the daemon to the real system: WireGuard (src/wg) and nftables (src/firewall).
import { createInterface, destroyInterface, detectBackend, findExecutable, installHint, interfaceNameForKey, validateInterfaceName } from '../wg/index.js';
import { installPortShare, portShareInstalled, portShareTableName, removePortShare } from '../firewall/index.js';
import type { SystemDeps } from './dataplane.js';

export const systemDeps: SystemDeps = {
  createDataPlane: (opts) => createInterface(opts),
  installPortShare: (opts) => installPortShare({ table: opts.table, wgPort: opts.wgPort, daemonPort: opts.daemonPort }),
  removePortShare: (table) => removePortShare(table),
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

/** Removes what a dead run for `iface` left behind; returns what was removed. */
export async function removeLeftovers(iface: string): Promise<string[]> {
  const removed: string[] = [];
  if (await destroyInterface(iface)) removed.push(`interface ${iface}`);
  const table = tableFor(iface);
  if (await portShareInstalled(table).catch(() => false)) {
    await removePortShare(table);
    removed.push(`nftables table ${table}`);
  }
  return removed;
}

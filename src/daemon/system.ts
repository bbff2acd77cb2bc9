// Binds the daemon to the real system: WireGuard (src/wg) and nftables (src/firewall).
import { createInterface, detectBackend, findExecutable, installHint, interfaceNameForKey, validateInterfaceName } from '../wg/index.js';
import { installPortShare, installRelayForward, portShareTableName, removePortShare, removeRelayForward, routeTo } from '../firewall/index.js';
import { UdpTransport } from '../net/udp.js';
import { RELAY_GLOBAL_PPS, RELAY_SESSION_PPS } from '../params.js';
import type { SystemDeps } from './dataplane.js';
import { WIREHUB_LINK_MARK } from './leftovers.js';

/** A UDP socket on a free port (a relay session's port, a `reach` check's fresh port). */
async function openUdpPort(): Promise<{ port: number; transport: UdpTransport }> {
  const transport = await UdpTransport.bind('0.0.0.0', 0);
  return { port: transport.local.port, transport };
}

export const systemDeps: SystemDeps = {
  // The link alias marks the interface as WireHub's (src/daemon/leftovers.ts).
  createDataPlane: (opts) => createInterface({ ...opts, alias: WIREHUB_LINK_MARK }),
  installPortShare: (opts) => installPortShare({ table: opts.table, wgPort: opts.wgPort, daemonPort: opts.daemonPort }),
  removePortShare: (table) => removePortShare(table),
  relayForward: (table) => ({
    install: (sessions) => installRelayForward(table, sessions, { sessionPps: RELAY_SESSION_PPS, globalPps: RELAY_GLOBAL_PPS }),
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

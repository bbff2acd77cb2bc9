// Choosing the WireGuard implementation, as wg-quick does:
//   1. kernel, if `ip link add <probe> type wireguard` works (the probe link is deleted at once);
//   2. else userspace: the program named by WG_USERSPACE_IMPLEMENTATION, else by
//      WG_QUICK_USERSPACE_IMPLEMENTATION (wg-quick's own variable), else `wireguard-go`, looked
//      up on PATH. It is run as `PROGRAM -f NAME` (foreground; wireguard-go and boringtun both
//      take -f) and must serve the UAPI socket /var/run/wireguard/NAME.sock;
//   3. else an error naming the packages to install.
// The kernel backend is driven with `wg` (wireguard-tools), which must then be installed; the
// userspace backend needs only the program itself (we speak UAPI directly, see uapi.ts).
import { randomBytes } from 'node:crypto';
import { findExecutable, installHint, IP, toolPath, tryTool, WG, WgError } from '../util/exec.js';
import type { WgBackend } from './types.js';

export type BackendPreference = 'auto' | WgBackend;

export type BackendInfo =
  | { backend: 'kernel' }
  | { backend: 'userspace'; /** absolute path of the implementation */ command: string };

export const USERSPACE_ENV = ['WG_USERSPACE_IMPLEMENTATION', 'WG_QUICK_USERSPACE_IMPLEMENTATION'] as const;

/** Whether `ip link add … type wireguard` works here (in `netns` if given). Throws when the
 *  failure is a missing privilege rather than a missing module. */
export async function kernelWireGuardAvailable(netns?: string): Promise<boolean> {
  const probe = 'whprobe' + randomBytes(4).toString('hex'); // 15 characters
  const opts = netns !== undefined ? { netns } : {};
  const r = await tryTool(IP, ['link', 'add', probe, 'type', 'wireguard'], opts);
  if (r.code === 0) {
    await tryTool(IP, ['link', 'del', probe], opts);
    return true;
  }
  if (/not permitted|permission denied/i.test(r.stderr)) {
    throw new WgError(`cannot create network interfaces: ${r.stderr.trim()} (run as root, or with CAP_NET_ADMIN)`);
  }
  return false; // "Unknown device type" (no module) and the like
}

/** The userspace implementation to run, or a WgError naming what to install or fix. */
export function userspaceImplementation(): string {
  for (const v of USERSPACE_ENV) {
    const want = process.env[v];
    if (want !== undefined && want !== '') {
      const p = findExecutable(want);
      if (p === undefined) throw new WgError(`${v}=${want}: no such executable (on PATH or as a path)`);
      return p;
    }
  }
  const p = findExecutable('wireguard-go');
  if (p === undefined) {
    throw new WgError(
      'no WireGuard available: this kernel has no WireGuard module and `wireguard-go` is not on PATH; ' +
        `install the userspace implementation and the tools (${installHint('wireguard-go wireguard-tools')}), ` +
        `or name another implementation in ${USERSPACE_ENV[0]}`,
    );
  }
  return p;
}

export async function detectBackend(opts: { netns?: string; prefer?: BackendPreference } = {}): Promise<BackendInfo> {
  const prefer = opts.prefer ?? 'auto';
  toolPath(IP); // iproute2 is needed by every backend
  if (prefer !== 'userspace') {
    if (await kernelWireGuardAvailable(opts.netns)) {
      toolPath(WG); // the kernel backend is configured with `wg`
      return { backend: 'kernel' };
    }
    if (prefer === 'kernel') throw new WgError('kernel WireGuard is not available here (`ip link add … type wireguard` failed: no wireguard module)');
  }
  return { backend: 'userspace', command: userspaceImplementation() };
}

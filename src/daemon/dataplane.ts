// What the daemon needs from WireGuard and from the firewall, as interfaces, so that the daemon
// logic can run against fakes in unit tests. src/daemon/system.ts binds them to src/wg and
// src/firewall. The peer and dump shapes are src/wg's own.
import type { WgDump, WgPeerConfig } from '../wg/types.js';
import type { KernelForwardDeps } from '../relay/kernel.js';
import type { Transport } from '../net/transport.js';

export type { WgDump, WgPeerConfig, WgPeerDump } from '../wg/types.js';

export interface DataPlane {
  readonly name: string;
  readonly backend: string;
  /** Resolves, with what happened, if the data plane dies by itself (wireguard-go exited);
   *  absent or never resolving where it cannot tell (a failing dump() tells then). */
  readonly died?: Promise<string>;
  setPeer(p: WgPeerConfig): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  dump(): Promise<WgDump>;
  destroy(): Promise<void>;
}

export interface SystemDeps {
  /** `log` gets the implementation's output and lifecycle events, one line each. */
  createDataPlane(opts: { name: string; privateKey: string; listenPort: number; addresses: string[]; log?: (line: string) => void }): Promise<DataPlane>;
  installPortShare(opts: { table: string; wgPort: number; daemonPort: number }): Promise<void>;
  removePortShare(table: string): Promise<void>;
  /** Relaying in the kernel with nftables table `table` (netdev family); absent: daemon only. */
  relayForward?(table: string): KernelForwardDeps;
  /** Binds a UDP socket on a free port (checks of other nodes' direct claims). */
  openPort?(): Promise<{ port: number; transport: Transport }>;
}

// What `wh show` prints: the daemon's answer to the control socket's `show` (src/daemon/daemon.ts
// builds it, src/cli/commands/show.ts prints it).
import type { PeerState } from './peers.js';
import type { BootStatus } from './contact.js';

export interface ShowPeer {
  name: string | null;
  key: string;
  ipv4: string | null;
  ipv6: string | null;
  /** 'down': the node's data plane is down (being recreated, or given up). */
  path: PeerState['path'] | 'down';
  endpoint: string | null;
  /** While relayed: the relay's public key. */
  relay: string | null;
  /** While relayed: whether the relay forwards WireGuard's datagrams in its kernel (its session
   *  port is then WireGuard's endpoint) or the daemons carry them. */
  relayForwarding: 'kernel' | 'daemon' | null;
  since: number;
  rttMs: number | null;
  wgEndpoint: string | null;
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

export interface ShowResult {
  interface: string;
  network: string;
  config: string;
  publicKey: string;
  role: 'node' | 'public';
  backend: string | null;
  /** The WireGuard interface: up, being recreated after it died, or given up (null: public node). */
  dataPlane: 'up' | 'restarting' | 'failed' | null;
  /** Times it was recreated, and why it last went down. */
  dataPlaneRestarts: number;
  dataPlaneError: string | null;
  ipv4: string | null;
  ipv6: string | null;
  listenPort: number;
  nat: string;
  /** How many nodes (distinct IPs) reported where they see us in the last NAT check. */
  natObservers?: number;
  publicAddress: string | null;
  portMapping: { method: string; external: string; lease: number } | null;
  uptime: number;
  dhtNodes: number;
  /** What each boot node did with us: answered, refused this key (workbit), unreachable.
   *  (Absent from a daemon of an older build.) */
  boots?: BootStatus[];
  /** As a relay: sessions open, and how many of them are forwarded in the kernel. */
  relaying: { sessions: number; kernel: number };
  peers: ShowPeer[];
  dht?: { buckets: unknown; counters: unknown; rpc: unknown; reach: { confirmed: string[]; refuted: string[] } };
}

// What `wh show` prints: the daemon's answer to the control socket's `show` request
// (src/control/protocol.ts). src/daemon/handlers.ts builds it, src/cli/commands/show.ts prints it.

/** A peer's path: reached directly, through a relay, being searched, or not found lately. */
export type ShowPath = 'direct' | 'relay' | 'searching' | 'offline';

/** What a boot node did with us (src/daemon/contact.ts). */
export type BootVerdict = 'pending' | 'answered' | 'refused' | 'unreachable';

export interface BootStatus {
  /** HOST:PORT as the daemon sends to it. */
  address: string;
  key: string;
  state: BootVerdict;
  /** With 'refused': what the boot node asks. */
  workbit: number | null;
  namespace: string | null;
  /** A sentence for the user when the boot node is not answering us, else null. */
  message: string | null;
}

export interface ShowPeer {
  name: string | null;
  key: string;
  ipv4: string | null;
  ipv6: string | null;
  /** 'down': the node's data plane is down (being recreated, or given up). */
  path: ShowPath | 'down';
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

/** One of the node's transports (src/daemon/wstransports.ts TransportView). */
export interface ShowTransport {
  kind: string;
  role: 'socket' | 'server' | 'client';
  address: string;
  state: string | null;
  connections: number | null;
  /** With `all`: its counters (datagrams in and out, drops by reason). */
  counters?: Record<string, number>;
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
  /** The node's transports: its UDP socket, WebSocket server, WebSocket links (absent from
   *  older daemons). */
  transports?: ShowTransport[];
  /** As a relay: sessions open, and how many of them are forwarded in the kernel. */
  relaying: { sessions: number; kernel: number };
  peers: ShowPeer[];
  dht?: {
    buckets: { index: number; size: number; replacements: number }[]; counters: Record<string, number>; rpc: Record<string, number>;
    reach: { confirmed: string[]; refuted: string[] };
    /** The routing table's nodes (at most SHOW_DHT_NODES_MAX of them; absent from older daemons). */
    nodes?: DhtNodeView[];
  };
}

/** One node of the DHT routing table, for `wh show all`. Every entry answered one of our
 *  requests at its address (only such nodes enter the table); `verified` is about its claim
 *  to be directly reachable: checked by another node (confirmed or refuted) or not yet. */
export interface DhtNodeView {
  key: string;
  address: string;
  /** The k-bucket: bits its key shares with ours (higher: closer to us). */
  bucket: number;
  /** Seconds since it last answered (or sent us an authenticated request). */
  lastSeenAgoSeconds: number;
  /** Requests in a row it did not answer. */
  failures: number;
  /** It claims to be directly reachable. */
  direct: boolean;
  /** null when it makes no such claim. */
  verified: 'confirmed' | 'refuted' | 'unchecked' | null;
  /** The relay it says it is reachable through. */
  relay: string | null;
  rttSeconds: number | null;
}

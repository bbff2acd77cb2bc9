// The parsed form of a network config file (see docs/CONFIG.md).
import type { Cidr } from '../util/ip.js';
import type { HostKind, HostPort } from './host.js';
import type { MetricsListen } from './metrics.js';
import type { WsListen, WsUrl } from './wslisten.js';
import type { ProxySetting } from './proxy.js';

export interface Subnet extends Cidr {
  /** Canonical CIDR text, e.g. "10.42.0.0/24". */
  text: string;
  line: number;
}

/** A bootstrap DHT node (`boot KEY HOST[:PORT]`). */
export interface Boot {
  key: Uint8Array;
  keyB64: string;
  host: string;
  hostKind: HostKind;
  port: number;
  /** `boot KEY ws://...`: the boot node is reached over WebSocket (host and port are the URL's). */
  ws?: WsUrl;
  line: number;
}

export type Endpoint = HostPort;

/**
 * A `trust` line (trusted: true; gets a WireGuard tunnel and overlay addresses) or a `peer`
 * line (trusted: false; known by name and may seed the DHT, but no tunnel and no addresses).
 */
export interface Peer {
  trusted: boolean;
  hostname?: string;
  key: Uint8Array;
  keyB64: string;
  /** Overlay IPv4 address (trusted peers only, when an IPv4 subnet is configured). */
  ipv4?: string;
  /** Overlay IPv6 address (trusted peers only, when an IPv6 subnet is configured). */
  ipv6?: string;
  /** True when ipv4 was written in the file; false when it was allocated (or is absent). */
  ipv4Explicit: boolean;
  ipv6Explicit: boolean;
  /** Static endpoint hint (HOST:PORT written after the key). */
  endpoint?: Endpoint;
  line: number;
}

export interface NetworkConfig {
  /** The file name as given to the parser (used in messages). */
  file: string;
  name: string;
  /** Proof-of-work namespace; "public" (DEFAULT_NAMESPACE) unless a `namespace` line says otherwise. */
  namespace: string;
  workbit: number;
  subnets: { v4?: Subnet; v6?: Subnet };
  boots: Boot[];
  /** trust and peer lines, in file order. */
  peers: Peer[];
  /** `hosts yes` / `dns yes`: publish the trusted peers' names in /etc/hosts and on a DNS
   *  responder (both off by default; absent in configs made before these directives). */
  names?: { hosts: boolean; dns: boolean };
  /** `metrics HOST:PORT`: serve the counters on HTTP there (absent: not served). */
  metrics?: MetricsListen;
  /** `listen ws://IP:PORT`: serve WebSocket connections there (absent: not served). */
  listen?: WsListen;
  /** `proxy URL` / `proxy none`: the WebSocket client's HTTP proxy (absent: the environment's). */
  proxy?: ProxySetting;
}

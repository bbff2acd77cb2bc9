// What the parts of a running node share (src/daemon/daemon.ts builds it): its options and
// edges, its clock and randomness, DHT, peers' paths and their checks, data plane, traversal, and the parts
// themselves, so that each part reaches the others only through here.
import type { NetworkConfig } from '../config/index.js';
import type { Sodium } from '../crypto/sodium.js';
import type { DhtNode } from '../dht/node.js';
import type { Traversal } from '../nat/traversal.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { SystemDeps } from './dataplane.js';
import type { PathGuard } from './guard.js';
import type { NodeSeams } from './seams.js';
import type { SupervisedDataPlane } from './supervise.js';
import type { Join } from './join.js';
import type { FallbackDriver } from './wsfallback.js';
import type { NatMonitor } from './natmonitor.js';
import type { WgSync } from './wgsync.js';
import type { Paths } from './paths.js';
import type { Invites } from './invites.js';
import type { HostNames } from './hostnames.js';
import type { MetricsServer } from './metricsserver.js';
import type { Transports } from '../net/transport.js';
import type { WsTransports } from './wsreload.js';

export interface DaemonOptions {
  sodium: Sodium;
  configPath: string;
  config: NetworkConfig;
  secret: Uint8Array;
  iface: string;
  /** The node's UDP port: WireGuard's, shared with the daemon through nftables. */
  listenPort: number;
  /** Where the daemon's socket really listens (the nftables rules steer its packets there). */
  daemonPort: number;
  log: Logger;
  deps: SystemDeps;
  /** Bind address for the daemon socket (default '::': dual-stack, src/net/udp.ts). */
  bindHost?: string;
  /** The one clock of all the daemon's timing (default realClock: monotonic). */
  clock?: Clock;
  /** The node's edges to the system (default realSeams, src/daemon/seams.ts); any subset. */
  seams?: Partial<NodeSeams>;
}

export interface NodeContext {
  readonly opts: DaemonOptions;
  readonly seams: NodeSeams;
  readonly log: Logger;
  readonly clock: Clock;
  readonly dht: DhtNode;
  /** The node's transports (UDP socket, WebSocket server and links), for `wh show`. */
  readonly transports: Transports;
  readonly publicB64: string;
  /** The config in effect (a reload replaces it). */
  config: NetworkConfig;
  readonly guard: PathGuard;
  /** The WireGuard data plane; undefined on a public node. */
  readonly wg: SupervisedDataPlane | undefined;
  readonly traversal: Traversal;
  readonly join: Join;
  /** The WebSocket server and links, and a reload's difference (src/daemon/wsreload.ts). */
  readonly ws: WsTransports;
  /** The UDP/WebSocket fallback (src/daemon/wsfallback.ts), when boot nodes have both lines. */
  readonly fallback?: FallbackDriver | undefined;
  readonly nat: NatMonitor;
  readonly wgSync: WgSync;
  /** The trusted peers' path machines (src/daemon/paths.ts). */
  readonly paths: Paths;
  /** The pending invitations and the alias exchange (src/daemon/invites.ts). */
  readonly invites: Invites;
  /** The names published for the host's programs (`hosts yes`, `dns yes`); undefined on a
   *  public node. */
  readonly names: HostNames | undefined;
  /** The metrics endpoint (`metrics HOST:PORT`, src/daemon/metricsserver.ts); serving or not. */
  readonly metrics: MetricsServer | undefined;
  /** Set once stop() began: every part stops starting work. */
  readonly stopping: boolean;
}

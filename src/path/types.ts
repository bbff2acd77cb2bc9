// The per-peer path machine's vocabulary (src/path/machine.ts; docs/NAT.md "The per-peer path
// machine"): its states, the events a driver (the daemon) feeds it, and the actions it asks
// for. Types only: the machine performs no I/O, the driver does every send and WireGuard change.
import type { Addr } from '../proto/addr.js';

/** A rendezvous/relay as the machine sees it: its key (hex) and address. The driver's own
 *  relay type (src/relay/link.ts RelayRef, with the key bytes) fits and comes back unchanged
 *  in the actions. */
export interface RelayId {
  readonly hex: string;
  readonly addr: Addr;
}

/**
 * searching: a DHT lookup for the peer is under way (and the config's endpoint is pinged);
 * punching: the lookup is over, a punch (through rendezvous) is under way and, once a
 *   rendezvous knew the peer, a relay is opening in the same breath (they race);
 * relayed: WireGuard talks to the peer through a relay (the daemons or the relay's kernel);
 *   direct paths are still tried, with back-off. It counts (shown `relay`) only once the peer
 *   was heard through the relay (pathHeard); not within PATH_RELAY_HEARD_TIMEOUT, that relay
 *   is dropped (and held) and the attempt failed;
 * direct: the peer answered at an address that passed the path check; WireGuard uses it;
 * backoff: the last search found no path; the next one is due after a jittered delay;
 * offline: as backoff, after PEER_OFFLINE_AFTER failed searches in a row (searching goes on);
 * removed: the peer left the config; the machine asks for nothing any more.
 */
export type PathState = 'searching' | 'punching' | 'relayed' | 'direct' | 'backoff' | 'offline' | 'removed';

/** What `wh show` prints for a state (the four values it always printed). */
export type ShownPath = 'direct' | 'relay' | 'searching' | 'offline';

/** Events in. Every one is a fact the driver observed; `tick` is "time passed". */
export type PathEvent<R extends RelayId = RelayId> =
  /** The time is `now` (the driver calls it when now >= nextDeadline(), or any time). */
  | { t: 'tick' }
  /** The lookup the machine asked for ended: where the DHT says the peer is, if anywhere. */
  | { t: 'lookupResult'; found?: Addr }
  /** The peer's pong from `addr` passed the path check (src/daemon/pathcheck.ts). */
  | { t: 'answered'; addr: Addr; rtt?: number }
  /** A ping the machine asked for got no answer. */
  | { t: 'unanswered'; addr: Addr }
  /** A rendezvous accepted the punch request (punch-ok): it knows the peer, who is up. */
  | { t: 'punchAccepted'; via: R }
  /** The punch the machine asked for is over (its probes are done), answered or not. */
  | { t: 'punchEnded' }
  /** A relay link to the peer is ready, moved to another relay, or changed its data path
   *  (kernel forwarding on or off): WireGuard's endpoint for it is `endpoint`. Also for a link
   *  the peer opened first (the driver followed it). */
  | { t: 'relayReady'; relay: R; endpoint: string; kernel: boolean; transport?: RelayTransport }
  /** The relay-open the machine asked for failed (refused, no answer, no local socket). */
  | { t: 'relayFailed'; relay: R }
  /** The relay link went away without the machine asking (no relay answered its renewal). */
  | { t: 'relayLost'; relay: R }
  /** WireGuard's counters (src/daemon/liveness.ts): sends unanswered (poke), unanswered for
   *  long (re-create the WireGuard peer), or the path is dead (or refuted by the path check). */
  | { t: 'pathSuspect' }
  | { t: 'pathSilent' }
  | { t: 'pathDead'; why: string }
  /** WireGuard received from the peer lately (its path works): relay holds start afresh. */
  | { t: 'heard' }
  /** WireGuard received the peer's packets through the relay link in use (its rx grew while its
   *  endpoint was the link's, src/daemon/guard.ts): the relayed path counts. */
  | { t: 'pathHeard' }
  /** WireGuard has a session with the peer (a handshake since the endpoint was set, or one
   *  still valid): no handshake repair is needed. */
  | { t: 'handshakeSeen' }
  /** The data plane was re-created with every peer (src/daemon/supervise.ts): the peer still
   *  holds its session, so this side starts a handshake now (poke) and watches it. */
  | { t: 'restored' }
  /** The config's endpoint hint for the peer (a reload), undefined for none. */
  | { t: 'configChanged'; endpoint?: Addr }
  /** The direct WireGuard keepalive changed (the NAT check's verdict), in seconds. */
  | { t: 'keepalive'; seconds: number }
  /** The peer left the config. */
  | { t: 'removed' };

/** What carries a relayed path between this node and its relay: UDP, or a WebSocket link. */
export type RelayTransport = 'udp' | 'ws';

/** Where WireGuard is to send the peer's traffic. */
export type PathEndpoint<R extends RelayId = RelayId> =
  | { kind: 'direct'; addr: Addr }
  | { kind: 'relay'; relay: R; endpoint: string; kernel: boolean };

/** Actions out, in the order the driver performs them (a setEndpoint before a closeRelay of
 *  the same step: the relay goes only once WireGuard left it). */
export type PathAction<R extends RelayId = RelayId> =
  /** Look the peer up in the DHT; report with lookupResult. */
  | { a: 'lookup' }
  /** Ping the peer at `addr` over the DHT; report answered (through the path check) or unanswered. */
  | { a: 'ping'; addr: Addr; why: 'hint' | 'found' | 'check' }
  /** Ask these rendezvous to coordinate a punch and probe what they name; report
   *  punchAccepted (at the first punch-ok), answered (a probe's pong) and punchEnded. */
  | { a: 'punch'; rendezvous: readonly R[] }
  /** Open a relay session and link through `relay`; report relayReady or relayFailed. */
  | { a: 'openRelay'; relay: R }
  /** Close the peer's relay link (and leave its session). */
  | { a: 'closeRelay'; relay: R }
  /** Give WireGuard this endpoint and keepalive (s). */
  | { a: 'setEndpoint'; endpoint: PathEndpoint<R>; keepalive: number }
  /** The current endpoint's WireGuard keepalive (s), held back until a session exists on the
   *  side that does not initiate (src/path/machine.ts setEndpoint). */
  | { a: 'keepalive'; seconds: number }
  /** One data packet into the tunnel: WireGuard initiates a handshake at once. */
  | { a: 'poke' }
  /** Re-create the WireGuard peer (fresh handshake state), then poke it. `handshake`: the
   *  handshake watch found no session (the driver may look again first, its samples being
   *  PEER_TICK apart); `silent`: WireGuard's sends go unanswered. */
  | { a: 'recreate'; why: 'handshake' | 'silent' }
  /** A line for the log, about this peer (the driver prefixes the peer's name). */
  | { a: 'log'; level: 'debug' | 'info' | 'warn'; msg: string };

export interface PathOptions<R extends RelayId = RelayId> {
  /** Monotonic ms at creation: the peer is searched at once. */
  now: number;
  /** Uniform in [0, 1): the jitter of back-offs (seeded in tests). */
  random: () => number;
  /** The rendezvous/relay candidates for this peer now (the daemon's relayCandidates). */
  rendezvous: () => readonly R[];
  /** Whether our key is the smaller of the two: this side pokes right after an endpoint is set
   *  and repairs after HANDSHAKE_REPAIR_FIRST, the other waits HANDSHAKE_REPAIR_SECOND. */
  initiator: boolean;
  /** The config's endpoint hint. */
  hint?: Addr;
  /** WireGuard keepalive (s) for a direct endpoint (0 on a public node). */
  keepalive: number;
}

/** What `wh show` and the logs need of a peer's path. */
export interface PathView<R extends RelayId = RelayId> {
  state: PathState;
  shown: ShownPath;
  /** When the shown path last changed (ms, the driver's clock). */
  since: number;
  /** While direct. */
  endpoint?: Addr;
  /** While relayed and the peer was heard through the relay (shown `relay`). */
  relay?: R;
  kernel?: boolean;
  /** While relayed: what carries it to the relay ('udp' unless a WebSocket link does). */
  transport?: RelayTransport;
  /** While relayed, heard through or not: the relay link WireGuard was given (the guard's
   *  evidence check, the driver's closeRelay). */
  via?: { relay: R; endpoint: string };
  /** The last direct pong's round trip (ms), while direct. */
  rtt?: number;
}

// NAT traversal and relays: punching, introductions, relay sessions and links, port mapping.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

// ---- NAT traversal (src/nat, src/relay, src/daemon) -------------------------------------------
/** How often a node re-checks its NAT type (pings a few DHT nodes and compares what they saw).
 *  A NATed node's pings also keep its NAT mappings to those nodes (the rendezvous) open: Linux
 *  conntrack forgets an idle UDP flow after 30 s (120 s once replied), so this stays below 30 s. */
export const NAT_CHECK_INTERVAL = 20_000;
/** How often the daemon compares the host's local addresses with the last ones it saw; a
 *  change triggers a NAT check at once. */
export const ADDRESS_CHECK_INTERVAL = 2000;
/** Nodes asked per NAT check. */
export const NAT_CHECK_NODES = 4;
/** WireGuard persistent keepalive towards every peer while this node is behind a NAT (s),
 *  below the 30 s conntrack timeout of an unreplied UDP flow. */
export const NAT_KEEPALIVE_SECONDS = 20;
/** Hole punching: probes (pings) sent to the other side's public address, and their period. */
export const PUNCH_PROBES = 25; // @protocol
export const PUNCH_PROBE_INTERVAL = 80; // @protocol
/** A node answers punch-notify about one peer with probes at most once per this interval. */
export const NOTIFY_MIN_INTERVAL = 2000; // @protocol
/** Rendezvous nodes asked at once to coordinate a punch. */
export const PUNCH_RENDEZVOUS = 2;
/** Relayed peers are retried for a direct path with this back-off (jittered ±50 %), forever. */
export const DIRECT_RETRY_MIN = 3000;
export const DIRECT_RETRY_MAX = 10_000;
/** A relay session lives this long without a relay-open renewal from its members (s). */
export const RELAY_SESSION_SECONDS = 30; // @protocol
/** Members renew their relay session this often; a renewal that fails moves them to another
 *  relay (so a dead relay costs at most about this long plus one request timeout). */
export const RELAY_RENEW = 4000; // @protocol
/** A relay link follows its peer to another relay of ours when this many of the peer's relayed
 *  datagrams in a row came through that relay rather than the link's own (the peer moved there,
 *  and the link's relay no longer has the peer: src/relay/stray.ts) ... */
export const RELAY_STRAY_DATAGRAMS = 3;
/** ... and the link has been on its relay for at least this long (the side with the smaller key;
 *  the other waits twice as long, so that two sides that crossed do not swap relays in step). */
export const RELAY_STRAY_HOLD = 2000;
/** Relay sessions one relay keeps at once, and packets per second per session and in all; a
 *  session gets at most its fair share, RELAY_GLOBAL_PPS / sessions forwarded (src/relay/fair.ts). */
export const RELAY_MAX_SESSIONS = 256; // @protocol
export const RELAY_SESSION_PPS = 50_000; // @protocol
export const RELAY_GLOBAL_PPS = 100_000; // @protocol
/** Checking a node's claim to be directly reachable (src/nat/reach.ts): a checker pings it from
 *  a fresh port and waits this long (no retry); a confirmed claim holds this long for that
 *  address; a refuted one (or one no checker could test) is tried again after this long; a
 *  node checks at most this many claims per NAT check; a checker runs at most this many checks
 *  at once (more get ERR_BUSY). */
export const REACH_TIMEOUT = 1000; // @protocol
export const REACH_VALID = 10 * 60_000;
export const REACH_RETRY = 60_000;
export const REACH_CHECKS_PER_ROUND = 4;
export const REACH_MAX_INFLIGHT = 16;
/** Relaying in the kernel: a member sends relay-bind to the session port until the relay says
 *  both sides are bound (at most this many tries, this far apart), then again at every renewal
 *  (its NAT may have changed the mapping). The relay re-reads a member's route this often. */
export const RELAY_BIND_TRIES = 12;
export const RELAY_BIND_INTERVAL = 500;
export const RELAY_ROUTE_CACHE = 60_000;
/** A relay turns kernel forwarding off after this many failed rule updates in a row. A client
 *  that got no answer at all from a session port (a firewall in front of the relay) tries that
 *  relay's kernel path again only after this long (ms). */
export const RELAY_KERNEL_FAILURES = 3;
export const RELAY_BIND_BACKOFF = 60_000;
/** Relay quotas (src/relay/sessions.ts; docs/PROTOCOL.md "Relay quotas"): sessions one key may
 *  be a member of on one relay, and sessions with a member at one source IP. A session only one
 *  member opened (half-open) ends this long after it was made (s), renewals or not. When the
 *  table is full, a new session evicts the oldest half-open one, else the oldest idle one: a
 *  session whose members are both bound to its kernel port, or that carried relay traffic
 *  through the daemon within RELAY_ACTIVE, is never evicted. */
export const RELAY_SESSIONS_PER_KEY = 32; // @protocol
export const RELAY_SESSIONS_PER_SOURCE = 64; // @protocol
export const RELAY_HALF_OPEN_SECONDS = 5; // @protocol
export const RELAY_ACTIVE = 10_000; // @protocol
/** A relay's kernel forwarding expires by itself (nftables element timeouts, s) unless its
 *  daemon refreshes it; the daemon refreshes at its sync passes (every RELAY_RENEW), at most
 *  once per RELAY_KERNEL_REFRESH (ms). So a relay whose daemon was killed stops forwarding in
 *  its kernel within RELAY_KERNEL_EXPIRY_SECONDS. */
export const RELAY_KERNEL_EXPIRY_SECONDS = 12;
/** WireGuard pads a transport message's plaintext to a multiple of 16 bytes, but never beyond
 *  the sender's tunnel MTU, so a full-size message may have any length. A relay accepts a
 *  transport message whose (length - 16) is not a multiple of 16 only from this plaintext size
 *  on: the smallest tunnel MTU WireHub accepts (src/wg/interface.ts). */
export const RELAY_WG_MIN_MTU = 576; // @protocol
export const RELAY_KERNEL_REFRESH = 2000;
/** Fragments of one relayed packet are reassembled within this time, else dropped. */
export const REASSEMBLY_TIMEOUT = 1000; // @protocol
export const REASSEMBLY_MAX_PENDING = 256;
/** Port mapping (UPnP IGD / NAT-PMP): how long discovery may take, the lease asked for (renewed
 *  at half of it; a crashed daemon's mapping disappears by itself after at most this long),
 *  and how often a node without a gateway asks again. */
export const PORTMAP_DISCOVER_TIMEOUT = 2500;
export const PORTMAP_LEASE_SECONDS = 600;
export const PORTMAP_RETRY = 5 * 60_000;

// ---- Punch introductions (src/nat/intro.ts, src/nat/punch.ts) ---------------------------------
/** A notified node (the target of a punch) acts only on a sealed introduction from the key it is
 *  told about, and then sends at most this many probes (the initiator, which chose to punch,
 *  sends PUNCH_PROBES)... */
export const PUNCH_NOTIFY_PROBES = 8; // @protocol
/** ...and in all at most this many times the bytes of the punch-notify that caused them. */
export const PUNCH_NOTIFY_BUDGET = 5; // @protocol
/** Bursts of probes on punch-notify, all peers together: per second, and burst (token bucket;
 *  beyond it a notification is acted on without probes); one peer gets at most one burst per
 *  NOTIFY_MIN_INTERVAL. */
export const PUNCH_NOTIFY_BURSTS_PER_SEC = 5; // @protocol
export const PUNCH_NOTIFY_BURSTS_BURST = 10; // @protocol
/** A node follows a peer's `relayed` through a rendezvous (opening its own half of a relay
 *  session there, with no link to that peer yet) only within this long after a punch-notify
 *  from that rendezvous carried the peer's own sealed introduction (the peer asks it when it
 *  opens the link, src/relay/client.ts openLink); anything else would tell the rendezvous
 *  whom the node trusts. */
export const RELAY_FOLLOW_WINDOW = 60_000; // @protocol


// ---- Review rev2: relay constants that were literals (src/relay) ------------------------------
/** Fair-share buckets a relay keeps (one per pair of keys, least recently used out; more than
 *  RELAY_MAX_SESSIONS, so a busy session's bucket stays), and routes it caches for the kernel path. */
export const RELAY_FAIR_BUCKETS = 1024;
export const RELAY_ROUTE_CACHE_ENTRIES = 1024;
/** A relay recounts its sessions (the divisors of the fair share) at most this often (ms): the
 *  counts are read for every relayed datagram. */
export const RELAY_SHARE_RECOUNT = 1000;
/** The daemon path's rate is shared among the pairs of keys whose bucket took a datagram in
 *  the last this long (ms; at most RELAY_MAX_SESSIONS), its burst among those or the
 *  established sessions, whichever are more (src/relay/fair.ts): an idle session does not
 *  halve a busy one's rate. */
export const RELAY_SHARE_ACTIVE = 2000;
/** The burst of the relay's global bucket over every datagram its daemon relays (the rate is
 *  RELAY_GLOBAL_PPS): a tenth of a second's worth, the bound the sessions' bursts add up to, so
 *  that sessions made one after another, each starting with the burst of the count at its first
 *  datagram, cannot take more at once (test/unit/fairwave.test.ts). */
export const RELAY_GLOBAL_BURST = RELAY_GLOBAL_PPS / 10;
/** A relay replaces its kernel forwarding table (one `nft -f` of every session's rules, which
 *  also starts every nftables limit afresh) at most once per this long (ms): each bind from a
 *  new source address changes the table, so a member rebinding from ever new ports could
 *  otherwise keep nft busy and the limits reset. A bind that waits for it gets r = 0 and is
 *  forwarded after a later pass (the client binds again every RELAY_BIND_INTERVAL). */
export const RELAY_KERNEL_INSTALL_GAP = 1000;


// ---- Issue 10 split: timers and limits that were literals (src/nat, src/relay, src/daemon) ----
/** Punch requests and reach checks a rendezvous/checker takes per source IP: per second, and
 *  in a burst (src/nat/rendezvous.ts, src/nat/reachcheck.ts share one limiter). */
export const PUNCH_REQ_PER_SEC = 20;
export const PUNCH_REQ_BURST = 40;
/** A relay holds the latest datagram a member sent into a half-open session this long (ms),
 *  and forwards it when the other member opens: the first WireGuard initiation through a new
 *  link usually arrives before the peer's half (wireguard-go sends the next one 5 s later). */
export const RELAY_PENDING_HOLD = 2000;
/** After the last probe of a punch, how long the answers of the last probes are awaited (ms). */
export const PUNCH_LAST_ANSWERS_WAIT = 300;
/** A relay link's renewal (relay-open to its relay, or to a replacement): timeout of each
 *  try (ms) and retries (src/relay/client.ts). */
export const RELAY_RENEW_TIMEOUT = 700;
export const RELAY_RENEW_RETRIES = 1;
/** relay-bind tries of a link already in the kernel path (a refresh of the relay's view of our
 *  NAT mapping; a new bind has RELAY_BIND_TRIES). */
export const RELAY_BIND_REFRESH_TRIES = 3;
/** The asking side of a reach check waits the checker's REACH_TIMEOUT plus this (ms). */
export const REACH_ASK_SLACK = 500;
/** UPnP/NAT-PMP port mapping (src/nat/upnp.ts, portmap-discover.ts, igd.ts, natpmp.ts): each
 *  SOAP call or NAT-PMP exchange after discovery is bounded by this by default (ms). */
export const UPNP_REQUEST_TIMEOUT = 3000;
/** SSDP M-SEARCH MX: seconds a device may wait before answering. */
export const UPNP_SSDP_MX = 1;
/** The M-SEARCH is sent again once after this (ms): one lost datagram does not hide a gateway. */
export const UPNP_SSDP_RESEND = 400;
/** NAT-PMP is chosen over UPnP only after MX plus this (ms): a UPnP gateway had its chance. */
export const UPNP_SSDP_WINDOW_MARGIN = 600;
/** Largest device description and SOAP answer read from a gateway (bytes). */
export const UPNP_MAX_DESCRIPTION_BYTES = 256 * 1024;
export const UPNP_MAX_SOAP_BYTES = 64 * 1024;
/** At a renewal, mappings due within this much (ms) are renewed together. */
export const UPNP_RENEW_GROUPING = 1000;
/** IGD v1 with the wanted external port taken: random ports tried (from 49152, a range of 16384). */
export const UPNP_RANDOM_PORT_TRIES = 3;
/** Checkers asked, one after the other, about one direct claim (src/daemon/natmonitor.ts). */
export const REACH_CHECKERS_PER_CLAIM = 2;

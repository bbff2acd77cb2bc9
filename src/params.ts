// Every timer and limit of the WireHub protocol, in one commented place.
// Times are in milliseconds unless the name says otherwise.
// `// @protocol` marks a value another implementation must honour to interoperate (a size on
// the wire, a lifetime or rate a peer relies on, the public DHT's port and namespace):
// docs/PROTOCOL.md section 10.1 lists exactly these, and test/unit/params.test.ts checks the
// list and the values. Unmarked constants are this implementation's own choices (docs/NODE.md,
// docs/NAT.md); a new one needs no mark (docs/DECISIONS.md, "Protocol constants").

/** UDP port a node listens on when the config or command line names none. */
export const DEFAULT_PORT = 62096; // @protocol

// ---- Packets ---------------------------------------------------------------------------
/** Largest daemon datagram: 1500-byte Ethernet MTU minus IPv6 (40) and UDP (8) headers, so a
 *  packet is never fragmented by IP on a standard path, whichever family carries it. */
export const MAX_PACKET = 1452; // @protocol
/** `find` requests are padded to this many bytes so that a responder that has not verified
 *  us can answer within the request's size and still ping us back (anti-amplification):
 *  1200 - PING_PAD_TO leaves room for 20 IPv4 records without relay keys (886 bytes). */
export const FIND_PAD_TO = 1200; // @protocol
/** `ping` requests are padded to this many bytes so the `pong` (which carries the observed
 *  address, up to 18 bytes: 128 bytes in all over IPv6) is never larger than the ping, with
 *  room to spare for new pong fields. */
export const PING_PAD_TO = 160; // @protocol

// ---- Replay protection --------------------------------------------------------------------
/** Width of the per-peer sliding window of accepted counters (as WireGuard's data path). */
export const REPLAY_WINDOW = 2048; // @protocol
/** A window keeps up to this many accepted counters as a list, more as its bitmap (memory
 *  only: both accept exactly the same counters; src/proto/replay.ts). */
export const REPLAY_SPARSE_MAX = 16;

// ---- Crypto state ---------------------------------------------------------------------------
/** Peers whose derived keys and replay state are kept; least recently used are dropped first. */
export const MAX_PEER_STATES = 8192;

// ---- Kademlia --------------------------------------------------------------------------------
/** Bucket size and the number of closest nodes a lookup converges on. */
export const K = 20; // @protocol
/** Parallel requests in flight per lookup. */
export const ALPHA = 3;
/** Time a request waits for its answer before one retry (then the request fails). */
export const REQUEST_TIMEOUT = 1000; // @protocol
/** Retries after the first send of a request (so 1 means two sends in all). */
export const REQUEST_RETRIES = 1; // @protocol
/** Requests of one node waiting for answers at once; more are refused locally. */
export const MAX_PENDING_REQUESTS = 4096;
/** Consecutive failed requests after which a table entry is stale and may be replaced. */
export const STALE_AFTER_FAILURES = 2;
/** Hard bound on the number of requests one lookup may send (stops lookups for absent keys
 *  in hostile or very churny networks even if new nodes keep being reported). */
export const LOOKUP_MAX_REQUESTS = 200;
/** Own addresses as seen by responders (from pongs) remembered, most recent first. */
export const OBSERVED_ADDRS_KEPT = 64;
/** Lookups `findNode` makes before it reports a key as not found. */
export const FIND_ATTEMPTS = 2;
/** Rounds of pings to the boot nodes before giving up on them (until one answers). */
export const BOOTSTRAP_ATTEMPTS = 5;
/** Pause between two rounds of boot pings. */
export const BOOTSTRAP_RETRY_DELAY = 1000;
/** A bucket with no lookup through it for this long is refreshed by a lookup of a random ID
 *  in its range (Kademlia's hourly refresh, made shorter for small networks). */
export const BUCKET_REFRESH = 15 * 60_000;
/** Period of the check that finds buckets due for refresh. */
export const REFRESH_CHECK = 60_000;

// ---- Abuse limits ----------------------------------------------------------------------------
/** Per source IP: datagrams accepted before any cryptography (token bucket). */
export const SOURCE_PACKETS_PER_SEC = 400; // @protocol
export const SOURCE_PACKETS_BURST = 800; // @protocol
/** Per source IP: authenticated requests answered (token bucket). */
export const SOURCE_REQUESTS_PER_SEC = 50; // @protocol
export const SOURCE_REQUESTS_BURST = 100; // @protocol
/** Source IPs tracked by the rate limiters; the least recently seen are forgotten first. */
export const RATE_LIMIT_SOURCES = 4096;
/** Verification pings sent to addresses that contacted us first, per second (global). */
export const VERIFY_PINGS_PER_SEC = 50;

// ---- Trusted peers (src/daemon/peers.ts) ------------------------------------------------------
/** First retry delay of a search for a trusted peer that was not found; doubles each time. */
export const PEER_SEARCH_MIN = 1000;
/** Longest delay between two searches for a peer that is not found (searching forever). */
export const PEER_SEARCH_MAX = 10_000;
/** Failed searches in a row after which a peer is shown as offline (searching goes on). */
export const PEER_OFFLINE_AFTER = 3;
/** A peer with a known address is pinged over the DHT this often to confirm it. */
export const PEER_RECHECK = 20_000;
/** After giving WireGuard a peer's endpoint, the daemon checks that a handshake followed, and
 *  if not re-creates the WireGuard peer and pokes it (src/daemon/handshake.ts): after the first
 *  delay on the side with the smaller key, after the second on the other, so that the two
 *  sides never repair at once. */
export const HANDSHAKE_REPAIR_FIRST = 1000;
export const HANDSHAKE_REPAIR_SECOND = 2500;
/** Period of the daemon's peer loop (it only acts on peers that are due). */
export const PEER_TICK = 500;

// ---- Local control socket (src/control) -------------------------------------------------------
/** Directory of the daemons' control sockets (mode 0700; sockets 0600). */
export const CONTROL_DIR = '/var/run/wirehub';
/** Largest control answer the CLI accepts (requests: CONTROL_MAX_REQUEST below). */
export const MAX_CONTROL_MESSAGE = 1 << 20;
/** A CLI call to a daemon gives up after this long. */
export const CONTROL_TIMEOUT = 5000;
/** `wh up` waits this long for a detached daemon to report ready (or its error). */
export const UP_READY_TIMEOUT = 20_000;
/** The daemon a detached `wh up` forks waits this long for it to hand over the interface's
 *  lock (src/daemon/uplock.ts; a local IPC message, normally instant). */
export const UP_LOCK_HANDOFF_TIMEOUT = 5000;

// ---- Operator safety: control socket bounds, files the CLI reads (src/control, src/util/readfile)
/** The daemon serves at most this many control connections at once; more are closed on
 *  accept (`wh` sends one short request per connection, so a few are plenty). */
export const CONTROL_MAX_CONNECTIONS = 16;
/** Largest control request (the daemon side; a request is a few dozen bytes of JSON). */
export const CONTROL_MAX_REQUEST = 64 << 10;
/** A control connection must deliver its whole request within this long after it is
 *  accepted (an absolute deadline: bytes arriving do not extend it) ... */
export const CONTROL_REQUEST_DEADLINE = 2000;
/** ... and is closed this long after it was accepted, answered or not. */
export const CONTROL_CONNECTION_DEADLINE = 15_000;
/** `wh down` waits this long for the daemon to finish after asking it to stop, then terminates
 *  the process serving its control socket. */
export const DOWN_WAIT = 10_000;
/** A private key file holds 44 characters and a newline: more than this is not a key file. */
export const MAX_KEY_FILE_BYTES = 1024;
/** Config files are a few kilobytes; anything larger is surely the wrong file. */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Config errors quote at most this many characters of the offending token ... */
export const CONFIG_ERROR_TOKEN = 24;
/** ... and a config with more problems than this prints only the first ones and a count. */
export const CONFIG_ERRORS_SHOWN = 10;

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

// ---- Data plane supervision and process exit (src/daemon/supervise.ts, lifecycle.ts) ----------
/** The daemon asks its WireGuard interface for a dump this often; this many failures in a row
 *  mean the data plane is gone (a userspace implementation's exit is seen at once). */
export const DATAPLANE_CHECK_INTERVAL = 2000;
export const DATAPLANE_CHECK_FAILURES = 2;
/** A data plane that went down is recreated at once; a failed attempt is retried after this
 *  delay, doubling, up to this many attempts in all; then the node gives up and exits non-zero
 *  (for its supervisor: systemd, a container runtime, to restart it). */
export const DATAPLANE_RETRY_MIN = 500;
export const DATAPLANE_RESTORE_ATTEMPTS = 4;
/** More restarts than this within the window is a crash loop: the node gives up and exits. */
export const DATAPLANE_MAX_RESTARTS = 5;
export const DATAPLANE_RESTART_WINDOW = 10 * 60_000;
/** On a signal or a crash the daemon's cleanup (Daemon.stop) gets this long before the process
 *  removes what is left synchronously and exits anyway. */
export const SHUTDOWN_TIMEOUT = 10_000;

// ---- Review rev2: relay constants that were literals (src/relay) ------------------------------
/** Fair-share buckets a relay keeps (one per session; more than RELAY_MAX_SESSIONS, so a live
 *  session's bucket is never pushed out), and routes it caches for the kernel path. */
export const RELAY_FAIR_BUCKETS = 1024;
export const RELAY_ROUTE_CACHE_ENTRIES = 1024;
/** A relay recounts its established sessions (the divisor of the fair share) at most this
 *  often (ms): the count is read for every relayed datagram. */
export const RELAY_SHARE_RECOUNT = 1000;
/** A relay replaces its kernel forwarding table (one `nft -f` of every session's rules, which
 *  also starts every nftables limit afresh) at most once per this long (ms): each bind from a
 *  new source address changes the table, so a member rebinding from ever new ports could
 *  otherwise keep nft busy and the limits reset. A bind that waits for it gets r = 0 and is
 *  forwarded after a later pass (the client binds again every RELAY_BIND_INTERVAL). */
export const RELAY_KERNEL_INSTALL_GAP = 1000;

// ---- Unauthenticated work: new-key X25519 and cookies (src/dht/admission.ts, src/proto/cookie.ts)
// A packet from a key we hold no derived state for costs one X25519 (~107 µs here) before it can
// fail authentication; a forger needs no private key. These bound that work (docs/PROTOCOL.md
// section 5.7). Known keys (cached, trusted, in the routing table) never wait on them.
/** Receive buffer asked for every daemon UDP socket (the kernel caps it at net.core.rmem_max):
 *  ~2,000 small datagrams, so a flood does not push legitimate ones out while the event loop is
 *  briefly busy or descheduled (the Linux default, 208 KiB, holds ~250). */
export const UDP_RECV_BUFFER = 2 * 1024 * 1024;
/** Keys whose derived state is kept although none of their packets authenticated yet (a forged
 *  key reused for every packet then costs an AEAD failure, not an X25519); LRU. */
export const MAX_UNVERIFIED_KEYS = 4096;
/** Global budget of X25519 for new, unproven keys (token bucket): 200/s is ~2 % of one core.
 *  When it is empty the node is "under load" and asks new keys for a cookie first. */
export const NEW_KEYS_PER_SEC = 200;
export const NEW_KEYS_BURST = 200;
/** Per source IP: new-key derivations that failed authentication (token bucket). An empty
 *  bucket means the source must present a cookie even when the global budget has room. */
export const SOURCE_FAILED_KEYS_PER_SEC = 0.5;
export const SOURCE_FAILED_KEYS_BURST = 8;
/** X25519 for new keys whose packet carried a valid cookie (the source address is proven):
 *  per source IP (token bucket) and in all (burst = one second). An attacker needs more than
 *  PROVEN_KEYS_GLOBAL_PER_SEC / PROVEN_KEYS_PER_SEC = 150 addresses that it really receives at
 *  to keep honest newcomers out of the proven budget. */
export const PROVEN_KEYS_PER_SEC = 2;
export const PROVEN_KEYS_BURST = 4;
export const PROVEN_KEYS_GLOBAL_PER_SEC = 300;
/** Cookie replies sent, per source IP and in all (token buckets; burst = twice the rate).
 *  A cookie reply (68 bytes) is never larger than the datagram it answers (at least 70). */
export const COOKIE_REPLIES_PER_SEC = 5;
export const COOKIE_REPLIES_GLOBAL_PER_SEC = 2000;
/** The receiver's cookie secret is replaced this often; the previous one is still accepted, so a
 *  cookie is valid for at least this long and at most twice it. */
export const COOKIE_ROTATE = 120_000; // @protocol
/** A sender uses a cookie it was given for this long (below COOKIE_ROTATE), for at most
 *  COOKIES_KEPT (key, address) pairs; a request is resent at once with a new cookie at most
 *  COOKIE_RESENDS times (extra to REQUEST_RETRIES). */
export const COOKIE_KEEP = 60_000; // @protocol
export const COOKIES_KEPT = 1024;
export const COOKIE_RESENDS = 2; // @protocol

// --- first contact (issue 9, `truth`) ---
/** `wh up` asks every running daemon on this machine for its key (to refuse a key that
 *  already runs under another interface); a daemon that does not answer within this is
 *  skipped (it cannot be shown to be the same node). */
export const UP_KEY_SCAN_TIMEOUT = 1500;
/** A DNS name in the config (a boot line, a trust or peer endpoint) gets this long to resolve
 *  at `wh up` and at each `wh reload`; then it counts as not resolving. */
export const RESOLVE_TIMEOUT = 5000;

// ---- First contact: proof-of-work defaults, workbit refusals (src/config, src/cli, src/dht) --
/** The proof-of-work namespace of a network file without a `namespace` line, of `wh genkey` and
 *  of `wh workbit`: that of the public DHT, so that every node's key is measured where the
 *  public boot nodes measure it. */
export const DEFAULT_NAMESPACE = 'public'; // @protocol
/** The workbit `wh genkey` searches for when none is given (in DEFAULT_NAMESPACE, or in the
 *  namespace of `wh genkey CONFIG`): what the public boot nodes ask (`workbit 8`). About 256
 *  tries, a few milliseconds. */
export const GENKEY_DEFAULT_WORKBIT = 8;
/** Workbit refusals (frame kind 4) a node sends, all senders together: per second and burst
 *  (token bucket); beyond it a refused packet is dropped silently, as before. */
export const REFUSALS_PER_SEC = 20; // @protocol
export const REFUSALS_BURST = 40; // @protocol
/** ...and to one source address at most one per this many ms (the refused node retries its
 *  pings; one notice per retry round is enough). */
export const REFUSAL_MIN_INTERVAL = 1000; // @protocol
/** `wh up` waits at most this long after the daemon is ready for every boot node to answer or
 *  refuse (a refusal comes back within a round trip), and reports the ones that did not. */
export const UP_BOOT_WAIT = 3000;
/** ...asking the daemon this often meanwhile. */
export const UP_BOOT_POLL = 100;

// ---- Path acceptance and WireGuard liveness (src/daemon/selfview.ts, liveness.ts, pathcheck.ts) --
/** An address a boot node saw us at counts as ours (pongs of trusted peers must say they saw us
 *  at one of our addresses) for this long after the last boot node said so (ms). */
export const SELF_VIEW_KEEP = 10 * 60_000;
/** Addresses boot nodes saw us at, kept at most (the least recently seen go first). */
export const SELF_VIEW_MAX = 16;
/** While WireGuard's sends to a peer get nothing back, the daemon pokes the peer through the
 *  tunnel this often: a data packet, which a live peer's WireGuard answers (ICMP from its kernel
 *  at once, else its passive keepalive within 10 s). */
export const WG_SILENT_POKE = 3000;
/** Sends unanswered this long: the WireGuard peer is re-created (a fresh handshake, answered by
 *  a live peer within a round trip even when its session was lost). Above the peer's 10 s
 *  passive keepalive, so that a live peer whose kernel sends no ICMP is not repaired. */
export const WG_SILENT_REPAIR = 11_000;
/** Sends unanswered this long: the path is dead (the peer is searched again; a direct endpoint
 *  is remembered as bad, a relay is not opened again for a while). ms. */
export const WG_SILENT_DEAD = 18_000;
/** A path counts as working while WireGuard received from the peer within this long (ms); an
 *  endpoint learned from a third party never replaces a working one. Above the 20 s keepalive. */
export const WG_WORKING_WINDOW = 30_000;
/** An endpoint whose path was judged dead (or whose pong showed a proxy) is not accepted again
 *  for this long (ms); endpoints remembered per peer at most. */
export const BAD_ENDPOINT_KEEP = 2 * 60_000;
export const BAD_ENDPOINTS_MAX = 8;
/** After a relay path to a peer died unanswered, no relay is opened for it for this long,
 *  doubling on each death up to the max, back to the min once WireGuard hears the peer (ms). */
export const RELAY_HOLD_MIN = 60_000;
export const RELAY_HOLD_MAX = 10 * 60_000;

// ---- Issue 10 split: timers and limits that were literals (src/nat, src/relay, src/daemon) ----
/** Punch requests and reach checks a rendezvous/checker takes per source IP: per second, and
 *  in a burst (src/nat/rendezvous.ts, src/nat/reachcheck.ts share one limiter). */
export const PUNCH_REQ_PER_SEC = 20;
export const PUNCH_REQ_BURST = 40;
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

// ---- Per-peer path machine (src/path/machine.ts; docs/NAT.md "The per-peer path machine") -----
// It also uses PEER_SEARCH_MIN/MAX, PEER_OFFLINE_AFTER, PEER_RECHECK, DIRECT_RETRY_MIN/MAX,
// RELAY_HOLD_MIN/MAX, HANDSHAKE_REPAIR_FIRST/SECOND, NAT_KEEPALIVE_SECONDS and BAD_ENDPOINT_KEEP.
/** After a lookup gave addresses to ping (the config's hint, the DHT's answer), the punch, and
 *  with it the relay race, starts this long later unless one of them answered: a directly
 *  reachable peer answers well within it and is never punched. No address: the punch starts at
 *  once. */
export const PATH_PUNCH_AFTER = 300;
/** A lookup, punch or relay-open the machine asked for and the driver did not report within this
 *  long counts as failed (the driver always reports; this bounds a lost report). */
export const PATH_OP_TIMEOUT = 30_000;
/** Relays asked in turn in one attempt: the rendezvous that knew the peer first, then the other
 *  candidates (a relay held for this peer is skipped). */
export const PATH_RELAY_TRIES = 3;
/** Unanswered re-checks of a direct endpoint in a row after which the peer is searched again
 *  (the next re-check after one failure comes PEER_SEARCH_MIN later). */
export const PATH_CHECK_FAILURES = 2;
/** A search for a peer not found backs off PEER_SEARCH_MIN * 2^(failures-1), at most
 *  PEER_SEARCH_MAX, times a random factor in [1 - this, 1 + this), so that the nodes of a
 *  network restarted together do not search in lock-step. */
export const PATH_SEARCH_JITTER = 0.2;

// ---- Memory (issue 10) ------------------------------------------------------------------------
/** The daemon's V8 young generation grows by this factor when it fills (V8's default is 2, up
 *  to 16 MiB a semi-space); 1 keeps it at its initial 1 MiB (src/util/heap.ts, bench/mesh.ts). */
export const DAEMON_SEMI_SPACE_GROWTH = 1;

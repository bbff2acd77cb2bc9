// The wire and the DHT: packets, replay, crypto state, Kademlia, abuse limits, unauthenticated work.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

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
/** A table entry heard from within this time and with no failed request since is good: a full
 *  bucket of good entries keeps them without pinging its oldest, and a stranger that falls in it
 *  is not pinged back to be verified (BEP 5's rule, 15 minutes there too). */
export const ENTRY_GOOD_FOR = 15 * 60_000;
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
/** A joining node's lookup of a random ID in each empty bucket converges on this many nodes,
 *  not K: it only has to give the bucket entries to route through (they fill up later from the
 *  requests of nodes in its range). */
export const JOIN_REFRESH_WIDTH = 5;
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

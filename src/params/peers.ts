// Trusted peers: the per-peer path machine, path acceptance and WireGuard liveness.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

// ---- Trusted peers (src/path/machine.ts) ------------------------------------------------------
/** First retry delay of a search for a trusted peer that was not found; doubles each time. */
export const PEER_SEARCH_MIN = 1000;
/** Longest delay between two searches for a peer that is not found (searching forever). */
export const PEER_SEARCH_MAX = 10_000;
/** Failed searches in a row after which a peer is shown as offline (searching goes on). */
export const PEER_OFFLINE_AFTER = 3;
/** A peer with a known address is pinged over the DHT this often to confirm it. */
export const PEER_RECHECK = 20_000;
/** After giving WireGuard a peer's endpoint, the daemon checks that a handshake followed, and
 *  if not re-creates the WireGuard peer and pokes it (src/path/machine.ts): after the first
 *  delay on the side with the larger key (the one that did not poke), after the second on the
 *  other, so that the two sides never repair at once. */
export const HANDSHAKE_REPAIR_FIRST = 500;
export const HANDSHAKE_REPAIR_SECOND = 750;
/** The side that initiates pokes a relay endpoint this long after it set it, not at once: a peer
 *  that opened its half of the relay session first has sent its repair's initiation, which the
 *  relay holds and delivers as our half opens; our poke at that moment would cross it (and
 *  wireguard-go, taking the crossed initiation and response in two handshake workers at once,
 *  can derive keys the peer does not hold: docs/NODE.md "First handshake"). By then WireGuard
 *  answered it and has the session, and the poke is only data. ms. */
export const RELAY_POKE_DELAY = 200;
/** The side that repairs first checks again after a repair, this many more times (each
 *  twice the previous delay: 0.5, 1.5, 3.5 s after the endpoint was set): its repair may have
 *  gone out before the peer had a path back (its relay link not open yet), or crossed the
 *  peer's own first initiation, and wireguard-go sends no other initiation for 5 s. */
export const HANDSHAKE_REPAIR_REPEATS = 2;
/** Period of the daemon's WireGuard sample (liveness, sessions); the path machines keep their own timer. */
export const PEER_TICK = 500;


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
/** Sends unanswered this long right after a handshake on the current endpoint: the WireGuard
 *  peer is re-created, once per endpoint. A live peer answers the pokes (WG_SILENT_POKE apart,
 *  the first at once) within a round trip; one that cannot decrypt us holds keys from crossed
 *  handshakes (docs/NODE.md "First handshake"). A peer whose kernel sends no ICMP costs one
 *  extra handshake. ms. */
export const WG_FRESH_REPAIR = 3500;
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
/** After a relay path to a peer died unanswered, that relay is not used for the peer for this
 *  long (other relays are), doubling on each death up to the max, back to the min once
 *  WireGuard hears the peer (ms; src/path/holds.ts). */
export const RELAY_HOLD_MIN = 60_000;
export const RELAY_HOLD_MAX = 10 * 60_000;


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
/** A relayed path counts (`wh show` prints `relay`) only once WireGuard received the peer's
 *  packets through the relay link (src/daemon/guard.ts: its rx grew while its endpoint was the
 *  link's); none within this long: that relay is dropped and held for the peer, and the attempt
 *  failed (back-off, offline). A relay session opened from a stale DHT entry of a peer that is
 *  gone reaches no one. Above PEER_SEARCH_MAX plus wireguard-go's 5 s REKEY_TIMEOUT: a live peer
 *  that follows onto the relay only at its own next search is heard within it. */
export const PATH_RELAY_HEARD_TIMEOUT = 15_000;
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

// Names and peer arguments: how `wh` finds a node's config by name, and which texts name a peer.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

/** Where `wh up NAME` finds NAME.conf and NAME.sk (wg-quick's /etc/wireguard); the environment
 *  variable WH_CONFIG_DIR overrides it (tests). */
export const CONFIG_DIR = '/etc/wirehub';
/** A key prefix names a peer from this many base64 characters on (24 bits: 1 in 16 million
 *  that two random keys share one; shorter texts are taken for names only). */
export const PEER_PREFIX_MIN = 4;
/** A peer argument longer than this is refused unread (the longest form, a hostname with the
 *  network's name after it, is under 300 characters). */
export const PEER_QUERY_MAX = 300;
/** `wh show all` lists at most this many DHT nodes (closest buckets first); the count says
 *  how many there are in all. */
export const SHOW_DHT_NODES_MAX = 500;

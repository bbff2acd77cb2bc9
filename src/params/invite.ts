// Invitations and the alias exchange (docs/PROTOCOL.md section 7.4 `alias`/`alias-ok`, 7.8).
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

/** Datagram size an `alias` request is padded to: the whole MAX_PACKET, so that an inviter that
 *  has not verified the joiner's address can still answer with one part of the network file
 *  (1452 − PING_PAD_TO = 1292 bytes) and ping back. */
export const ALIAS_PAD_TO = 1452; // @protocol
/** Largest part of the network file one `alias-ok` carries (`d`). */
export const ALIAS_CHUNK = 1024; // @protocol
/** Most parts of one network file: a file over ALIAS_CHUNK × ALIAS_MAX_PARTS bytes (64 KiB) is
 *  not sent (the config reader's own limit is larger; such a network is joined by hand). */
export const ALIAS_MAX_PARTS = 64; // @protocol
/** Per source IP: `alias` requests an inviter handles per second (the keys asking are untrusted
 *  by definition); beyond it they are dropped and counted `alias-rate-limited`. */
export const ALIAS_PER_SEC = 4;
/** ... and the burst (a joiner fetches a few parts in a row). */
export const ALIAS_BURST = 16;
/** Invitations one node keeps pending at once (`wh invite` refuses more). */
export const INVITE_MAX_PENDING = 64;
/** A used or expired invitation is kept this long (to answer "already used" / "expired" to a
 *  joiner who tries again), then forgotten. */
export const INVITE_KEEP_USED = 7 * 24 * 3600_000;
/** `wh invite` without --expires: the invitation is good for this long. */
export const INVITE_DEFAULT_EXPIRY = 3600_000;
/** Longest --expires `wh invite` accepts. */
export const INVITE_MAX_EXPIRY = 30 * 24 * 3600_000;
/** `wh join` gives up reaching the inviter after this long (bootstrap, lookup, punch, alias). */
export const JOIN_TIMEOUT = 30_000;
/** `wh join` retries the punch towards the inviter at this interval until JOIN_TIMEOUT. */
export const JOIN_PUNCH_RETRY = 3000;
/** `wh join` waits this long for each `alias-ok` before sending the request again (the
 *  inviter writes two files before it answers the first) ... */
export const ALIAS_TIMEOUT = 2000;
/** ... this many times. */
export const ALIAS_RETRIES = 3;
/** `wh nc`: the TCP port the inviting side listens on, on its overlay address only. */
export const NC_PORT = 6200;
/** `wh nc INVITATION` keeps trying to connect to the other side this long after its node is up. */
export const NC_CONNECT_TIMEOUT = 30_000;
/** `wh nc` without --boot-config takes the boot nodes of this file. */
export const NC_DEFAULT_BOOT_CONFIG = '/etc/wirehub/public.conf';
/** How long `0nc`, its streams ended, waits for the kernel to have the other side acknowledge
 *  everything it sent (its FIN included) before it removes its node and with it the path
 *  (src/cli/tcpdrain.ts). */
export const NC_DRAIN_TIMEOUT = 15_000;
/** How often `0nc` looks at the connection's state while it drains. */
export const NC_DRAIN_POLL = 50;

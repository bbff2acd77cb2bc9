// The node process: control socket, operator safety, data plane supervision, first contact, memory.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

// ---- Local control socket (src/control) -------------------------------------------------------
/** Directory of the daemons' control sockets (mode 0700; sockets 0600). */
export const CONTROL_DIR = '/var/run/wirehub';
/** Largest control answer the CLI accepts (requests: CONTROL_MAX_REQUEST below). */
export const MAX_CONTROL_MESSAGE = 1 << 20;
/** A CLI call to a daemon gives up after this long. */
export const CONTROL_TIMEOUT = 5000;
/** `wh top` asks its daemon for a new `show` this often (the CLI's own timer)... */
export const TOP_INTERVAL = 1000;
/** ... and says the daemon is not answering when one request takes longer than this. */
export const TOP_REQUEST_TIMEOUT = 2000;
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


// ---- Memory (issue 10) ------------------------------------------------------------------------
/** The daemon's V8 young generation grows by this factor when it fills (V8's default is 2, up
 *  to 16 MiB a semi-space); 1 keeps it at its initial 1 MiB (src/util/heap.ts, bench/mesh.ts). */
export const DAEMON_SEMI_SPACE_GROWTH = 1;
/** Threads in V8's pool of background workers (GC, compilers) in a daemon's process (Node's
 *  default is 4): each worker that runs a task keeps a malloc arena of its own. Given by a
 *  detached `wh up` to the daemon it forks (`--v8-pool-size`, read only at a process's start:
 *  src/util/heap.ts); a foreground daemon gets it from NODE_OPTIONS (docs/NODE.md "Memory"). */
export const DAEMON_V8_POOL_SIZE = 1;

// ---- `wh ping` and `wh netcheck` (issue 11; docs/NODE.md "wh ping", "wh netcheck") -----------
/** The UDP port on a node's own overlay address where its daemon answers `ping`s of its trusted
 *  peers sent through the WireGuard tunnel (docs/PROTOCOL.md 7.6 "Pinging through the tunnel"):
 *  a fixed port, because a peer's own port is not known inside the tunnel. */
export const TUNNEL_PING_PORT = 62098; // @protocol
/** `wh ping`: how long one ping waits for its pong when `--timeout` is not given (tailscale
 *  ping's default too), and the longest `--timeout` taken (the control connection itself ends
 *  after CONTROL_CONNECTION_DEADLINE). */
export const PING_TIMEOUT = 5000;
export const PING_TIMEOUT_MAX = 10_000;
/** `wh ping`: pings sent at most when `-c` is not given (tailscale ping's default), and the
 *  pause between two pings (after a pong; a timeout is followed by the next ping at once). */
export const PING_COUNT_DEFAULT = 10;
export const PING_INTERVAL = 1000;
/** `wh netcheck`: how long it waits after joining through the boot nodes before it asks them to
 *  check its reachability (a boot node checks only a node of its table: it enters the table
 *  once the boot node's verification ping was answered, a round trip after our first `find`). */
export const NETCHECK_SETTLE = 300;
/** `wh netcheck`: how long it looks for a UPnP IGD or NAT-PMP gateway. */
export const NETCHECK_PORTMAP_TIMEOUT = 2500;
/** `wh netcheck` says on stderr that it searches its throwaway key from this workbit on
 *  (measured here: up to 3 s at 12, up to 22 s at 16; a few ms at 8). */
export const NETCHECK_SLOW_WORKBIT = 12;

// ---- Names for every program: /etc/hosts and the DNS responder (src/daemon/names*.ts) -------
/** The hosts file a node with `hosts yes` writes its block into; the environment variable
 *  WH_HOSTS_FILE overrides it (tests). */
export const HOSTS_FILE = '/etc/hosts';
/** A writer of the hosts file waits at most this long for another writer's lock (held for
 *  the milliseconds of one read and rewrite); a lock seen unchanged that long is stale (its
 *  holder died, or its pid was reused) and is broken. */
export const HOSTS_LOCK_WAIT = 2000;
/** ...looking at the lock again this often. */
export const HOSTS_LOCK_RETRY = 10;
/** The DNS responder's UDP port on the node's overlay addresses (`dns yes`). */
export const DNS_PORT = 53;
/** Time to live of its answers (and of negative answers, through the SOA's minimum), seconds:
 *  short, so that a `wh reload` is seen soon by caching resolvers. */
export const DNS_TTL = 10;
/** A query longer than this is dropped unread (a question of one name fits in 512 bytes, the
 *  classic UDP limit; EDNS padding may make a real one a little longer). */
export const DNS_MAX_QUERY = 1232;
/** Queries answered per second, all sources together (token bucket, burst the same)... */
export const DNS_QUERIES_PER_SEC = 500;
/** ...and from one source address. Beyond either, queries are dropped and counted. */
export const DNS_QUERIES_PER_SOURCE = 100;
/** Source addresses the per-source limiter remembers (least recently used forgotten). */
export const DNS_SOURCES_TRACKED = 1024;

// The WebSocket transport (docs/PROTOCOL.md section 12; src/proto/wsframe.ts, src/net/ws*.ts):
// a node that cannot use UDP reaches a public node over one WebSocket connection.
// One part of src/params.ts, which re-exports every file of src/params/ (see its header).

/** The WebSocket subprotocol a client asks for and a server requires (Sec-WebSocket-Protocol). */
export const WS_SUBPROTOCOL = 'wirehub.1'; // @protocol
/** Largest WebSocket message: a type byte, a 32-byte key tag and a `MAX_PACKET` datagram
 *  (1 + 32 + 1452). A server closes a connection that sends a larger one (close code 1009). */
export const WS_MAX_MESSAGE = 1485; // @protocol
/** Messages (WebSocket pings included) one connection may send per second (token bucket),
 *  before any datagram in them is opened; beyond it a message is dropped and counted (a ping
 *  gets no pong). As UDP's `SOURCE_PACKETS_PER_SEC`. */
export const WS_MESSAGES_PER_SEC = 400; // @protocol
/** ... and the burst. */
export const WS_MESSAGES_BURST = 800; // @protocol
/** Relayed WireGuard datagrams (`WS_TO` frames) one connection may send per second (its own token
 *  bucket, taken on the type byte before the frame is decoded or its session looked up); beyond
 *  it a frame is dropped and counted (`ws-relay-rate`). They do not count against
 *  `WS_MESSAGES_PER_SEC`: the relay's per-session fair share and `RELAY_GLOBAL_PPS` govern them,
 *  as they govern relayed UDP; one connection is worth at most what the relay forwards in all.
 *  A `WS_TO` the relay refuses (no live session of the connection's key with the named key, not
 *  WireGuard) costs a message of `WS_MESSAGES_PER_SEC` too, and none is taken while that budget
 *  is spent: refused frames are looked up at most at the message rate. */
export const WS_RELAY_FRAMES_PER_SEC = 100_000; // @protocol
/** ... and the burst (a tenth of a second). */
export const WS_RELAY_FRAMES_BURST = 10_000; // @protocol
/** A connection that sent a message beyond one of its rates (`ws-rate`, `ws-relay-rate`,
 *  `ws-ping-rate`) is not read for this long (the server pauses its socket: TCP's window then
 *  holds the sender back). Dropping alone still costs the server the framing and unmasking of
 *  every frame a flood sends, as fast as TCP carries them (docs/NODE.md "WebSocket relay
 *  throughput"); paused, a flooding connection is read about one socket read (64 KiB) per
 *  pause. A connection within its rates is never paused. */
export const WS_RATE_PAUSE = 50; // @protocol
/** A connection must complete its WebSocket upgrade within this long after the TCP connect. */
export const WS_HANDSHAKE_TIMEOUT = 5000; // @protocol
/** A server closes a connection that sent nothing (no message, no ping) for this long: a client
 *  pings at least every `WS_KEEPALIVE`. */
export const WS_IDLE_TIMEOUT = 60_000; // @protocol

/** Period of a client's WebSocket pings (keepalive for the server and for NATs and proxies). */
export const WS_KEEPALIVE = 20_000;
/** WebSocket connections a server holds at once (open or in their handshake); more are closed
 *  at once, before their handshake is read. Idle ones cost a socket and a few KiB each. */
export const WS_MAX_CONNECTIONS = 2048;
/** ... of which from one source IP (a campus NAT puts many clients behind one address). */
export const WS_MAX_CONNECTIONS_PER_IP = 1024;
/** New connections one source (IPv4 address, IPv6 /64) may open per second, at the TCP accept:
 *  churn costs an HTTP parse and a handshake each. A client's back-off waits out a refusal. */
export const WS_ACCEPTS_PER_SEC = 100;
/** ... and the burst: a source may fill its WS_MAX_CONNECTIONS_PER_IP share at once (a campus
 *  NAT whose clients all reconnect after a restart). */
export const WS_ACCEPTS_BURST = 1024;
/** Request header bytes a WebSocket upgrade may carry (node:http's maxHeaderSize). */
export const WS_MAX_HEADER_BYTES = 8192;
/** Bytes a connection may have queued for sending (ws's bufferedAmount); a datagram that would
 *  go beyond it is dropped and counted (datagram semantics: no queue without bound over TCP). */
export const WS_SEND_BUFFER_MAX = 64 * 1024;
/** ... and all connections together (bytes not yet written to the kernel): clients that never
 *  read cannot make the server hold WS_MAX_CONNECTIONS x WS_SEND_BUFFER_MAX (128 MiB). */
export const WS_SEND_BUFFER_TOTAL = 4 * 1024 * 1024;
/** Datagrams a client keeps while its connection is being opened, sent once it is open. */
export const WS_CONNECT_QUEUE = 16;
/** A client's first reconnection waits this long; each failure doubles it up to WS_RECONNECT_MAX. */
export const WS_RECONNECT_MIN = 1000;
export const WS_RECONNECT_MAX = 30_000;

/** A node whose boot nodes have both a UDP and a ws:// line (docs/NAT.md "Falling back to
 *  WebSocket") moves to WebSocket when no boot node answered it over UDP for this long (at start,
 *  or since the last UDP answer). */
export const WS_FALLBACK_AFTER = 6000;
/** ... and pings its boot nodes' UDP addresses this often, in both states: on UDP to notice it
 *  going away, on WebSocket to notice it coming back (one answer moves it back). */
export const WS_UDP_PROBE_INTERVAL = 2000;

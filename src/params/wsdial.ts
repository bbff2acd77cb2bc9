// Opening a WebSocket client connection, directly or through an HTTP proxy (src/net/wsdial.ts,
// docs/NODE.md "HTTP proxies"). One part of src/params.ts, which re-exports every file of
// src/params/ (see its header).

/** A WebSocket dial (TCP to the server or the proxy, CONNECT, TLS, the upgrade) is given up
 *  after this long, every socket of it closed: a proxy that accepts and never answers, or a
 *  black-holed address, costs at most this. */
export const WS_DIAL_TIMEOUT = 10_000;

// Limits of the operator's tools: the metrics endpoint (`metrics HOST:PORT`,
// src/daemon/metricsserver.ts) and shell completion (`wh completion`, src/cli/commands/completion.ts).

/** Connections the metrics HTTP server holds at once; more are refused by the kernel's accept
 *  queue overflowing into closed sockets (node:http's maxConnections). A scraper needs one. */
export const METRICS_MAX_CONNECTIONS = 8;
/** A request's headers must arrive within this (slowloris), the whole request too. */
export const METRICS_REQUEST_TIMEOUT = 5000;
/** An idle kept-alive connection is closed after this (Prometheus scrapes every 15 s or more). */
export const METRICS_KEEPALIVE_TIMEOUT = 5000;
/** Request header bytes the metrics server reads at most (a scrape sends a few hundred). */
export const METRICS_MAX_HEADER_BYTES = 8192;
/** The metrics text is gathered at most once in this long; scrapes in between get the same
 *  text (Prometheus scrapes every 15 s or more; a flood gathers no faster than this). */
export const METRICS_CACHE = 1000;
/** `wh __complete peers` waits this long for each running daemon's answer, then completes
 *  without it: a TAB must not hang on a daemon that does not answer. */
export const COMPLETION_TIMEOUT = 500;

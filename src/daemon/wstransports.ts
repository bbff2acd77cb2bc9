// The node's WebSocket transports (docs/CONFIG.md, `listen ws://` and `boot KEY ws://`): the
// server of a `listen` line, and one client link per boot line with a ws:// URL, each a
// NodeTransport the DHT then sends and hears through (src/net/transport.ts TransportSet).
// Opened at start, and by a reload for what it adds (src/daemon/wsreload.ts applies the
// difference). A boot line's host name is resolved here once and pinned: the join
// (src/daemon/seeds.ts) must send to the very address the link carries.
import { readFile } from 'node:fs/promises';
import type { NetworkConfig } from '../config/index.js';
import type { NodeTransport } from '../net/transport.js';
import type { WsClientState } from '../net/wsclient.js';
import type { ProxyDirective } from '../net/wsproxy.js';
import type { Addr } from '../proto/addr.js';
import { addrKey, normalizeAddr, wsAddr } from '../proto/addr.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Lookup } from './seeds.js';
import { isWsRelayPort } from '../net/wsrelayport.js';
import { SwitchableWsLink, type SwitchedLink } from '../net/wsswitch.js';

/** A boot node with both a UDP and a ws:// line: its link is opened only while UDP gets no
 *  answer (src/daemon/wsfallback.ts). */
export interface FallbackLink {
  key: Uint8Array;
  /** The link's address (the URL's host, pinned, and port; a 'ws' address). */
  addr: Addr;
  link: SwitchableWsLink;
  /** Whether the link's connection is open now (off, connecting or waiting: not). */
  open(): boolean;
}

/** A client link opened for a `boot KEY ws://` line, with what makes it the same link in another
 *  config (`wsLinkId`). */
export interface WsLinkEntry {
  id: string;
  transport: ViewedTransport;
  fallback?: FallbackLink;
}

/** What a boot line's link depends on: its key, URL, whether it is a fallback (the key also has
 *  a UDP line) and the proxy directive. A reload re-creates a link whose id changed. */
export function wsLinkId(config: NetworkConfig, b: NetworkConfig['boots'][number]): string {
  const fallback = config.boots.some((o) => o.keyB64 === b.keyB64 && o.ws === undefined);
  const { line: _line, ...proxy } = config.proxy ?? { line: 0 };
  return `${b.keyB64} ${b.ws?.url ?? ''} ${fallback ? 'fallback' : 'always'} proxy ${JSON.stringify(proxy)}`;
}

/** What `wh show` says of a transport. */
export interface TransportView {
  kind: string;
  /** 'socket' (UDP), 'server' (`listen ws://`), 'client' (a link to a boot node). */
  role: 'socket' | 'server' | 'client';
  /** The bound address, or the URL connected to. */
  address: string;
  /** A client's connection: connecting, open, waiting to reconnect. */
  state: WsClientState | null;
  /** A server's connections held. */
  connections: number | null;
  counters: Record<string, number>;
}

/** A transport that can describe itself for `wh show`. */
export interface ViewedTransport extends NodeTransport {
  view(): TransportView;
}

export interface WsSeams {
  listenWs(opts: { host: string; port: number; clock: Clock; tls?: { cert: Buffer; key: Buffer }; trustedProxies?: readonly string[] }): Promise<ViewedTransport>;
  connectWs(opts: { url: string; addr: Addr; clock: Clock; random: () => number; onState: (s: WsClientState, why?: string) => void; proxy?: ProxyDirective }): ViewedTransport;
}

/** Opens the config's WebSocket transports; pushes their undo to `undo`. A server that cannot
 *  listen throws (the node does not start); a boot host that does not resolve is logged and
 *  skipped, as a UDP boot line's. Returns them with the pinned lookup the join must use. */
export async function openWsTransports(args: {
  config: NetworkConfig; selfB64: string; clock: Clock; log: Logger; lookup: Lookup; random: () => number; seams: WsSeams;
  undo: (() => Promise<void>)[];
  /** The host names pinned so far (a reload passes the running node's: its join reads them). */
  pinned?: Map<string, string>;
}): Promise<{ transports: ViewedTransport[]; lookup: Lookup; fallback: FallbackLink[]; server?: ViewedTransport; links: WsLinkEntry[]; failed: string[]; pinned: Map<string, string> }> {
  const { config, clock, log, seams, undo } = args;
  const transports: ViewedTransport[] = [];
  const fallback: FallbackLink[] = [];
  const links: WsLinkEntry[] = [];
  const failed: string[] = [];
  let opened: ViewedTransport | undefined;
  const pinned = args.pinned ?? new Map<string, string>();
  const l = config.listen;
  if (l !== undefined) {
    const where = `${config.file}:${l.line}: listen`;
    const read = (f: string) => readFile(f).catch((e: NodeJS.ErrnoException) => { throw new Error(`${where}: cannot read ${f}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`); });
    const tls = l.tls ? { cert: await read(l.cert!), key: await read(l.key!) } : undefined;
    const server = await seams.listenWs({ host: l.host, port: l.port, clock, ...(tls ? { tls } : {}), ...(l.trustedProxies ? { trustedProxies: l.trustedProxies } : {}) })
      .catch((e: NodeJS.ErrnoException) => { throw new Error(`${where}: cannot listen on ${addrKey(l)}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`); });
    undo.push(async () => server.close());
    transports.push(server);
    opened = server;
    log.info(`WebSocket transport listening on ${l.tls ? 'wss' : 'ws'}://${addrKey(l)}/`);
  }
  for (const b of config.boots) {
    if (b.ws === undefined || b.keyB64 === args.selfB64) continue;
    let host = b.host;
    if (b.hostKind === 'hostname') {
      try { host = pinned.get(b.host) ?? await args.lookup(b.host); } catch (e) {
        const why = `${config.file}:${b.line}: ${b.ws.url}: cannot resolve ${b.host} (${e instanceof Error ? e.message : String(e)})`;
        log.warn(why);
        failed.push(why);
        continue;
      }
      pinned.set(b.host, host);
    }
    const url = b.ws.url, addr = wsAddr(normalizeAddr({ host, port: b.port })); // (as src/daemon/seeds.ts's)
    const connect = () => seams.connectWs({
      url, addr, clock, random: args.random, ...(config.proxy ? { proxy: config.proxy } : {}),
      onState: (s, why) => log[s === 'waiting' ? 'warn' : 'info'](`WebSocket link to ${url}: ${s}${why ? ` (${why})` : ''}`),
    });
    // A key that also has a UDP line: the link is a fallback, off until UDP gets no answer.
    if (config.boots.some((o) => o.keyB64 === b.keyB64 && o.ws === undefined)) {
      const sw = new SwitchableWsLink(addr, () => asRelayPort(connect()));
      const view = (): TransportView => ({ ...((sw.link as ViewedTransport | undefined)?.view() ?? { kind: 'ws', role: 'client', state: 'closed', connections: null, counters: {} }), address: url });
      const link = Object.assign(sw, { view });
      undo.push(async () => link.close());
      transports.push(link);
      fallback.push({ key: b.key, addr, link, open: () => view().state === 'open' });
      links.push({ id: wsLinkId(config, b), transport: link, fallback: fallback.at(-1)! });
      continue;
    }
    const link = connect();
    undo.push(async () => link.close());
    transports.push(link);
    links.push({ id: wsLinkId(config, b), transport: link });
  }
  const base = args.lookup;
  return { transports, fallback, links, failed, pinned, ...(opened ? { server: opened } : {}),
    lookup: (h) => { const p = pinned.get(h); return p !== undefined ? Promise.resolve(p) : base(h); } };
}

/** A test's transport without relayed frames gets none. */
function asRelayPort(t: ViewedTransport): SwitchedLink {
  if (isWsRelayPort(t)) return t as ViewedTransport & SwitchedLink;
  return Object.assign(t, { sendRelay: () => false, setRelayReceiver: () => undefined });
}

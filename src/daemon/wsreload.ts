// The node's WebSocket transports while it runs (docs/NODE.md "What wh reload applies"): the
// `listen ws://` server and the links of `boot KEY ws://` lines, as opened at start by
// src/daemon/wstransports.ts, and a reload's difference. `prepare` does everything that can
// refuse the new config (reading a new certificate, binding a new listener) and changes nothing
// the node uses when it refuses; the `commit` it returns swaps what changed in the node's
// TransportSet and relay ports. An unchanged listener keeps its connections (its trusted proxies
// and, for wss://, its certificate are replaced in place), an unchanged link its connection;
// only a link whose key, URL, fallback role or proxy directive changed is re-created.
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { NetworkConfig } from '../config/index.js';
import type { WsListen } from '../config/wslisten.js';
import type { TransportSet } from '../net/transport.js';
import { isWsRelayPort, type WsRelayPorts } from '../net/wsrelayport.js';
import { addrKey } from '../proto/addr.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Lookup } from './seeds.js';
import { openWsTransports, wsLinkId, type FallbackLink, type ViewedTransport, type WsLinkEntry, type WsSeams } from './wstransports.js';

/** A server transport as the real seam makes it (src/net/wsserver.ts): changed in place. */
type ServerHandle = ViewedTransport & {
  setTrustedProxies?(list: readonly string[] | undefined): void;
  setTls?(tls: { cert: Buffer; key: Buffer }): void;
};

export class WsReloadError extends Error {}

export interface WsDeps {
  clock: Clock;
  log: Logger;
  lookup: Lookup;
  random: () => number;
  seams: WsSeams;
  selfB64: string;
  /** The node's transports (the DHT's) and relay ports: what a commit adds to and removes from. */
  set: TransportSet;
  ports: WsRelayPorts;
  /** The fallback links after a commit (the daemon makes, updates or closes its driver). */
  setFallback(links: readonly FallbackLink[]): void;
  /** Some link went away: the relay links renew (one may have run over it). */
  renew(): void;
}

const label = (l: WsListen) => `${l.tls ? 'wss' : 'ws'}://${addrKey(l)}/`;
const sameList = (a?: readonly string[], b?: readonly string[]) => (a ?? []).join(' ') === (b ?? []).join(' ');

export class WsTransports {
  private listen: WsListen | undefined;
  private server: ServerHandle | undefined;
  private readonly links = new Map<string, WsLinkEntry>();

  constructor(private readonly deps: WsDeps, config: NetworkConfig, opened: { server?: ViewedTransport; links: WsLinkEntry[] }, private readonly pinned: Map<string, string>) {
    if (opened.server !== undefined) { this.listen = config.listen; this.server = opened.server; }
    for (const e of opened.links) this.links.set(e.id, e);
  }

  /** Everything that can refuse `next` (a listener that cannot bind, a certificate that cannot
   *  be read): a WsReloadError, and the node's transports as they were (but for a listener that
   *  had to be closed first to bind the same port: then it is reopened, its connections lost,
   *  and the error says so). Else the commit, which cannot fail; what it could not do (a boot
   *  host that does not resolve, an old listener that could not be reopened) is in `errors`. */
  async prepare(next: NetworkConfig): Promise<() => { changes: string[]; errors: string[] }> {
    const changes: string[] = [], errors: string[] = [];
    const steps: (() => void)[] = [];
    await this.prepareServer(next, changes, errors, steps);
    // The links: those whose id is gone close, new ids open (the UDP lines stay in the config
    // the new links are opened from: they make a ws:// line a fallback one).
    const want = new Map(next.boots.filter((b) => b.ws !== undefined && b.keyB64 !== this.deps.selfB64).map((b) => [wsLinkId(next, b), b] as const));
    const gone = [...this.links.values()].filter((e) => !want.has(e.id));
    const added = next.boots.filter((b) => b.ws === undefined || (want.has(wsLinkId(next, b)) && !this.links.has(wsLinkId(next, b))));
    const opened = added.some((b) => b.ws !== undefined)
      ? await this.open({ ...next, listen: undefined, boots: added } as NetworkConfig)
        .catch((e: unknown) => ({ links: [] as WsLinkEntry[], failed: [`WebSocket links: ${e instanceof Error ? e.message : String(e)}`] }))
      : { links: [] as WsLinkEntry[], failed: [] as string[] };
    errors.push(...opened.failed);
    return () => {
      for (const s of steps) s();
      for (const e of gone) {
        this.drop(e.transport);
        this.links.delete(e.id);
        changes.push(`link ${e.transport.view().address} closed`);
      }
      for (const e of opened.links) {
        this.add(e.transport);
        this.links.set(e.id, e);
        changes.push(`link ${e.transport.view().address} opened${e.fallback ? ' (fallback)' : ''}`);
      }
      if (gone.length + opened.links.length > 0) this.deps.setFallback([...this.links.values()].flatMap((e) => (e.fallback ? [e.fallback] : [])));
      if (gone.length > 0) this.deps.renew();
      return { changes, errors };
    };
  }

  private async prepareServer(next: NetworkConfig, changes: string[], errors: string[], steps: (() => void)[]): Promise<void> {
    const before = this.listen, after = next.listen, old = this.server;
    if (before === undefined && after === undefined) return;
    if (before !== undefined && after !== undefined && old !== undefined && before.host === after.host && before.port === after.port && before.tls === after.tls) {
      // The same listener: changed in place, its connections kept.
      const tls = after.tls ? await this.readTls(after, next.file) : undefined;
      steps.push(() => {
        old.setTrustedProxies?.(after.trustedProxies);
        if (tls !== undefined) old.setTls?.(tls);
        this.listen = after;
      });
      const what = [...(!sameList(before.trustedProxies, after.trustedProxies) ? ['trusted proxies'] : []), ...(after.tls ? ['certificate read again'] : [])];
      if (what.length > 0) changes.push(`listen ${label(after)} kept (${what.join(', ')}), its connections too`);
      return;
    }
    if (after === undefined) {
      steps.push(() => { this.drop(old!); this.server = this.listen = undefined; });
      changes.push(`listen ${label(before!)} closed`);
      return;
    }
    // A new listener. On another port it is bound first: the old one serves until the commit.
    if (before === undefined || old === undefined || before.port !== after.port) {
      const server = await this.openServer(next);
      steps.push(() => {
        if (old !== undefined) this.drop(old);
        this.add(server);
        this.server = server;
        this.listen = after;
      });
      changes.push(before !== undefined ? `listen ${label(before)} closed, ${label(after)} opened` : `listen ${label(after)} opened`);
      return;
    }
    // The same port (another address, or ws:// <-> wss://): the old one must let it go first.
    if (after.tls) await this.readTls(after, next.file); // a bad file refuses before the old one closes
    this.drop(old);
    this.server = undefined;
    try {
      const server = await this.openServer(next);
      steps.push(() => { this.add(server); this.server = server; this.listen = after; });
      changes.push(`listen ${label(before)} closed, ${label(after)} opened`);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      try {
        const back = await this.openServer({ ...next, listen: before } as NetworkConfig);
        this.add(back);
        this.server = back;
      } catch (e2) {
        // Neither: the node has no listener now, and the reload must not say its state was kept.
        this.listen = undefined;
        errors.push(`${why}; the old listener ${label(before)} could not be reopened either (${e2 instanceof Error ? e2.message : String(e2)}): no WebSocket server until a reload that binds one`);
        changes.push(`listen ${label(before)} closed`);
        return;
      }
      throw new WsReloadError(`${why}; ${label(before)} was closed to free the port and is open again (its connections were closed)`);
    }
  }

  /** Reads a wss:// certificate and key and checks them (a bad PEM refuses the reload). */
  private async readTls(l: WsListen, file: string): Promise<{ cert: Buffer; key: Buffer }> {
    const where = `${file}:${l.line}: listen`;
    const read = (f: string) => readFile(f).catch((e: NodeJS.ErrnoException) => { throw new WsReloadError(`${where}: cannot read ${f}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`); });
    const tls = { cert: await read(l.cert!), key: await read(l.key!) };
    try { createSecureContext(tls); } catch (e) { throw new WsReloadError(`${where}: ${l.cert} / ${l.key}: not a usable certificate and key (${e instanceof Error ? e.message : String(e)})`); }
    return tls;
  }

  /** Binds the listener of `config` (its errors name the file and line). */
  private async openServer(config: NetworkConfig): Promise<ServerHandle> {
    const r = await this.open({ ...config, boots: [] } as NetworkConfig).catch((e: unknown) => { throw new WsReloadError(e instanceof Error ? e.message : String(e)); });
    return r.server as ServerHandle;
  }

  private open(config: NetworkConfig) {
    const { clock, log, lookup, random, seams, selfB64 } = this.deps;
    return openWsTransports({ config, selfB64, clock, log, lookup, random, seams, undo: [], pinned: this.pinned });
  }

  private add(t: ViewedTransport): void {
    this.deps.set.add(t);
    if (isWsRelayPort(t)) this.deps.ports.add(t);
  }

  private drop(t: ViewedTransport): void {
    this.deps.set.remove(t);
    if (isWsRelayPort(t)) this.deps.ports.remove(t);
    t.close();
  }
}

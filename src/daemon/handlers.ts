// The control handlers: what the daemon answers on its control socket (src/control/protocol.ts):
// `show` (the schema is src/control/show.ts), `reload` (the config file's difference applied),
// `resolve` (src/daemon/resolvehandler.ts), `down`, `ping` (src/daemon/pingpeer.ts) and
// `invite` (src/daemon/invites.ts).
import { loadConfig, peerNameError } from '../config/index.js';
import { keyToBase64 } from '../crypto/keys.js';
import type { ControlRequest } from '../control/protocol.js';
import type { ShowPeer, ShowResult, ShowTransport } from '../control/show.js';
import type { NodeTransport } from '../net/transport.js';
import type { ViewedTransport } from './wstransports.js';
import { toHex } from '../dht/id.js';
import { NAT_KEEPALIVE_SECONDS } from '../params.js';
import { addrKey } from '../proto/addr.js';
import type { NodeContext } from './context.js';
import type { TrustedPeer } from './peers.js';
import { pingPeer } from './pingpeer.js';
import type { TunnelPing } from './tunnelping.js';
import { ResolveError, resolveTrustEndpoints, seedDiff, seedLabel } from './seeds.js';
import { answerResolve } from './resolvehandler.js';
import { dhtNodes } from './dhtview.js';
import { allowedIpsOf, isPublicNodeConfig, trustedPeersOf } from './trusted.js';
import { WsReloadError } from './wsreload.js';

export class DaemonError extends Error {}

export interface ReloadResult {
  added: string[]; removed: string[]; changed: string[]; bootsAdded: string[]; bootsRemoved: string[];
  /** The WebSocket listener and links opened, closed or changed in place (src/daemon/wsreload.ts). */
  transports: string[];
  errors?: string[];
}

export class ControlHandlers {
  /** The tunnel ping socket (src/daemon/tunnelping.ts), once bound. */
  tunnelPing: TunnelPing | undefined;

  constructor(private readonly ctx: NodeContext, private readonly started: number, private readonly stop: () => void) {}

  async handle(req: ControlRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'show': return this.show(req.all === true);
      case 'reload': return this.reload();
      case 'resolve': {
        const selfName = this.ctx.config.peers.find((p) => p.keyB64 === this.ctx.publicB64)?.hostname ?? null;
        return answerResolve(await this.show(false), selfName, req.peer);
      }
      case 'down':
        setImmediate(() => this.stop());
        return { stopping: this.ctx.opts.iface };
      case 'invite': return this.invite(req);
      case 'ping': return pingPeer(this.ctx, this.tunnelPing, req.peer, req.timeoutMs);
    }
  }

  /** Registers an invitation (src/daemon/invites.ts); what `wh invite` needs to print it. */
  async invite(req: Extract<ControlRequest, { cmd: 'invite' }>): Promise<{ file: string }> {
    const { ctx } = this;
    if (isPublicNodeConfig(ctx.config)) throw new DaemonError('a public DHT node has no network to invite to (no trust lines)');
    if (!/^[A-Za-z0-9+/]{43}=$/.test(req.alias)) throw new DaemonError('invite: the alias key is not a key');
    const nameError = req.hostname !== undefined ? peerNameError(req.hostname) : undefined;
    if (nameError !== undefined) throw new DaemonError(`invite: ${nameError}`);
    if (!Number.isFinite(req.expires) || req.expires <= ctx.seams.wallNow()) throw new DaemonError('invite: the expiry is not in the future');
    await ctx.invites.add({ alias: req.alias, created: ctx.seams.wallNow(), expires: req.expires, ...(req.hostname !== undefined ? { hostname: req.hostname } : {}) })
      .catch((e: unknown) => { throw new DaemonError(e instanceof Error ? e.message : String(e)); });
    ctx.log.info(`invite: invitation registered${req.hostname ? ` for ${req.hostname}` : ''}, until ${new Date(req.expires).toISOString()}`);
    return { file: ctx.invites.store.file };
  }

  /** Everything `wh show` prints. */
  async show(all: boolean): Promise<ShowResult> {
    const { ctx } = this;
    const wg = ctx.wg, nat = ctx.nat.verdict, mapping = ctx.nat.mapping;
    const dump = wg ? await wg.dump().catch(() => undefined) : undefined;
    const now = ctx.clock.now();
    // While the data plane is down no peer is reachable, whatever the DHT says.
    const planeDown = wg !== undefined && wg.state !== 'up';
    const self = ctx.config.peers.find((p) => p.keyB64 === ctx.publicB64);
    const peers = ctx.paths.all().map(({ peer, view: v }): ShowPeer => {
      const w = dump?.peers.find((p) => p.publicKey === peer.keyB64);
      return {
        name: peer.hostname ?? null,
        key: peer.keyB64,
        ipv4: peer.ipv4 ?? null,
        ipv6: peer.ipv6 ?? null,
        path: planeDown ? 'down' : v.shown,
        endpoint: v.endpoint ? addrKey(v.endpoint) : v.relay ? addrKey(v.relay.addr) : null,
        relay: v.relay ? keyToBase64(v.relay.key) : null,
        relayForwarding: v.relay ? (v.transport === 'ws' ? 'websocket' : v.kernel ? 'kernel' : 'daemon') : null,
        since: Math.round((now - v.since) / 1000),
        rttMs: v.rtt !== undefined ? Math.round(v.rtt) : null,
        wgEndpoint: w?.endpoint ?? null,
        lastHandshake: w && w.latestHandshake > 0 ? w.latestHandshake : null,
        rxBytes: w?.rxBytes ?? 0,
        txBytes: w?.txBytes ?? 0,
      };
    });
    const result: ShowResult = {
      interface: ctx.opts.iface,
      network: ctx.config.name,
      config: ctx.opts.configPath,
      publicKey: ctx.publicB64,
      role: wg ? 'node' : 'public',
      backend: wg?.backend ?? null,
      dataPlane: wg?.state ?? null,
      dataPlaneRestarts: wg?.restarts ?? 0,
      dataPlaneError: wg?.lastError ?? null,
      ipv4: self?.ipv4 ?? null,
      ipv6: self?.ipv6 ?? null,
      listenPort: ctx.opts.listenPort,
      nat: nat.type,
      natObservers: nat.responders,
      publicAddress: nat.publicAddr ? addrKey(nat.publicAddr) : null,
      portMapping: mapping ? { method: mapping.method, external: `${mapping.externalIp ?? '?'}:${mapping.externalPort}`, lease: mapping.lease } : null,
      uptime: Math.round((now - this.started) / 1000),
      dhtNodes: ctx.dht.table.size,
      boots: ctx.join.contact?.status() ?? [],
      transports: ctx.transports.map((t) => transportView(t, all)),
      relaying: { sessions: ctx.traversal.sessions.size, kernel: ctx.traversal.kernel?.forwarding ?? 0 },
      peers,
    };
    if (all) {
      const { buckets, counters, rpc } = ctx.dht.snapshot();
      const reach = ctx.nat.claims.summary(ctx.clock.now());
      result.dht = { buckets, counters, rpc, reach, nodes: dhtNodes(ctx.dht.table, reach, ctx.clock.now()) };
    }
    return result;
  }

  /**
   * Re-reads the config file and applies the difference. Everything that can refuse the edit is
   * checked first: a refusal throws and changes nothing. Once the checks pass the new config is
   * in effect; a WireGuard change that fails after that is reported in `errors` (the CLI exits
   * non-zero and says the config was applied), never thrown, since a throw would claim the old
   * state was kept.
   */
  async reload(): Promise<ReloadResult> {
    const { ctx } = this;
    const next = await resolveTrustEndpoints(await loadConfig(ctx.opts.configPath), ctx.seams.lookup)
      .catch((e: unknown) => { throw e instanceof ResolveError ? new DaemonError(e.message) : e; });
    const selfNow = ctx.config.peers.find((p) => p.keyB64 === ctx.publicB64);
    const selfNext = next.peers.find((p) => p.keyB64 === ctx.publicB64);
    if (isPublicNodeConfig(next) !== isPublicNodeConfig(ctx.config)) throw new DaemonError('reload cannot turn a public node into a trusted node or back; use wh down and wh up');
    if (!isPublicNodeConfig(next) && (selfNext === undefined || !selfNext.trusted)) throw new DaemonError(`${next.file}: this node's key has no trust line any more; use wh down`);
    if (selfNow?.ipv4 !== selfNext?.ipv4 || selfNow?.ipv6 !== selfNext?.ipv6) throw new DaemonError(`${next.file}: this node's own overlay address changed; use wh down and wh up`);
    if (next.workbit !== ctx.config.workbit || next.namespace !== ctx.config.namespace) throw new DaemonError(`${next.file}: workbit or namespace changed; use wh down and wh up`);
    const peers = trustedPeersOf(next, ctx.publicB64);
    // The last check: a listener that cannot bind (a certificate that cannot be read) refuses.
    const commitWs = await ctx.ws.prepare(next).catch((e: unknown) => { throw e instanceof WsReloadError ? new DaemonError(e.message) : e; });
    // Applied from here on, all of it.
    const seeds = seedDiff(ctx.config, next, ctx.publicB64);
    ctx.config = next;
    // The links first: a new ws:// boot node is then joined over its link.
    const ws = commitWs();
    ctx.join.joinSeeds(seeds);
    const diff = ctx.paths.setPeers(peers);
    const name = (p: TrustedPeer) => p.hostname ?? p.keyB64;
    const errors: string[] = [...ws.errors];
    const attempt = (p: TrustedPeer, op: () => Promise<void>) =>
      op().catch((e: unknown) => { errors.push(`${name(p)}: ${e instanceof Error ? e.message : String(e)}`); });
    const wg = ctx.wg;
    if (wg) {
      for (const p of diff.removed) {
        const hex = toHex(p.key);
        ctx.guard.forget(hex);
        await attempt(p, () => ctx.wgSync.remove(hex, p.keyB64));
      }
      for (const p of diff.added) await attempt(p, () => wg.setPeer({ publicKey: p.keyB64, allowedIps: allowedIpsOf(p), ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}) }));
      for (const { after } of diff.changed) {
        // Only the allowed IPs change: the endpoint (direct, or a relay link's loopback) stays.
        const hex = toHex(after.key);
        const relayed = ctx.paths.state(hex) === 'relayed';
        const config = { publicKey: after.keyB64, allowedIps: allowedIpsOf(after), keepalive: relayed ? NAT_KEEPALIVE_SECONDS : ctx.nat.keepalive() };
        await attempt(after, () => ctx.wgSync.update(hex, config));
      }
    }
    const self = next.peers.find((p) => p.keyB64 === ctx.publicB64);
    await ctx.names?.apply(next, [self?.ipv4, self?.ipv6].filter((a): a is string => a !== undefined))
      .catch((e: unknown) => { errors.push(`names: ${e instanceof Error ? e.message : String(e)}`); });
    await ctx.metrics?.apply(next.metrics, next.file).catch((e: unknown) => { errors.push(e instanceof Error ? e.message : String(e)); });
    const result = { added: diff.added.map(name), removed: diff.removed.map(name), changed: diff.changed.map((c) => name(c.after)),
      bootsAdded: seeds.added.map(seedLabel), bootsRemoved: seeds.removed.map(seedLabel), transports: ws.changes, ...(errors.length > 0 ? { errors } : {}) };
    ctx.log.info(`reload: ${JSON.stringify(result)}`);
    return result;
  }
}

/** What `wh show` says of one transport: its own view (WebSocket ones), else its kind and bound
 *  address (the UDP socket). */
function transportView(t: NodeTransport, all: boolean): ShowTransport {
  const v = (t as Partial<ViewedTransport>).view?.();
  const local = (t as { local?: { host: string; port: number } }).local;
  const counters = (t as { counters?: { toJSON(): Record<string, number> } }).counters?.toJSON();
  const base: ShowTransport = v ? { kind: v.kind, role: v.role, address: v.address, state: v.state, connections: v.connections }
    : { kind: t.kind, role: 'socket', address: local ? addrKey(local) : '', state: null, connections: null };
  return all && counters ? { ...base, counters } : base;
}

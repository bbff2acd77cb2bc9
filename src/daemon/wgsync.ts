// WireGuard sync: the daemon's side of the data plane. Every change of a peer goes through its
// own queue (peerOp), so two `wg set` of one peer never land out of order; one dump per tick
// feeds the path checks (src/daemon/guard.ts) and tells the path machines which peers have a
// session (their handshake watch, src/path/machine.ts, re-creates a peer that got none).
import { hasSession } from '../wg/session.js';
import type { WgPeerConfig } from '../wg/types.js';
import type { NodeContext } from './context.js';
import type { TrustedPeer } from './peers.js';
import type { Poker } from './seams.js';

/** UDP discard port: where handshake-triggering datagrams go (the peer ignores them). */
const DISCARD_PORT = 9;

export class WgSync {
  private watching = false;
  /** The last WireGuard configuration asked for each peer (by key hex), and the queue of its
   *  WireGuard changes. */
  private readonly wanted = new Map<string, WgPeerConfig>();
  private readonly peerOps = new Map<string, Promise<void>>();
  private poker: Poker | undefined;

  constructor(private readonly ctx: NodeContext) {}

  close(): void {
    this.poker?.close();
  }

  /** Whether WireGuard was given a configuration for this peer (and it was not removed). */
  has(hex: string): boolean {
    return this.wanted.has(hex);
  }

  /** Gives WireGuard a peer's endpoint (the path machine pokes and watches the handshake). */
  async setEndpoint(hex: string, config: WgPeerConfig): Promise<void> {
    const { ctx } = this;
    if (ctx.wg === undefined || !ctx.paths.has(hex)) return;
    this.wanted.set(hex, config);
    await this.peerOp(hex, () => ctx.wg!.setPeer(config));
    ctx.guard.endpointSet(hex);
  }

  /** A peer's allowed IPs or keepalive changed (a reload): the endpoint stays. */
  async update(hex: string, config: WgPeerConfig): Promise<void> {
    const before = this.wanted.get(hex);
    if (before !== undefined) this.wanted.set(hex, { ...before, ...config });
    await this.peerOp(hex, () => this.ctx.wg!.setPeer(config));
  }

  /** The current endpoint's keepalive, once the peer has a session (the path machine holds it
   *  back until then: src/path/handshake.ts endpointSet): the endpoint stays. */
  async keepalive(hex: string, seconds: number): Promise<void> {
    const before = this.wanted.get(hex);
    if (before === undefined || this.ctx.wg === undefined || before.keepalive === seconds) return;
    const config = { ...before, keepalive: seconds };
    this.wanted.set(hex, config);
    await this.peerOp(hex, () => this.ctx.wg!.setPeer(config));
  }

  /** A peer left the config: WireGuard forgets it. */
  async remove(hex: string, publicKey: string): Promise<void> {
    this.wanted.delete(hex);
    await this.peerOp(hex, () => this.ctx.wg!.removePeer(publicKey));
  }

  /** Runs WireGuard changes of one peer one after the other, in the order they were asked for
   *  (two `wg set` of the same peer in flight could otherwise land in either order). */
  private peerOp(hex: string, op: () => Promise<void>): Promise<void> {
    const next = (this.peerOps.get(hex) ?? Promise.resolve()).then(op, op);
    const tail = next.catch(() => undefined);
    this.peerOps.set(hex, tail);
    void tail.then(() => { if (this.peerOps.get(hex) === tail) this.peerOps.delete(hex); });
    return next;
  }

  /** The data plane was recreated with every peer (src/daemon/supervise.ts): the peers it had
   *  sessions with still hold them, so ours start the handshakes now (their machines poke). */
  dataPlaneRestored(): void {
    for (const { hex } of this.ctx.paths.all()) {
      if (!this.wanted.has(hex)) continue;
      this.ctx.guard.endpointSet(hex);
      this.ctx.paths.step(hex, { t: 'restored' });
    }
  }

  /**
   * Makes WireGuard handshake with a peer now rather than when traffic first flows: one empty
   * UDP datagram to the peer's overlay address (discard port) enters the tunnel, so WireGuard
   * initiates a handshake at once. This matters after either side restarted: the side that
   * kept running holds a dead session and would wait up to 15 s before it re-handshakes.
   */
  poke(p: TrustedPeer): void {
    const ip = p.ipv4 ?? p.ipv6;
    if (ip === undefined || this.ctx.stopping) return;
    this.poker ??= this.ctx.seams.poker();
    this.poker.send(ip, DISCARD_PORT);
  }

  /** One WireGuard dump per tick: judges the peers' paths by WireGuard's counters
   *  (src/daemon/guard.ts), and tells each path machine whether its peer has a session (a
   *  handshake since the endpoint was set, or one still valid). */
  async watchWireGuard(): Promise<void> {
    const { ctx } = this;
    if (this.watching || ctx.wg === undefined || ctx.wg.state !== 'up' || ctx.stopping) return;
    this.watching = true;
    try {
      const dump = await ctx.wg.dump();
      if (ctx.stopping) return;
      ctx.guard.sample(dump, ctx.clock.now());
      for (const { peer, hex } of ctx.paths.all()) {
        const w = dump.peers.find((p) => p.publicKey === peer.keyB64);
        // (WireGuard's handshake times are wall-clock: src/wg/session.ts reads that clock.)
        if (w !== undefined && this.wanted.has(hex) && (ctx.guard.live.handshakeSinceSet(hex) || hasSession(w.latestHandshake))) ctx.paths.step(hex, { t: 'handshakeSeen' });
      }
    } catch (e) {
      ctx.log.warn(`wireguard: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.watching = false;
    }
  }

  /** Whether WireGuard has a session with the peer now (a fresh dump, not the last sample). */
  async hasSession(peer: TrustedPeer): Promise<boolean> {
    const dump = await this.ctx.wg?.dump().catch(() => undefined);
    const w = dump?.peers.find((p) => p.publicKey === peer.keyB64);
    return w !== undefined && hasSession(w.latestHandshake);
  }

  /** Re-creates a peer in WireGuard with the configuration wanted now (fresh handshake state), and pokes it. */
  async recreate(hex: string): Promise<void> {
    const { ctx } = this;
    const peer = ctx.paths.all().find((p) => p.hex === hex)?.peer;
    if (peer === undefined || ctx.wg === undefined) return;
    await this.peerOp(hex, async () => {
      const config = this.wanted.get(hex);
      if (config === undefined) return; // removed by a reload meanwhile
      await ctx.wg!.removePeer(config.publicKey);
      await ctx.wg!.setPeer(config);
    });
    this.poke(peer);
  }
}

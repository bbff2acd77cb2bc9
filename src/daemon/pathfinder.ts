// Path finding: where each trusted peer is reached, and WireGuard's endpoint for it. A peer
// the tracker says is due (src/daemon/peers.ts) is searched (DHT lookup, pings, then a punch
// through a rendezvous, then a relay) or re-checked; an answer that passes the path check
// (src/daemon/guard.ts) locates it; a relay link that is ready points WireGuard at it. This is
// the one file the per-peer path machine (src/path/) replaces: its events come in through
// visit(), heard(), relayReady() and natChanged(), its actions go out through WgSync and
// Traversal.
import { keyToBase64 } from '../crypto/keys.js';
import { toHex } from '../dht/id.js';
import { addrKey, type Addr } from '../proto/addr.js';
import type { RelayLink } from '../relay/link.js';
import { NAT_KEEPALIVE_SECONDS, PATH_RELAY_TRIES } from '../params.js';
import type { NodeContext } from './context.js';
import { describePath, type PeerState } from './peers.js';
import { allowedIpsOf } from './trusted.js';

export class PathFinder {
  constructor(private readonly ctx: NodeContext) {}

  /** One peer tick: searches or re-checks the peers that are due. */
  tick(): void {
    for (const st of this.ctx.tracker.due(this.ctx.clock.now())) void this.visit(st);
  }

  /** The NAT type changed: the direct peers' keepalive follows it. */
  natChanged(): void {
    for (const st of this.ctx.tracker.all()) if (st.path === 'direct') void this.applyEndpoint(st);
  }

  /** Searches a peer that is not located (or only relayed), or checks one that is. */
  private async visit(st: PeerState): Promise<void> {
    const { ctx } = this;
    const hex = toHex(st.peer.key);
    const isDirect = () => ctx.tracker.get(hex)?.path === 'direct';
    try {
      if (st.path === 'direct' && st.endpoint) {
        const reply = await ctx.dht.ping(st.peer.key, st.endpoint);
        if (ctx.stopping) return;
        if (reply === undefined) ctx.tracker.checkFailed(hex, ctx.clock.now());
        return; // an answer went through heard() already (which drops the path if it fails the check)
      }
      // 1. Where the config or the DHT says it is: an answer there locates it (heard()).
      const candidates: Addr[] = [];
      if (st.peer.endpoint) candidates.push(st.peer.endpoint);
      const r = await ctx.dht.findNode(st.peer.key);
      if (ctx.stopping) return;
      if (r.found && !candidates.some((c) => addrKey(c) === addrKey(r.found!))) candidates.push(r.found);
      // (An answer that fails the path check locates nothing: go on.)
      for (const c of candidates) {
        await ctx.dht.ping(st.peer.key, c);
        if (isDirect() || ctx.stopping) return;
      }
      // 2. Through NATs: a rendezvous tells the peer, and both sides probe each other.
      if (ctx.wg !== undefined) {
        const rendezvous = ctx.nat.relayCandidates([hex]);
        const punched = await ctx.traversal.punch(st.peer.key, rendezvous, isDirect);
        if (ctx.stopping || isDirect()) return;
        // 3. No direct path: relay (through the rendezvous that reached the peer, else another).
        // Only once a rendezvous knew the peer (it is up and reachable from there).
        // Not while held: a relay path to this peer died unanswered lately (a relay opened
        // from a stale DHT entry reaches no one).
        if (st.path !== 'relay' && punched.via !== undefined && ctx.tracker.mayRelay(hex, ctx.clock.now())) {
          const relays = [punched.via, ...rendezvous.filter((x) => x.hex !== punched.via!.hex)];
          for (const relay of relays.slice(0, PATH_RELAY_TRIES)) {
            if ((await ctx.traversal.openLink(st.peer.key, relay)) !== undefined) break;
          }
        }
      }
      const now = ctx.clock.now();
      // (searchFailed ignores a peer that got located meanwhile, through heard().)
      if (ctx.tracker.get(hex)?.path === 'relay') ctx.tracker.directFailed(hex, now);
      else ctx.tracker.searchFailed(hex, now);
    } catch (e) {
      ctx.log.warn(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      ctx.tracker.release(hex);
    }
  }

  /** Points WireGuard at a located peer's endpoint. */
  private async applyEndpoint(st: PeerState): Promise<void> {
    const { ctx } = this;
    if (ctx.wg === undefined || st.endpoint === undefined || ctx.stopping) return;
    const endpoint = addrKey(st.endpoint);
    ctx.log.info(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)}`);
    try {
      await ctx.wgSync.setEndpoint(toHex(st.peer.key), { publicKey: st.peer.keyB64, endpoint, allowedIps: allowedIpsOf(st.peer), keepalive: ctx.nat.keepalive() });
    } catch (e) {
      ctx.log.error(`peer ${st.peer.keyB64}: cannot set WireGuard endpoint ${endpoint}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** A relay link for a peer is ready, or moved: WireGuard talks to its loopback endpoint. */
  async relayReady(hex: string, link: RelayLink): Promise<void> {
    const { ctx } = this;
    const st = ctx.tracker.get(hex);
    if (st === undefined || ctx.wg === undefined || ctx.stopping) { ctx.traversal.closeLink(hex); return; }
    if (st.path === 'direct') { ctx.traversal.closeLink(hex); return; } // a direct path won meanwhile
    ctx.tracker.relayed(hex, keyToBase64(link.relay.key), link.relay.addr, ctx.clock.now());
    ctx.log.info(`peer ${st.peer.hostname ?? st.peer.keyB64}: ${describePath(st)}`);
    await ctx.wgSync.setEndpoint(hex, { publicKey: st.peer.keyB64, endpoint: link.endpoint, allowedIps: allowedIpsOf(st.peer), keepalive: NAT_KEEPALIVE_SECONDS })
      .catch((e: unknown) => ctx.log.error(`peer ${st.peer.keyB64}: cannot set relay endpoint: ${String(e)}`));
  }

  /** A node answered us directly: if it is a trusted peer whose answer passes the path check
   *  (src/daemon/pathcheck.ts), that is where it is. A boot node's pong says where we are. */
  heard(id: Uint8Array, addr: Addr, rtt: number | undefined, seenAs: Addr | undefined): void {
    const { ctx } = this;
    const hex = toHex(id);
    const now = ctx.clock.now();
    if (seenAs !== undefined && ctx.join.boots.some((b) => toHex(b.key) === hex)) ctx.guard.self.observed(seenAs.host, now);
    const st = ctx.tracker.get(hex);
    if (st === undefined) return;
    const why = ctx.guard.judge(st, hex, addr, seenAs, now);
    if (why !== undefined) {
      if (why !== 'no-view') ctx.log.debug(`peer ${st.peer.hostname ?? st.peer.keyB64}: answer from ${addrKey(addr)} not taken (${why})`);
      return;
    }
    if (ctx.tracker.located(hex, addr, now, rtt)) {
      void this.applyEndpoint(st).then(() => ctx.traversal?.closeLink(hex));
    }
  }
}

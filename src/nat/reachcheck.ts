// The reach checker (docs/NAT.md "Verifying direct claims"): a directly reachable node, asked
// with `reach` by a node of its table, pings the named node from a fresh port and says whether
// it answered (src/nat/reach.ts keeps the asking side's verdicts).
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { sameAddr, sourceKey, type Addr } from '../proto/addr.js';
import { ERR_BUSY, ERR_REFUSED, type Message, type MessageOf } from '../proto/messages.js';
import type { Transport } from '../net/transport.js';
import type { RateLimiter } from '../util/ratelimit.js';
import { PING_PAD_TO, REACH_MAX_INFLIGHT, REACH_TIMEOUT } from '../params.js';
import { reachable } from './punch.js';

export interface ReachHost {
  dht: DhtNode;
  /** Whether this node may check (it is directly reachable). */
  canRelay(): boolean;
  /** Binds a UDP socket on a fresh port; absent: this node checks nothing. */
  openPort?: () => Promise<{ port: number; transport: Transport }>;
}

export class ReachChecker {
  private inflight = 0;
  closed = false;

  /** `limiter`: the per-source limit (shared with the rendezvous). */
  constructor(private readonly host: ReachHost, private readonly limiter: RateLimiter) {}

  onReach(req: Incoming, m: MessageOf<'reach'>, reply: (msg: Message) => number, now: number): number {
    // Only for a node in our table at the address it asks from (so never for a spoofed
    // source), padded to PING_PAD_TO like the single ping it causes, and never towards this
    // host's own loopback or an unspecified address.
    const asker = this.host.dht.table.get(req.senderHex);
    if (!this.host.canRelay() || this.host.openPort === undefined || req.size < PING_PAD_TO || asker === undefined ||
        !sameAddr(asker.addr, req.from) || !reachable(m.a)) return reply({ t: 'error', x: m.x, c: ERR_REFUSED });
    if (!this.limiter.take(sourceKey(req.from.host), now) || this.inflight >= REACH_MAX_INFLIGHT) return reply({ t: 'error', x: m.x, c: ERR_BUSY });
    void this.reach(m.k, m.a).then((ok) => {
      if (!this.closed) reply(ok === undefined ? { t: 'error', x: m.x, c: ERR_BUSY } : { t: 'reach-ok', x: m.x, r: ok ? 1 : 0 });
    });
    return 0;
  }

  /** Pings `key` at `addr` from a fresh port: true if it answered there; undefined when no
   *  port could be opened. */
  private async reach(key: Uint8Array, addr: Addr): Promise<boolean | undefined> {
    this.inflight++;
    let opened: { port: number; transport: Transport } | undefined;
    const { dht } = this.host;
    try {
      opened = await this.host.openPort!();
      const rpc = dht.rpc.fork(opened.transport, { onRequest: () => undefined, onOneWay: () => undefined });
      const r = await rpc.request(addr, key, (x) => ({ t: 'ping', x }), { padTo: PING_PAD_TO, timeout: REACH_TIMEOUT, retries: 0 });
      rpc.close();
      dht.counters.add(r?.msg.t === 'pong' ? 'reach-answered' : 'reach-silent');
      return r?.msg.t === 'pong';
    } catch {
      dht.counters.add('reach-error');
      return undefined;
    } finally {
      opened?.transport.close();
      this.inflight--;
    }
  }
}

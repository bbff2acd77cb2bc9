// The rendezvous (docs/PROTOCOL.md section 7.4): `punch-req` from A naming B → `punch-notify`
// to B (with A's address as we see it and A's sealed introduction, as A sent it) and
// `punch-ok` to A (with B's address). Any node may serve as one; B must be in our table.
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import { isUdpAddr, NO_UDP_ADDR, sourceKey } from '../proto/addr.js';
import { ERR_BUSY, ERR_UNKNOWN, type Message, type MessageOf } from '../proto/messages.js';
import type { RateLimiter } from '../util/ratelimit.js';

export class Rendezvous {
  /** `limiter`: the per-source limit of punch requests (shared with the reach checker). */
  constructor(private readonly dht: DhtNode, private readonly limiter: RateLimiter) {}

  /** A punch-req: rate limited per source, then relayed to the target as a punch-notify. */
  onPunchReq(req: Incoming, m: MessageOf<'punch-req'>, reply: (msg: Message) => number, now: number): number {
    if (!this.limiter.take(sourceKey(req.from.host), now)) return reply({ t: 'error', x: m.x, c: ERR_BUSY });
    const target = this.dht.table.get(toHex(m.k));
    if (target === undefined) return reply({ t: 'error', x: m.x, c: ERR_UNKNOWN });
    // The introduction (at most MAX_INTRO bytes) goes along as it came: the notify is larger
    // than the request by a few bytes at most, and goes to a verified node of our table only.
    // A node reached only over a WebSocket connection of ours has no UDP address to probe:
    // its TCP source is never given out (docs/NAT.md "WebSocket contacts"); it is reached
    // through us (the relay) only.
    const seenAt = m.a ?? (isUdpAddr(req.from) ? req.from : NO_UDP_ADDR);
    void this.dht.rpc.request(target.addr, target.id, (x) => ({ t: 'punch-notify', x, k: req.sender, a: seenAt, ...(m.i ? { i: m.i } : {}) }));
    return reply({ t: 'punch-ok', x: m.x, a: req.from, ...(isUdpAddr(target.addr) ? { e: target.addr } : {}) });
  }
}

// The refusing side of the workbit refusal (src/proto/refusal.ts): which dropped datagrams get
// one. Only datagrams dropped for their sender's workbit; never larger than the datagram; at
// most one per source (IPv4 address, IPv6 /64) per REFUSAL_MIN_INTERVAL and REFUSALS_PER_SEC in all (token buckets),
// so that a flood of forged datagrams from spoofed sources reflects at most that much, each
// reflection smaller than what caused it.
import { sourceKey, type Addr } from '../proto/addr.js';
import { HEADER_BYTES } from '../proto/packet.js';
import { writeRefusal } from '../proto/refusal.js';
import { RateLimiter } from '../util/ratelimit.js';
import { RATE_LIMIT_SOURCES, REFUSAL_MIN_INTERVAL, REFUSALS_BURST, REFUSALS_PER_SEC } from '../params.js';

export class Refuser {
  private readonly all = new RateLimiter(REFUSALS_PER_SEC, REFUSALS_BURST, 1);
  private readonly perSource = new RateLimiter(1000 / REFUSAL_MIN_INTERVAL, 1, RATE_LIMIT_SOURCES);

  constructor(private readonly self: Uint8Array, private readonly workbit: number, private readonly namespace: string) {}

  /** The refusal to send back for `data` (dropped for its sender's workbit), or undefined. */
  answer(data: Uint8Array, from: Addr, now: number): Uint8Array | undefined {
    if (this.workbit === 0 || data.length < HEADER_BYTES) return undefined;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out = writeRefusal({ responder: this.self, epoch: dv.getBigUint64(36), counter: dv.getBigUint64(44), workbit: this.workbit, namespace: this.namespace });
    if (out === undefined || out.length > data.length) return undefined;
    if (!this.perSource.take(sourceKey(from.host), now) || !this.all.take('', now)) return undefined;
    return out;
  }
}

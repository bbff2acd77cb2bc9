// Token buckets keyed by a string (a source IP), with a bounded number of keys: the least
// recently used key is forgotten first, which errs on the side of letting traffic through.
// A bucket that has filled up again is the same as no bucket, so it is forgotten too (a few at
// each take, least recently used first): the table holds the sources that are spending, not every
// source ever seen (a DHT node has one per peer, in two limiters, without this).
const PRUNE_PER_TAKE = 2;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; last: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly maxKeys: number,
  ) {}

  /** Takes one token for `key` at time `now` (ms); false when the bucket is empty. */
  take(key: string, now: number): boolean {
    this.prune(key, now);
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.burst, last: now };
    } else {
      this.buckets.delete(key); // re-insert below: Map order is our LRU order
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.last) * this.ratePerSec) / 1000);
      b.last = now;
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** True when `key` has a token at `now` (ms); takes none and remembers nothing new. */
  peek(key: string, now: number): boolean {
    const b = this.buckets.get(key);
    return b === undefined || Math.min(this.burst, b.tokens + ((now - b.last) * this.ratePerSec) / 1000) >= 1;
  }

  /** Forgets up to PRUNE_PER_TAKE least recently used buckets that are full again at `now`. */
  private prune(except: string, now: number): void {
    for (let i = 0; i < PRUNE_PER_TAKE; i++) {
      const oldest = this.buckets.entries().next().value;
      if (oldest === undefined || oldest[0] === except) return;
      const b = oldest[1];
      if (b.tokens + ((now - b.last) * this.ratePerSec) / 1000 < this.burst) return;
      this.buckets.delete(oldest[0]);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

// `wh top`'s transfer rates: bytes per second from WireGuard's rx/tx counters, sampled at the
// times the caller gives (its clock, injected: no Date.now here). A counter that goes
// backwards (the data plane was recreated, the peer removed and added again) starts over.

export interface Rates {
  /** Bytes per second since the previous sample, or null for the first sample of a peer. */
  rx: number | null;
  tx: number | null;
}

interface Sample { rx: number; tx: number; at: number }

export class RateMeter {
  private readonly last = new Map<string, Sample>();
  private readonly current = new Map<string, Rates>();

  /** Records one sample per peer at `nowMs`; peers absent from `counters` are forgotten. */
  sample(counters: ReadonlyArray<{ key: string; rx: number; tx: number }>, nowMs: number): void {
    const seen = new Set<string>();
    for (const c of counters) {
      seen.add(c.key);
      const prev = this.last.get(c.key);
      if (prev === undefined || nowMs <= prev.at || c.rx < prev.rx || c.tx < prev.tx) {
        // No earlier sample, or a counter started over: no rate yet.
        if (prev === undefined || nowMs > prev.at) this.current.set(c.key, { rx: null, tx: null });
        if (prev === undefined || nowMs > prev.at) this.last.set(c.key, { rx: c.rx, tx: c.tx, at: nowMs });
        continue;
      }
      const seconds = (nowMs - prev.at) / 1000;
      this.current.set(c.key, { rx: (c.rx - prev.rx) / seconds, tx: (c.tx - prev.tx) / seconds });
      this.last.set(c.key, { rx: c.rx, tx: c.tx, at: nowMs });
    }
    for (const k of [...this.last.keys()]) {
      if (!seen.has(k)) { this.last.delete(k); this.current.delete(k); }
    }
  }

  rates(key: string): Rates {
    return this.current.get(key) ?? { rx: null, tx: null };
  }
}

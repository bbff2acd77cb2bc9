// Splitting a WireGuard datagram into relay fragments and putting it back together (pure).
// A relayed datagram larger than MAX_RELAY_DATA travels as c <= MAX_FRAGMENTS messages sharing
// a packet id g, with indexes i = 0..c-1 (docs/PROTOCOL.md, `relay`).
import { MAX_FRAGMENTS, MAX_RELAY_DATA } from '../proto/messages.js';

export interface Fragment {
  d: Uint8Array;
  g?: number;
  i?: number;
  c?: number;
}

/** Fragments for one datagram; a small one travels whole (no g/i/c). Undefined if too large. */
export function fragment(data: Uint8Array, packetId: number): Fragment[] | undefined {
  if (data.length === 0) return undefined;
  if (data.length <= MAX_RELAY_DATA) return [{ d: data }];
  const c = Math.ceil(data.length / MAX_RELAY_DATA);
  if (c > MAX_FRAGMENTS) return undefined;
  const size = Math.ceil(data.length / c);
  const out: Fragment[] = [];
  for (let i = 0; i < c; i++) out.push({ d: data.subarray(i * size, Math.min(data.length, (i + 1) * size)), g: packetId >>> 0, i, c });
  return out;
}

/** Collects fragments; bounded in entries and time (the clock is passed in). */
export class Reassembler {
  private readonly pending = new Map<string, { parts: (Uint8Array | undefined)[]; got: number; at: number }>();
  dropped = 0;

  constructor(private readonly timeoutMs: number, private readonly maxPending: number) {}

  /** Returns the whole datagram once every fragment of it arrived. */
  add(source: string, f: Fragment, now: number): Uint8Array | undefined {
    if (f.c === undefined || f.i === undefined || f.g === undefined) return f.d;
    this.expire(now);
    const key = `${source}/${f.g}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      if (this.pending.size >= this.maxPending) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) { this.pending.delete(oldest); this.dropped++; }
      }
      p = { parts: new Array<Uint8Array | undefined>(f.c).fill(undefined), got: 0, at: now };
      this.pending.set(key, p);
    }
    if (p.parts.length !== f.c || p.parts[f.i] !== undefined) return undefined; // inconsistent or duplicate
    p.parts[f.i] = f.d;
    p.got++;
    if (p.got < f.c) return undefined;
    this.pending.delete(key);
    const total = p.parts.reduce((n, x) => n + x!.length, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const x of p.parts) { out.set(x!, o); o += x!.length; }
    return out;
  }

  private expire(now: number): void {
    for (const [k, p] of this.pending) {
      if (now - p.at <= this.timeoutMs) break; // insertion order = age order
      this.pending.delete(k);
      this.dropped++;
    }
  }
}

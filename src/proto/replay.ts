// Sliding-window replay filter for one sender (RFC 6479 style, as WireGuard uses for data).
// A sender numbers its packets (epoch, counter): the epoch is fixed for the life of the sender's
// process and grows across its restarts; the counter grows by one per packet. We accept:
//   - a newer epoch than we have seen (the sender restarted): the window restarts there;
//   - in the current epoch, a counter above the highest seen, or within REPLAY_WINDOW below it
//     and not seen before.
// Nothing here reads a clock, so the two ends' clocks never need to agree.
//
// Memory: a node numbers the packets to all its peers in one sequence, so one sender's counters
// reach us far apart and a window holds few accepted counters. They are kept as a short list of
// distances below the highest (a DHT node keeps a window per peer: 10 000 nodes hold about two
// million) and become the bitmap of REPLAY_WINDOW bits only past REPLAY_SPARSE_MAX of them.
import { REPLAY_SPARSE_MAX, REPLAY_WINDOW } from '../params.js';

const WINDOW = BigInt(REPLAY_WINDOW);

export class ReplayWindow {
  private epoch = -1n;
  private highest = -1n;
  /** Accepted counters other than `highest` in the window, as distances 1..REPLAY_WINDOW-1
   *  below it (unordered); or, when there are many, the bitmap indexed by counter. */
  private seen: number[] | Uint32Array | undefined;

  /** True when (epoch, counter) would be accepted; does not record it. */
  check(epoch: bigint, counter: bigint): boolean {
    if (epoch !== this.epoch) return epoch > this.epoch;
    if (counter > this.highest) return true;
    if (this.highest - counter >= WINDOW) return false;
    const seen = this.seen;
    if (seen instanceof Uint32Array) {
      const i = Number(counter % WINDOW);
      return (seen[i >>> 5]! & (1 << (i & 31))) === 0;
    }
    const d = Number(this.highest - counter);
    return d !== 0 && (seen === undefined || !seen.includes(d));
  }

  /** Records an accepted (epoch, counter); call only after the packet authenticated. */
  accept(epoch: bigint, counter: bigint): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.highest = -1n;
      this.seen = undefined;
    }
    if (counter > this.highest) {
      const steps = counter - this.highest;
      if (this.highest < 0n || steps >= WINDOW) this.seen = undefined; // nothing else left in the window
      else if (this.seen instanceof Uint32Array) this.slide(this.seen, counter);
      else this.seen = this.shifted(Number(steps));
      this.highest = counter;
    } else if (this.highest - counter < WINDOW) {
      const d = Number(this.highest - counter);
      if (this.seen instanceof Uint32Array) this.mark(this.seen, counter);
      else if (this.seen === undefined) this.seen = d === 0 ? undefined : [d];
      else if (d !== 0 && !this.seen.includes(d)) this.seen = [...this.seen, d]; // exact length: push() reserves 17 slots
    }
    if (Array.isArray(this.seen) && this.seen.length > REPLAY_SPARSE_MAX) this.seen = this.bitmap(this.seen);
  }

  /** The distances after the highest moved up by `steps` (< REPLAY_WINDOW): the old highest
   *  is now `steps` below, and what slid out of the window is forgotten. */
  private shifted(steps: number): number[] {
    const kept = (this.seen as number[] | undefined)?.filter((d) => d + steps < REPLAY_WINDOW) ?? [];
    return [steps, ...kept.map((d) => d + steps)]; // exact length (push() reserves 17 slots)
  }

  private bitmap(distances: number[]): Uint32Array {
    const bits = new Uint32Array(REPLAY_WINDOW / 32);
    this.mark(bits, this.highest);
    for (const d of distances) this.mark(bits, this.highest - BigInt(d));
    return bits;
  }

  /** Moves the bitmap's window up to `counter`, clearing the slots it slides over. */
  private slide(bits: Uint32Array, counter: bigint): void {
    for (let c = this.highest + 1n; c < counter; c++) {
      const i = Number(c % WINDOW);
      bits[i >>> 5] = bits[i >>> 5]! & ~(1 << (i & 31));
    }
    this.mark(bits, counter);
  }

  private mark(bits: Uint32Array, counter: bigint): void {
    const i = Number(counter % WINDOW);
    bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
  }
}

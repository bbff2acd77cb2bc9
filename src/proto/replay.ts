// Sliding-window replay filter for one sender (RFC 6479 style, as WireGuard uses for data).
// A sender numbers its packets (epoch, counter): the epoch is fixed for the life of the sender's
// process and grows across its restarts; the counter grows by one per packet. We accept:
//   - a newer epoch than we have seen (the sender restarted): the window restarts there;
//   - in the current epoch, a counter above the highest seen, or within REPLAY_WINDOW below it
//     and not seen before.
// Nothing here reads a clock, so the two ends' clocks never need to agree.
import { REPLAY_WINDOW } from '../params.js';

export class ReplayWindow {
  private epoch = -1n;
  private highest = -1n;
  private readonly bits = new Uint32Array(REPLAY_WINDOW / 32);

  /** True when (epoch, counter) would be accepted; does not record it. */
  check(epoch: bigint, counter: bigint): boolean {
    if (epoch !== this.epoch) return epoch > this.epoch;
    if (counter > this.highest) return true;
    if (this.highest - counter >= BigInt(REPLAY_WINDOW)) return false;
    const i = Number(counter % BigInt(REPLAY_WINDOW));
    return (this.bits[i >>> 5]! & (1 << (i & 31))) === 0;
  }

  /** Records an accepted (epoch, counter); call only after the packet authenticated. */
  accept(epoch: bigint, counter: bigint): void {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.highest = -1n;
      this.bits.fill(0);
    }
    if (counter > this.highest) {
      // Clear the slots that the window slides over.
      const steps = counter - this.highest;
      if (steps >= BigInt(REPLAY_WINDOW)) {
        this.bits.fill(0);
      } else {
        for (let c = this.highest + 1n; c <= counter; c++) {
          const i = Number(c % BigInt(REPLAY_WINDOW));
          this.bits[i >>> 5] = this.bits[i >>> 5]! & ~(1 << (i & 31));
        }
      }
      this.highest = counter;
    }
    const i = Number(counter % BigInt(REPLAY_WINDOW));
    this.bits[i >>> 5] = this.bits[i >>> 5]! | (1 << (i & 31));
  }
}

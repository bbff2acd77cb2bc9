// A virtual clock for simulations and deterministic tests: time only moves when the driver
// runs it, and timers fire in time order (FIFO among equal times).
import type { Clock, TimerHandle } from '../util/clock.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
  /** Fired or cleared (it may still sit in the heap until its time). */
  done: boolean;
}

export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private heap: Timer[] = [];
  private live = 0;
  /** Errors thrown by timer callbacks; a simulation should assert this stays empty. */
  readonly errors: unknown[] = [];

  now(): number {
    return this.t;
  }

  /** The handle is the timer itself (its `id` is the TimerHandle's): no map of live timers to
   *  keep up, one object less per timer (a simulated network sets one per datagram). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { id: ++this.seq, at: this.t + Math.max(0, ms), seq: this.seq, fn, done: false };
    this.push(timer);
    this.live++;
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Timer;
    if (timer.done !== false) return; // fired, cleared, or not one of ours
    timer.done = true;
    // The timer stays in the heap until its time; what its callback holds (a request's body
    // and promise) need not: in a big simulation that was most of the old generation.
    timer.fn = undefined;
    this.live--;
  }

  get pending(): number {
    return this.live;
  }

  /**
   * Runs timers up to `now + ms`, letting promise continuations settle after each instant, so
   * async code driven by this clock behaves as it would in real time.
   */
  async run(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > end) break;
      this.t = top.at;
      while (this.heap.length > 0 && this.heap[0]!.at === this.t) {
        const timer = this.pop()!;
        if (timer.done) continue;
        timer.done = true;
        this.live--;
        const fn = timer.fn!;
        timer.fn = undefined;
        try {
          fn();
        } catch (err) {
          this.errors.push(err);
        }
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.t = end;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Runs until `done()` is true or `limit` ms of virtual time have passed; true if done. */
  async runUntil(done: () => boolean, limit: number, step = 100): Promise<boolean> {
    const end = this.t + limit;
    while (!done()) {
      if (this.t >= end) return false;
      await this.run(Math.min(step, end - this.t));
    }
    return true;
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      const x = h[i]!;
      h[i] = h[p]!;
      h[p] = x;
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        const x = h[i]!;
        h[i] = h[m]!;
        h[m] = x;
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

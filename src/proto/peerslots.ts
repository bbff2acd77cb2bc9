// The secure channel's per-peer state (direction keys, replay window, workbit verdict), kept by
// slot number in a few typed arrays that double as they fill, instead of an object or two and
// their fields per peer. The channel's caches then map a key to a slot (a small integer, held
// inside the Map itself). Memory: a peer state as objects (state, ReplayWindow, two BigInts, the
// window's counter list) was about 290 bytes of heap; here it is 82 bytes of typed arrays
// (bench/dht.ts at 10 000 nodes holds about two million of them).
//
// The replay window accepts exactly what src/proto/replay.ts's ReplayWindow accepts (the
// reference, compared in test/unit/peerslots.test.ts): a newer epoch restarts the window; in the
// current epoch, a counter above the highest, or within REPLAY_WINDOW below it and not seen
// before. Its few accepted counters are distances below the highest (at most REPLAY_SPARSE_MAX,
// unordered); past that, the window becomes a bitmap of REPLAY_WINDOW bits, kept apart.
import { REPLAY_SPARSE_MAX, REPLAY_WINDOW } from '../params.js';

const WINDOW = BigInt(REPLAY_WINDOW);
const STARTED = 1; // flags: the window has an epoch (and then a highest counter)
const WORKBIT_OK = 2; // flags: the key meets the workbit (checked once, when the state was made)
const BITMAP = 255; // count: the window is a bitmap (in `bitmaps`)
const LIST = REPLAY_SPARSE_MAX;
/** Where a window's next list is built (it may hold one more than LIST before it becomes a bitmap). */
const scratch = new Uint16Array(LIST + 1);

export class PeerSlots {
  private capacity = 0;
  private used = 0;
  private readonly free: number[] = [];
  /** Per slot: 64 bytes, the sealing key then the opening key. */
  private keys = new Uint8Array(0);
  private epochs = new BigUint64Array(0);
  private highest = new BigUint64Array(0);
  private flags = new Uint8Array(0);
  /** Per slot: number of distances in its list, or BITMAP. */
  private counts = new Uint8Array(0);
  private lists = new Uint16Array(0);
  private readonly bitmaps = new Map<number, Uint32Array>();

  alloc(tx: Uint8Array, rx: Uint8Array, workbitOk: boolean): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    this.keys.set(tx, slot * 64);
    this.keys.set(rx, slot * 64 + 32);
    this.flags[slot] = workbitOk ? WORKBIT_OK : 0;
    this.counts[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    this.keys.fill(0, slot * 64, slot * 64 + 64);
    this.flags[slot] = 0;
    this.counts[slot] = 0;
    this.bitmaps.delete(slot);
    this.free.push(slot);
  }

  tx(slot: number): Uint8Array {
    return this.keys.subarray(slot * 64, slot * 64 + 32);
  }

  rx(slot: number): Uint8Array {
    return this.keys.subarray(slot * 64 + 32, slot * 64 + 64);
  }

  workbitOk(slot: number): boolean {
    return (this.flags[slot]! & WORKBIT_OK) !== 0;
  }

  /** True when (epoch, counter) would be accepted from this slot's peer; records nothing. */
  check(slot: number, epoch: bigint, counter: bigint): boolean {
    if ((this.flags[slot]! & STARTED) === 0) return true;
    const current = this.epochs[slot]!;
    if (epoch !== current) return epoch > current;
    const highest = this.highest[slot]!;
    if (counter > highest) return true;
    if (highest - counter >= WINDOW) return false;
    const n = this.counts[slot]!;
    if (n === BITMAP) {
      const i = Number(counter % WINDOW);
      return (this.bitmaps.get(slot)![i >>> 5]! & (1 << (i & 31))) === 0;
    }
    const d = Number(highest - counter);
    return d !== 0 && !this.listHas(slot, n, d);
  }

  /** Records an accepted (epoch, counter); call only after the packet authenticated. */
  accept(slot: number, epoch: bigint, counter: bigint): void {
    if ((this.flags[slot]! & STARTED) === 0 || epoch !== this.epochs[slot]) {
      // A new epoch: the window restarts at this counter, with nothing else in it.
      this.flags[slot] = this.flags[slot]! | STARTED;
      this.epochs[slot] = epoch;
      this.highest[slot] = counter;
      this.toList(slot, 0);
      return;
    }
    const highest = this.highest[slot]!;
    const n = this.counts[slot]!;
    if (counter > highest) {
      const steps = counter - highest;
      this.highest[slot] = counter;
      if (steps >= WINDOW) return this.toList(slot, 0); // nothing else left in the window
      if (n === BITMAP) return this.slide(this.bitmaps.get(slot)!, highest, counter);
      // The old highest is now `steps` below; what slid out of the window is forgotten.
      const s = Number(steps);
      let m = 0;
      scratch[m++] = s;
      for (let j = 0; j < n; j++) {
        const d = this.lists[slot * LIST + j]! + s;
        if (d < REPLAY_WINDOW) scratch[m++] = d;
      }
      return this.store(slot, counter, m);
    }
    if (highest - counter >= WINDOW) return;
    if (n === BITMAP) return mark(this.bitmaps.get(slot)!, counter);
    const d = Number(highest - counter);
    if (d === 0 || this.listHas(slot, n, d)) return;
    scratch.set(this.lists.subarray(slot * LIST, slot * LIST + n));
    scratch[n] = d;
    this.store(slot, highest, n + 1);
  }

  /** Makes the first m distances of `scratch` the slot's list, or its bitmap when too many. */
  private store(slot: number, highest: bigint, m: number): void {
    if (m <= LIST) {
      this.lists.set(scratch.subarray(0, m), slot * LIST);
      this.counts[slot] = m;
      return;
    }
    const bits = new Uint32Array(REPLAY_WINDOW / 32);
    mark(bits, highest);
    for (let j = 0; j < m; j++) mark(bits, highest - BigInt(scratch[j]!));
    this.bitmaps.set(slot, bits);
    this.counts[slot] = BITMAP;
  }

  private toList(slot: number, m: number): void {
    this.bitmaps.delete(slot);
    this.counts[slot] = m;
  }

  private listHas(slot: number, n: number, d: number): boolean {
    for (let j = slot * LIST, end = j + n; j < end; j++) if (this.lists[j] === d) return true;
    return false;
  }

  /** Moves a bitmap's window up from `from` to `counter`, clearing the slots it slides over. */
  private slide(bits: Uint32Array, from: bigint, counter: bigint): void {
    for (let c = from + 1n; c < counter; c++) {
      const i = Number(c % WINDOW);
      bits[i >>> 5] = bits[i >>> 5]! & ~(1 << (i & 31));
    }
    mark(bits, counter);
  }

  private grow(): void {
    const cap = Math.max(16, 2 * this.capacity);
    const keys = new Uint8Array(cap * 64); keys.set(this.keys); this.keys = keys;
    const epochs = new BigUint64Array(cap); epochs.set(this.epochs); this.epochs = epochs;
    const highest = new BigUint64Array(cap); highest.set(this.highest); this.highest = highest;
    const flags = new Uint8Array(cap); flags.set(this.flags); this.flags = flags;
    const counts = new Uint8Array(cap); counts.set(this.counts); this.counts = counts;
    const lists = new Uint16Array(cap * LIST); lists.set(this.lists); this.lists = lists;
    this.capacity = cap;
  }
}

function mark(bits: Uint32Array, counter: bigint): void {
  const i = Number(counter % WINDOW);
  bits[i >>> 5] = bits[i >>> 5]! | (1 << (i & 31));
}

// The Kademlia routing table: 256 k-buckets indexed by the length of the common prefix between
// a node's ID and ours. Pure data structure: no sockets, no timers; times are passed in.
//
// Rules (docs/PROTOCOL.md, "Routing table"):
// - Only nodes that answered one of our requests at an address enter the table, with that
//   address ("verified by a direct exchange"). Nodes reported in others' results are hearsay:
//   they go into lookups, never into the table, and never change an entry's address.
// - A full bucket keeps its entries: the least recently seen one is pinged (by the caller) and
//   replaced only if it fails to answer; meanwhile the newcomer waits in the bucket's
//   replacement cache. An entry that failed STALE_AFTER_FAILURES requests in a row is replaced
//   at once.
import type { Addr } from '../proto/addr.js';
import { sameAddr } from '../proto/addr.js';
import { ENTRY_GOOD_FOR, K, STALE_AFTER_FAILURES } from '../params.js';
import { commonPrefixBits, compareDistance, ID_BITS, toHex } from './id.js';

export interface Entry {
  readonly id: Uint8Array;
  readonly hex: string;
  addr: Addr;
  /** Time of the last answer received from this node (ms). */
  lastSeen: number;
  /** Requests in a row that went unanswered. */
  failures: number;
  /** The node declares itself directly reachable: a claim (the daemon checks it, src/nat/reach.ts). */
  direct: boolean;
  relay: Uint8Array | undefined;
  /** Last measured round-trip time (ms). */
  rtt: number | undefined;
}

export type InsertResult =
  | { status: 'updated'; entry: Entry }
  | { status: 'added'; entry: Entry }
  /** Bucket full: ping `oldest`; call `evict(oldest)` if it does not answer. */
  | { status: 'full'; oldest: Entry };

interface Bucket {
  entries: Entry[]; // least recently seen first
  replacements: Entry[]; // most recent last, at most K
  lastLookup: number;
}

const NO_ENTRIES: readonly Entry[] = [];

/** Entries' IDs are copied into shared blocks of IDS_PER_BLOCK: a Uint8Array of its own per ID
 *  (with its ArrayBuffer and backing store) cost about 220 bytes, a view into a block about 120
 *  (bench/dht.ts keeps over a million entries at 10 000 nodes). A block lives while one of its
 *  views does: at most IDS_PER_BLOCK * 32 bytes held by one entry. */
const IDS_PER_BLOCK = 16;

export class RoutingTable {
  /** Made when first used: a node uses about log2(N / K) + a few of its 256 buckets, and 256
   *  empty buckets made up front cost 25 KB a node (bench/dht.ts). */
  private readonly buckets: (Bucket | undefined)[] = new Array<Bucket | undefined>(ID_BITS).fill(undefined);
  private readonly byHex = new Map<string, Entry>();
  private readonly selfHex: string;
  private block = new Uint8Array(0);
  private blockUsed = IDS_PER_BLOCK;

  constructor(readonly self: Uint8Array, readonly k = K) {
    this.selfHex = toHex(self);
  }

  private copyId(id: Uint8Array): Uint8Array {
    if (this.blockUsed === IDS_PER_BLOCK) {
      this.block = new Uint8Array(IDS_PER_BLOCK * 32);
      this.blockUsed = 0;
    }
    const view = this.block.subarray(this.blockUsed * 32, this.blockUsed * 32 + 32);
    this.blockUsed++;
    view.set(id);
    return view;
  }

  private bucket(i: number): Bucket {
    return (this.buckets[i] ??= { entries: [], replacements: [], lastLookup: 0 });
  }

  private entriesOf(i: number): readonly Entry[] {
    return this.buckets[i]?.entries ?? NO_ENTRIES;
  }

  get size(): number {
    return this.byHex.size;
  }

  get(hex: string): Entry | undefined {
    return this.byHex.get(hex);
  }

  bucketIndex(id: Uint8Array): number {
    return Math.min(commonPrefixBits(this.self, id), ID_BITS - 1);
  }

  /**
   * A node answered one of our requests at `addr` (a verified, direct exchange).
   * Its address is taken from this exchange, which is always the freshest knowledge we have.
   */
  verified(id: Uint8Array, addr: Addr, now: number, info: { direct?: boolean; relay?: Uint8Array; rtt?: number } = {}): InsertResult | undefined {
    const hex = toHex(id);
    if (hex === this.selfHex) return undefined;
    const b = this.bucket(this.bucketIndex(id));
    const existing = this.byHex.get(hex);
    if (existing !== undefined) {
      if (!sameAddr(existing.addr, addr)) existing.addr = addr;
      existing.lastSeen = now;
      existing.failures = 0;
      if (info.direct !== undefined) existing.direct = info.direct;
      if (info.relay !== undefined) existing.relay = info.relay;
      if (info.rtt !== undefined) existing.rtt = info.rtt;
      b.entries.splice(b.entries.indexOf(existing), 1);
      b.entries.push(existing);
      return { status: 'updated', entry: existing };
    }
    // Every field is set here, so all entries share one shape (a field added later moves an
    // object's properties out of line: 40 bytes more per entry).
    const entry: Entry = {
      id: this.copyId(id), hex, addr, lastSeen: now, failures: 0, direct: info.direct ?? false, relay: info.relay, rtt: info.rtt,
    };
    // A node is in the bucket or in its replacement cache, never both.
    const r = b.replacements.findIndex((e) => e.hex === hex);
    if (r >= 0) b.replacements.splice(r, 1);
    if (b.entries.length < this.k) {
      b.entries.push(entry);
      this.byHex.set(hex, entry);
      return { status: 'added', entry };
    }
    const stale = b.entries.find((e) => e.failures >= STALE_AFTER_FAILURES);
    if (stale !== undefined) {
      this.remove(stale);
      b.entries.push(entry);
      this.byHex.set(hex, entry);
      return { status: 'added', entry };
    }
    b.replacements.push(entry);
    if (b.replacements.length > this.k) b.replacements.shift();
    return { status: 'full', oldest: b.entries[0]! };
  }

  /** True when `id`'s bucket is full of good entries (each heard from within ENTRY_GOOD_FOR of
   *  `now`, none failing): a newcomer there could only wait in the replacement cache. */
  fullOfGood(id: Uint8Array, now: number): boolean {
    const entries = this.entriesOf(this.bucketIndex(id));
    if (entries.length < this.k) return false;
    for (const e of entries) if (e.failures > 0 || now - e.lastSeen > ENTRY_GOOD_FOR) return false;
    return true;
  }

  /** The node sent us an authenticated request from its verified address: it is alive. */
  heardFrom(hex: string, now: number): void {
    const e = this.byHex.get(hex);
    if (e === undefined) return;
    e.lastSeen = now;
    const b = this.bucket(this.bucketIndex(e.id));
    b.entries.splice(b.entries.indexOf(e), 1);
    b.entries.push(e);
  }

  /** A request to this node went unanswered. Returns true when the entry became stale. */
  failed(hex: string): boolean {
    const e = this.byHex.get(hex);
    if (e === undefined) return false;
    e.failures++;
    return e.failures >= STALE_AFTER_FAILURES;
  }

  /** Removes an entry (it failed to answer) and promotes the freshest replacement, if any. */
  evict(hex: string): Entry | undefined {
    const e = this.byHex.get(hex);
    if (e === undefined) return undefined;
    this.remove(e);
    const b = this.bucket(this.bucketIndex(e.id));
    const promoted = b.replacements.pop();
    if (promoted !== undefined) {
      b.entries.push(promoted);
      this.byHex.set(promoted.hex, promoted);
    }
    return promoted;
  }

  /** Up to n entries closest to target, closest first; failing entries are ranked last. Not
   *  the one whose hex is `exclude`, and only those `only` accepts (when given). */
  closest(target: Uint8Array, n = this.k, exclude?: string, only?: (e: Entry) => boolean): Entry[] {
    // Buckets give the order of the distances' first bits: with j = our common prefix with the
    // target, bucket j's entries are the closest, then those of every deeper bucket, then bucket
    // j - 1, j - 2, ... 0. So only the buckets needed to reach n are sorted (usually just the
    // target's: most targets fall in bucket 0 or 1), not the whole table for every `find`.
    const j = this.bucketIndex(target);
    const keep = (e: Entry): boolean => e.hex !== exclude && (only === undefined || only(e));
    if (j === ID_BITS - 1) return this.sortedAll(target, n, keep); // the target is (next to) us
    const out: Entry[] = [];
    let stale = 0;
    const take = (group: readonly Entry[]): void => {
      const kept = group.filter(keep), fresh = kept.filter((e) => e.failures < STALE_AFTER_FAILURES);
      stale += kept.length - fresh.length;
      for (const e of sortByDistance(target, fresh)) out.push(e);
    };
    take(this.entriesOf(j));
    if (out.length < n) {
      const deeper: Entry[] = [];
      for (let i = j + 1; i < ID_BITS; i++) for (const e of this.entriesOf(i)) deeper.push(e);
      take(deeper);
    }
    for (let i = j - 1; i >= 0 && out.length < n; i--) take(this.entriesOf(i));
    if (out.length < n && stale > 0) return this.sortedAll(target, n, keep); // failing ones come last
    return out.length > n ? out.slice(0, n) : out;
  }

  /** The whole table in closest() order (failing entries last), first n. */
  private sortedAll(target: Uint8Array, n: number, keep: (e: Entry) => boolean): Entry[] {
    const all: Entry[] = [];
    for (const e of this.byHex.values()) if (keep(e)) all.push(e);
    const fresh = sortByDistance(target, all.filter((e) => e.failures < STALE_AFTER_FAILURES));
    const failing = sortByDistance(target, all.filter((e) => e.failures >= STALE_AFTER_FAILURES));
    return [...fresh, ...failing].slice(0, n);
  }

  entries(): Entry[] {
    return [...this.byHex.values()];
  }

  /** Marks a lookup through the bucket that holds `target`, for refresh scheduling. */
  touch(target: Uint8Array, now: number): void {
    this.bucket(this.bucketIndex(target)).lastLookup = now;
  }

  /** Indices of the buckets up to our closest neighbour's that saw no lookup since `before`
   *  (pass -Infinity for all of them); `onlyEmpty` keeps the empty ones and leaves out the
   *  closest neighbour's bucket (right after a self lookup, it is fresh). */
  bucketsToRefresh(before: number, onlyEmpty = false): number[] {
    let deepest = -1;
    for (let i = 0; i < ID_BITS; i++) if (this.entriesOf(i).length > 0) deepest = i;
    const out: number[] = [];
    for (let i = 0; i < (onlyEmpty ? deepest : deepest + 1); i++) {
      if (onlyEmpty && this.entriesOf(i).length > 0) continue;
      if (before === -Infinity || (this.buckets[i]?.lastLookup ?? 0) < before) out.push(i);
    }
    return out;
  }

  /** Bucket occupancy, for `wh show all`. */
  stats(): { index: number; size: number; replacements: number }[] {
    return this.buckets
      .map((b, index) => ({ index, size: b?.entries.length ?? 0, replacements: b?.replacements.length ?? 0 }))
      .filter((b) => b.size > 0 || b.replacements > 0);
  }

  private remove(e: Entry): void {
    const b = this.bucket(this.bucketIndex(e.id));
    const i = b.entries.indexOf(e);
    if (i >= 0) b.entries.splice(i, 1);
    this.byHex.delete(e.hex);
  }
}

/** Sorted by XOR distance to target: on the distance's first 48 bits (a number, exact), whole
 *  distances only on a tie (comparisons of 32-byte distances were 6 % of a simulated node's time). */
function sortByDistance(target: Uint8Array, entries: Entry[]): Entry[] {
  if (entries.length < 2) return entries;
  if (entries.length <= INSERTION_SORT_MAX) return insertionSort(target, entries);
  const ranked = entries.map((e) => {
    let key = 0;
    for (let i = 0; i < 6; i++) key = key * 256 + (e.id[i]! ^ target[i]!);
    return { key, e };
  });
  ranked.sort((a, b) => a.key - b.key || compareDistance(target, a.e.id, b.e.id));
  return ranked.map((r) => r.e);
}

/** Up to this many entries (a bucket's) are sorted in place, keys in a scratch array: no
 *  object per entry (sorting was most of the garbage of answering a `find`). */
const INSERTION_SORT_MAX = 64;
const sortKeys = new Float64Array(INSERTION_SORT_MAX);

function insertionSort(target: Uint8Array, entries: Entry[]): Entry[] {
  const t0 = target[0]!, t1 = target[1]!, t2 = target[2]!, t3 = target[3]!, t4 = target[4]!, t5 = target[5]!;
  for (let i = 0; i < entries.length; i++) {
    const id = entries[i]!.id;
    const key = ((((((id[0]! ^ t0) * 256 + (id[1]! ^ t1)) * 256 + (id[2]! ^ t2)) * 256 + (id[3]! ^ t3)) * 256 + (id[4]! ^ t4)) * 256) + (id[5]! ^ t5);
    const e = entries[i]!;
    let j = i - 1;
    while (j >= 0 && (sortKeys[j]! > key || (sortKeys[j] === key && compareDistance(target, entries[j]!.id, e.id) > 0))) {
      sortKeys[j + 1] = sortKeys[j]!;
      entries[j + 1] = entries[j]!;
      j--;
    }
    sortKeys[j + 1] = key;
    entries[j + 1] = e;
  }
  return entries;
}

// One iterative Kademlia lookup, as a pure state machine: the caller asks `next()` which nodes to
// query, and reports each answer (`answered`) or failure (`failed`). No I/O, no clock.
//
// - Candidates are kept sorted by XOR distance to the target.
// - At most `alpha` requests are in flight.
// - Only the `k` closest candidates that have not failed are ever queried.
// - The lookup is finished when those k closest have all answered (or no candidate is left to
//   query and nothing is in flight), or when `maxRequests` requests were sent.
// - `depth` counts hops: the nodes we start from are at depth 1, a node first reported by a
//   node at depth d is at depth d + 1. A lookup's "rounds" are the depth at which the target was
//   first reported (or the deepest answer, when the target is never found).
import type { Addr } from '../proto/addr.js';
import { compareDistance, equalIds, toHex } from './id.js';

export type CandidateState = 'new' | 'pending' | 'answered' | 'failed';

export interface Candidate {
  readonly id: Uint8Array;
  readonly hex: string;
  readonly addr: Addr;
  readonly depth: number;
  state: CandidateState;
}

/** Its hex is made when first asked for: most candidates are never queried (20 are reported per
 *  answer), and their hex strings were a good part of a simulated network's garbage. */
class Cand implements Candidate {
  state: CandidateState = 'new';
  private h: string | undefined;
  constructor(readonly id: Uint8Array, readonly addr: Addr, readonly depth: number) {}
  get hex(): string {
    return (this.h ??= toHex(this.id));
  }
}

export class Lookup {
  /** Sorted by distance to the target; distinct IDs have distinct distances, so a node already
   *  listed is found where it would be inserted (no set of seen IDs). */
  private readonly list: Candidate[] = [];
  private inFlight = 0;
  private sent = 0;
  private deepestAnswer = 0;
  /** Depth at which the target was first reported, if it was. */
  targetDepth: number | undefined;
  targetAddr: Addr | undefined;

  constructor(
    readonly target: Uint8Array,
    private readonly self: Uint8Array,
    private readonly k: number,
    private readonly alpha: number,
    private readonly maxRequests: number,
  ) {}

  /** Adds nodes learnt at `depth`; a node already known keeps the address it was first given. */
  add(nodes: readonly { id: Uint8Array; addr: Addr }[], depth: number): void {
    for (const n of nodes) {
      if (equalIds(n.id, this.self)) continue;
      let lo = 0, hi = this.list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareDistance(this.target, this.list[mid]!.id, n.id) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo < this.list.length && equalIds(this.list[lo]!.id, n.id)) continue; // already known
      if (this.targetDepth === undefined && equalIds(n.id, this.target)) {
        this.targetDepth = depth;
        this.targetAddr = n.addr;
      }
      this.list.splice(lo, 0, new Cand(n.id, n.addr, depth));
    }
  }

  /** Candidates to query now; they are marked pending. */
  next(): Candidate[] {
    const out: Candidate[] = [];
    if (this.finished) return out;
    let considered = 0;
    for (const c of this.list) {
      if (c.state === 'failed') continue;
      if (++considered > this.k) break;
      if (c.state !== 'new') continue;
      if (this.inFlight >= this.alpha || this.sent >= this.maxRequests) break;
      c.state = 'pending';
      this.inFlight++;
      this.sent++;
      out.push(c);
    }
    return out;
  }

  answered(c: Candidate, nodes: readonly { id: Uint8Array; addr: Addr }[]): void {
    if (c.state !== 'pending') return;
    c.state = 'answered';
    this.inFlight--;
    this.deepestAnswer = Math.max(this.deepestAnswer, c.depth);
    this.add(nodes, c.depth + 1);
  }

  failed(c: Candidate): void {
    if (c.state !== 'pending') return;
    c.state = 'failed';
    this.inFlight--;
  }

  get finished(): boolean {
    if (this.inFlight > 0) {
      return this.closestAllAnswered();
    }
    if (this.sent >= this.maxRequests) return true;
    return this.closestAllAnswered() || !this.list.some((c, i) => c.state === 'new' && this.rank(i) < this.k);
  }

  get requests(): number {
    return this.sent;
  }

  get rounds(): number {
    return this.targetDepth ?? this.deepestAnswer;
  }

  /** The k closest nodes that answered, closest first. */
  closest(): Candidate[] {
    return this.list.filter((c) => c.state === 'answered').slice(0, this.k);
  }

  private closestAllAnswered(): boolean {
    let n = 0;
    for (const c of this.list) {
      if (c.state === 'failed') continue;
      if (c.state !== 'answered') return false;
      if (++n >= this.k) return true;
    }
    return n > 0 && this.inFlight === 0;
  }

  /** Rank of list[i] among candidates that have not failed. */
  private rank(i: number): number {
    let r = 0;
    for (let j = 0; j < i; j++) if (this.list[j]!.state !== 'failed') r++;
    return r;
  }
}

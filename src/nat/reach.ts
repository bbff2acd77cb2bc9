// Checking that a node which declares itself directly reachable really is (docs/NAT.md
// "Verifying direct claims"). A node's pong and its `nodes` records carry a self-declared
// "direct" flag; a node that lies (or is wrong: a port mapping that does not work) would be
// chosen as rendezvous and relay and fail its users. So a claim is believed only after a third
// node, the checker (a boot node or a claim already confirmed), has pinged the claimant from a
// port the claimant has never sent to: behind a NAT that filters by endpoint (address- or
// port-restricted, symmetric), that ping is dropped. A full-cone NAT lets it in, and rightly:
// such a node is reachable by anyone while its mapping lives (its DHT traffic keeps it open).
//
// This file is the bookkeeping, pure (the time is passed in): which claims hold, which were
// refuted, and which are due for a check. The exchange itself (`reach` / `reach-ok`) is in
// src/nat/reachcheck.ts (checker side) and src/daemon/natmonitor.ts (asking side, verifyClaims).
import { addrKey, type Addr } from '../proto/addr.js';
import { REACH_RETRY, REACH_VALID } from '../params.js';

export interface Claim {
  hex: string;
  addr: Addr;
}

type State = 'confirmed' | 'refuted' | 'untested';

interface Verdict {
  state: State;
  addr: string;
  at: number;
}

export class ReachVerdicts {
  private readonly verdicts = new Map<string, Verdict>();

  constructor(private readonly validMs = REACH_VALID, private readonly retryMs = REACH_RETRY, private readonly max = 4096) {}

  /** Whether `hex` was confirmed reachable at `addr` within the validity period. */
  confirmed(hex: string, addr: Addr, now: number): boolean {
    const v = this.verdicts.get(hex);
    return v !== undefined && v.state === 'confirmed' && v.addr === addrKey(addr) && now - v.at < this.validMs;
  }

  /** Claims to check now, at most `max`: never checked (or checked at another address) first,
   *  then the oldest verdicts among those confirmed half a validity period ago or refuted /
   *  untested longer ago than the retry delay. So refuted claims cannot crowd out new ones. */
  due(claims: readonly Claim[], now: number, max: number): Claim[] {
    const due: { c: Claim; since: number }[] = [];
    for (const c of claims) {
      const v = this.verdicts.get(c.hex);
      if (v === undefined || v.addr !== addrKey(c.addr)) due.push({ c, since: -Infinity });
      // A confirmation is renewed at half its validity, so a live claim never lapses.
      else if (now - v.at >= (v.state === 'confirmed' ? this.validMs / 2 : this.retryMs)) due.push({ c, since: v.at });
    }
    return due.sort((x, y) => x.since - y.since).slice(0, max).map((d) => d.c);
  }

  /** A checker answered: `ok` = the claimant answered its ping. */
  record(c: Claim, ok: boolean, now: number): void {
    this.set(c, ok ? 'confirmed' : 'refuted', now);
  }

  /** No checker could test the claim: try again after the retry delay, believing nothing new
   *  (a confirmation still valid stays). */
  untested(c: Claim, now: number): void {
    if (this.confirmed(c.hex, c.addr, now)) return;
    this.set(c, 'untested', now);
  }

  private set(c: Claim, state: State, now: number): void {
    this.verdicts.delete(c.hex); // re-insert: Map order is age order
    this.verdicts.set(c.hex, { state, addr: addrKey(c.addr), at: now });
    while (this.verdicts.size > this.max) this.verdicts.delete(this.verdicts.keys().next().value!);
  }

  /** Keys confirmed and refuted (for `wh show all`). */
  summary(now: number): { confirmed: string[]; refuted: string[] } {
    const confirmed: string[] = [], refuted: string[] = [];
    for (const [hex, v] of this.verdicts) {
      if (v.state === 'confirmed' && now - v.at < this.validMs) confirmed.push(hex);
      else if (v.state === 'refuted') refuted.push(hex);
    }
    return { confirmed, refuted };
  }
}

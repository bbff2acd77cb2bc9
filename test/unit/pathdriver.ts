// A driver of the per-peer path machine for tests (test/unit/pathmachine*.test.ts): as the
// daemon's, on a virtual clock, with seeded randomness; it performs nothing and records actions.
import assert from 'node:assert/strict';
import { PathMachine, type PathAction, type PathEvent, type RelayId } from '../../src/path/machine.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { seededRandom } from '../../src/sim/network.js';
import type { Addr } from '../../src/proto/addr.js';

export const relay = (n: number): RelayId => ({ hex: `${n}`.repeat(8), addr: { host: `198.51.100.${n}`, port: 62096 } });
export const R1 = relay(1), R2 = relay(2), R3 = relay(3), R4 = relay(4);
export const A: Addr = { host: '192.0.2.10', port: 40000 };
export const B: Addr = { host: '192.0.2.11', port: 40001 };
export const HINT: Addr = { host: '203.0.113.5', port: 62096 };

/** A driver as the daemon's: it performs nothing, records the actions, and ticks the machine at
 *  its deadline through the virtual clock's timers. */
export class Driver {
  readonly clock = new VirtualClock();
  readonly m: PathMachine;
  log: PathAction[] = [];
  /** When each action of `log` was asked for. */
  times: number[] = [];
  private timer: ReturnType<VirtualClock['setTimeout']> | undefined;

  constructor(opts: { initiator?: boolean; hint?: Addr; keepalive?: number; candidates?: RelayId[]; seed?: number } = {}) {
    const candidates = opts.candidates ?? [R1, R2, R3, R4];
    this.m = new PathMachine({ now: 0, random: seededRandom(opts.seed ?? 7), rendezvous: () => candidates, initiator: opts.initiator ?? true,
      keepalive: opts.keepalive ?? 0, ...(opts.hint ? { hint: opts.hint } : {}) });
    this.take(this.m.start(0));
  }

  get now(): number { return this.clock.now(); }

  private take(actions: PathAction[]): PathAction[] {
    this.log.push(...actions);
    for (const _ of actions) this.times.push(this.clock.now());
    if (this.timer) this.clock.clearTimeout(this.timer);
    const at = this.m.nextDeadline();
    if (Number.isFinite(at)) this.timer = this.clock.setTimeout(() => this.take(this.m.step({ t: 'tick' }, this.clock.now())), at - this.clock.now());
    return actions;
  }

  send(ev: PathEvent): PathAction[] {
    return this.take(this.m.step(ev, this.clock.now()));
  }

  /** Lets `ms` of virtual time pass; the actions taken meanwhile. */
  async run(ms: number): Promise<PathAction[]> {
    const from = this.log.length;
    await this.clock.run(ms);
    return this.log.slice(from);
  }

  /** Runs until an action of kind `a` is asked for; its time and the action. */
  async until(a: PathAction['a'], limit = 60 * 60_000): Promise<{ at: number; act: PathAction }> {
    const start = this.log.length;
    const ok = await this.clock.runUntil(() => this.log.slice(start).some((x) => x.a === a), limit, 10);
    assert.ok(ok, `no ${a} within ${limit} ms (state ${this.m.state})`);
    const i = start + this.log.slice(start).findIndex((x) => x.a === a);
    return { at: this.times[i]!, act: this.log[i]! };
  }
}

export const kinds = (acts: PathAction[]) => acts.filter((x) => x.a !== 'log').map((x) => x.a);
export const has = (acts: PathAction[], a: PathAction['a']) => acts.some((x) => x.a === a);

/** From start to the race: lookup found A (unanswered), punch, punch-ok via R1. */
export async function toRace(d: Driver): Promise<PathAction[]> {
  d.send({ t: 'lookupResult', found: A });
  await d.until('punch');
  return d.send({ t: 'punchAccepted', via: R1 });
}


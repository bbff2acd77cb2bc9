// Watching the node's WireGuard interface and recreating it when it dies.
//
// A userspace implementation can die under the node (SIGKILL, the OOM killer, a crash): its
// interface goes with it and the overlay is down while the DHT still answers. The supervisor
// is the daemon's data plane: it forwards every call to the current interface and
//   - notices the death: at once when the implementation exits (DataPlane.died), else when
//     DATAPLANE_CHECK_FAILURES dumps in a row fail (kernel interface deleted, a hung process);
//   - recreates the interface (same name, key, port, addresses) and gives it back every peer
//     it had, with the latest allowed IPs, endpoint and keepalive it was asked for. It keeps
//     that record itself, from the calls it forwards: exactly what the device was configured
//     with, including changes asked while it was down;
//   - holds calls made meanwhile, and applies them once the interface is back;
//   - gives up after DATAPLANE_RESTORE_ATTEMPTS failed attempts in a row, or after more than
//     DATAPLANE_MAX_RESTARTS restarts within DATAPLANE_RESTART_WINDOW (a crash loop), and then
//     tells the daemon (onFailed), which stops and exits non-zero for its supervisor.
// `state`, `restarts` and `lastError` are what `wh show` prints. Timers come from the injected
// clock.
import {
  DATAPLANE_CHECK_FAILURES, DATAPLANE_CHECK_INTERVAL, DATAPLANE_MAX_RESTARTS, DATAPLANE_RESTART_WINDOW, DATAPLANE_RESTORE_ATTEMPTS,
  DATAPLANE_RETRY_MIN,
} from '../params.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { DataPlane, WgDump, WgPeerConfig } from './dataplane.js';

export type DataPlaneState = 'up' | 'restarting' | 'failed';

export class DataPlaneDown extends Error {}

export interface SupervisorOptions {
  /** Creates the interface (the first time and on every restore). */
  create: () => Promise<DataPlane>;
  log: Logger;
  clock: Clock;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class SupervisedDataPlane implements DataPlane {
  state: DataPlaneState = 'up';
  /** Times the interface was recreated. */
  restarts = 0;
  /** Why it last went down (or why the supervisor gave up). */
  lastError: string | undefined;
  /** Called once the interface is back with its peers (the daemon makes them handshake). */
  onRestored: (() => void) | undefined;
  /** Called once when the supervisor gives up. */
  onFailed: ((reason: string) => void) | undefined;

  /** Every peer the device has, as it was last asked for, by public key. */
  private readonly peers = new Map<string, WgPeerConfig>();
  private current: DataPlane;
  /** Settles when the interface is usable again (pending while restarting). */
  private ready: Promise<void> = Promise.resolve();
  private settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private checkTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private checkFailures = 0;
  private checking = false;
  private attempts = 0;
  private downAt = 0;
  private restartTimes: number[] = [];
  private destroyed = false;
  /** The attempt in progress, which destroy() waits for (it may be creating an interface). */
  private restoring: Promise<void> | undefined;

  private constructor(first: DataPlane, private readonly opts: SupervisorOptions) {
    this.current = first;
    this.watch(first);
    this.scheduleCheck();
  }

  static async start(opts: SupervisorOptions): Promise<SupervisedDataPlane> {
    return new SupervisedDataPlane(await opts.create(), opts);
  }

  get name(): string {
    return this.current.name;
  }

  get backend(): string {
    return this.current.backend;
  }

  async setPeer(p: WgPeerConfig): Promise<void> {
    const before = this.peers.get(p.publicKey);
    // An omitted endpoint keeps WireGuard's current one, so the record keeps it too.
    const endpoint = p.endpoint ?? before?.endpoint;
    this.peers.set(p.publicKey, { ...p, ...(endpoint !== undefined ? { endpoint } : {}) });
    await this.usable();
    await this.current.setPeer(p).catch((e: unknown) => this.opFailed(e));
  }

  async removePeer(publicKey: string): Promise<void> {
    this.peers.delete(publicKey);
    await this.usable();
    await this.current.removePeer(publicKey).catch((e: unknown) => this.opFailed(e));
  }

  async dump(): Promise<WgDump> {
    if (this.state !== 'up') throw new DataPlaneDown(`the data plane is ${this.state === 'failed' ? 'down' : 'being recreated'}: ${this.lastError ?? ''}`);
    return this.current.dump();
  }

  async destroy(): Promise<void> {
    if (!this.destroyed) {
      this.destroyed = true;
      if (this.checkTimer !== undefined) this.opts.clock.clearTimeout(this.checkTimer);
      if (this.retryTimer !== undefined) this.opts.clock.clearTimeout(this.retryTimer);
      this.settle?.reject(new DataPlaneDown('the node is stopping'));
      this.settle = undefined;
    }
    await this.restoring;
    await this.current.destroy();
  }

  /** Waits while the interface is being recreated; throws once given up or destroyed. */
  private async usable(): Promise<void> {
    if (this.state === 'failed') throw new DataPlaneDown(`the data plane is down: ${this.lastError ?? ''}`);
    if (this.destroyed) throw new DataPlaneDown('the node is stopping');
    await this.ready;
  }

  /** A call failed: maybe the interface is gone; look now rather than at the next check. */
  private opFailed(e: unknown): never {
    void this.check();
    throw e;
  }

  private watch(dp: DataPlane): void {
    void dp.died?.then((why) => { if (this.current === dp) this.down(why); });
  }

  private scheduleCheck(): void {
    if (this.destroyed) return;
    this.checkTimer = this.opts.clock.setTimeout(() => void this.check().finally(() => this.scheduleCheck()), DATAPLANE_CHECK_INTERVAL);
  }

  private async check(): Promise<void> {
    if (this.state !== 'up' || this.checking || this.destroyed) return;
    this.checking = true;
    const dp = this.current;
    try {
      await dp.dump();
      this.checkFailures = 0;
    } catch (e) {
      if (this.current === dp && ++this.checkFailures >= DATAPLANE_CHECK_FAILURES) this.down(`${dp.name} does not answer: ${message(e)}`);
    } finally {
      this.checking = false;
    }
  }

  private down(why: string): void {
    if (this.state !== 'up' || this.destroyed) return;
    const now = this.opts.clock.now();
    this.state = 'restarting';
    this.lastError = why;
    this.downAt = now;
    this.attempts = 0;
    this.checkFailures = 0;
    this.ready = new Promise<void>((resolve, reject) => { this.settle = { resolve, reject }; });
    this.ready.catch(() => undefined); // callers waiting get the rejection; nobody else needs it
    this.opts.log.error(`data plane down: ${why}; the overlay is down; recreating ${this.name} with its ${this.peers.size} peers`);
    this.restartTimes = this.restartTimes.filter((t) => now - t < DATAPLANE_RESTART_WINDOW);
    if (this.restartTimes.length >= DATAPLANE_MAX_RESTARTS) {
      this.fail(`it went down ${this.restartTimes.length + 1} times within ${Math.round(DATAPLANE_RESTART_WINDOW / 60_000)} min`);
      return;
    }
    this.attempt();
  }

  private attempt(): void {
    this.restoring = this.restore().catch((e: unknown) => this.opts.log.error(`data plane: ${message(e)}`)).finally(() => { this.restoring = undefined; });
  }

  private async restore(): Promise<void> {
    if (this.destroyed) return;
    this.attempts++;
    const old = this.current;
    await old.destroy().catch((e: unknown) => this.opts.log.warn(`data plane: removing what is left of ${old.name}: ${message(e)}`));
    let next: DataPlane | undefined;
    try {
      next = await this.opts.create();
      for (const p of [...this.peers.values()]) await next.setPeer(p);
    } catch (e) {
      if (next !== undefined) await next.destroy().catch(() => undefined);
      if (this.destroyed) return;
      this.opts.log.error(`data plane: cannot recreate ${old.name} (attempt ${this.attempts}/${DATAPLANE_RESTORE_ATTEMPTS}): ${message(e)}`);
      if (this.attempts >= DATAPLANE_RESTORE_ATTEMPTS) {
        this.fail(`${old.name} could not be recreated ${this.attempts} times in a row (last: ${message(e)})`);
      } else {
        this.retryTimer = this.opts.clock.setTimeout(() => this.attempt(), DATAPLANE_RETRY_MIN * 2 ** (this.attempts - 1));
      }
      return;
    }
    if (this.destroyed) {
      await next.destroy().catch(() => undefined);
      return;
    }
    this.current = next;
    this.watch(next);
    this.state = 'up';
    this.restarts++;
    this.restartTimes.push(this.opts.clock.now());
    this.opts.log.info(`data plane ${next.name} recreated (${next.backend}) with ${this.peers.size} peers, ${Math.round(this.opts.clock.now() - this.downAt)} ms after it went down`);
    this.settle?.resolve();
    this.settle = undefined;
    this.onRestored?.();
  }

  private fail(reason: string): void {
    this.state = 'failed';
    this.lastError = `${this.lastError ?? ''}${this.lastError ? '; ' : ''}giving up: ${reason}`;
    this.opts.log.error(`data plane: giving up: ${reason}; the node stops with a non-zero exit status, for its supervisor to restart it`);
    this.settle?.reject(new DataPlaneDown(`the data plane is down: ${reason}`));
    this.settle = undefined;
    this.onFailed?.(reason);
  }
}

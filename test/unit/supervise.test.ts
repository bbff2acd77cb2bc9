// The data plane supervisor (src/daemon/supervise.ts) against fake interfaces and a virtual
// clock: a death is noticed (exit event or failing dumps), the interface is recreated with
// every peer as last asked for, calls made meanwhile land on the new interface, and it gives
// up (once) after repeated failures or a crash loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SupervisedDataPlane } from '../../src/daemon/supervise.js';
import type { DataPlane, WgDump, WgPeerConfig } from '../../src/daemon/dataplane.js';
import { VirtualClock } from '../../src/sim/clock.js';
import type { Logger } from '../../src/util/log.js';
import { DATAPLANE_CHECK_INTERVAL, DATAPLANE_MAX_RESTARTS, DATAPLANE_RESTORE_ATTEMPTS } from '../../src/params.js';

class FakePlane implements DataPlane {
  readonly name = 'wh-test';
  readonly backend = 'fake';
  readonly peers = new Map<string, WgPeerConfig>();
  readonly died: Promise<string>;
  kill: (why: string) => void = () => undefined;
  alive = true;
  destroyed = false;
  /** dump() fails (a kernel interface that was deleted: no exit event). */
  mute = false;
  constructor(readonly serial: number) {
    this.died = new Promise((r) => { this.kill = (why) => { this.alive = false; r(why); }; });
  }
  async setPeer(p: WgPeerConfig): Promise<void> {
    if (!this.alive) throw new Error('ECONNREFUSED');
    const before = this.peers.get(p.publicKey);
    this.peers.set(p.publicKey, { ...p, ...(p.endpoint === undefined && before?.endpoint ? { endpoint: before.endpoint } : {}) });
  }
  async removePeer(k: string): Promise<void> {
    if (!this.alive) throw new Error('ECONNREFUSED');
    this.peers.delete(k);
  }
  async dump(): Promise<WgDump> {
    if (!this.alive || this.mute) throw new Error('no such device');
    return { publicKey: '', listenPort: 1, peers: [] };
  }
  async destroy(): Promise<void> {
    this.destroyed = true;
    this.alive = false;
  }
}

function setup(opts: { failCreates?: number } = {}) {
  const clock = new VirtualClock();
  const lines: string[] = [];
  const log: Logger = { debug: (m) => lines.push(`debug ${m}`), info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const planes: FakePlane[] = [];
  let failCreates = opts.failCreates ?? 0;
  const create = async (): Promise<DataPlane> => {
    if (planes.length > 0 && failCreates > 0) {
      failCreates--;
      throw new Error('wireguard-go is gone');
    }
    const p = new FakePlane(planes.length);
    planes.push(p);
    return p;
  };
  return { clock, lines, planes, create, log };
}

const A = 'A'.repeat(43) + '=';
const B = 'B'.repeat(43) + '=';

test('an exited implementation is recreated with every peer, endpoint, keepalive and allowed IPs', async () => {
  const { clock, lines, planes, create, log } = setup();
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  let restored = 0;
  dp.onRestored = () => restored++;
  await dp.setPeer({ publicKey: A, allowedIps: ['10.0.0.2/32'], endpoint: '1.2.3.4:5', keepalive: 20 });
  await dp.setPeer({ publicKey: A, allowedIps: ['10.0.0.2/32', 'fd00::2/128'], keepalive: 20 }); // endpoint kept
  await dp.setPeer({ publicKey: B, allowedIps: ['10.0.0.3/32'] });
  await dp.removePeer(B);
  planes[0]!.kill('userspace WireGuard exited unexpectedly (SIGKILL)');
  await clock.run(0);
  assert.equal(planes.length, 2, 'recreated');
  assert.equal(dp.state, 'up');
  assert.equal(dp.restarts, 1);
  assert.match(dp.lastError!, /SIGKILL/);
  assert.equal(restored, 1);
  assert.deepEqual([...planes[1]!.peers.values()], [{ publicKey: A, allowedIps: ['10.0.0.2/32', 'fd00::2/128'], endpoint: '1.2.3.4:5', keepalive: 20 }]);
  assert.ok(lines.some((l) => /^error data plane down: .*SIGKILL/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^info data plane wh-test recreated/.test(l)), lines.join('\n'));
});

test('calls made while the interface is being recreated are applied to the new one', async () => {
  const { clock, planes, create, log } = setup({ failCreates: 1 });
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  await dp.setPeer({ publicKey: A, allowedIps: ['10.0.0.2/32'] });
  planes[0]!.kill('gone');
  await clock.run(0); // the first attempt fails; a retry is scheduled
  assert.equal(dp.state, 'restarting');
  await assert.rejects(dp.dump(), /being recreated/);
  const pending = dp.setPeer({ publicKey: B, allowedIps: ['10.0.0.3/32'], endpoint: '5.6.7.8:9' });
  const removal = dp.removePeer(A);
  await clock.run(10_000);
  await pending;
  await removal;
  assert.equal(dp.state, 'up');
  assert.deepEqual([...planes[1]!.peers.keys()], [B]);
  assert.equal(planes[1]!.peers.get(B)!.endpoint, '5.6.7.8:9');
});

test('an interface that stops answering (no exit event) is noticed by the periodic dump', async () => {
  const { clock, planes, create, log } = setup();
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  await clock.run(DATAPLANE_CHECK_INTERVAL * 3);
  assert.equal(planes.length, 1, 'a healthy interface is left alone');
  planes[0]!.mute = true;
  await clock.run(DATAPLANE_CHECK_INTERVAL * 3);
  assert.equal(planes.length, 2);
  assert.ok(planes[0]!.destroyed, 'what is left of the old one is removed first');
  assert.equal(dp.state, 'up');
  assert.match(dp.lastError!, /does not answer: no such device/);
  await dp.destroy();
});

test('gives up once after repeated failed attempts; calls then fail instead of hanging', async () => {
  const { clock, lines, planes, create, log } = setup({ failCreates: 1000 });
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  const failed: string[] = [];
  dp.onFailed = (why) => failed.push(why);
  planes[0]!.kill('gone');
  await clock.run(0);
  const waiting = dp.setPeer({ publicKey: A, allowedIps: [] }).then(() => 'applied', (e: Error) => e.message);
  await clock.run(60_000);
  assert.equal(dp.state, 'failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0]!, new RegExp(`could not be recreated ${DATAPLANE_RESTORE_ATTEMPTS} times .*wireguard-go is gone`));
  assert.match(await waiting, /the data plane is down/);
  await assert.rejects(dp.setPeer({ publicKey: A, allowedIps: [] }), /the data plane is down/);
  assert.equal(lines.filter((l) => /cannot recreate/.test(l)).length, DATAPLANE_RESTORE_ATTEMPTS);
  assert.ok(lines.some((l) => /^error data plane: giving up/.test(l)));
});

test('a crash loop (too many restarts within the window) gives up', async () => {
  const { clock, planes, create, log } = setup();
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  const failed: string[] = [];
  dp.onFailed = (why) => failed.push(why);
  for (let i = 0; i < DATAPLANE_MAX_RESTARTS; i++) {
    planes.at(-1)!.kill('crash');
    await clock.run(1000);
    assert.equal(dp.state, 'up', `restart ${i + 1}`);
  }
  planes.at(-1)!.kill('crash');
  await clock.run(1000);
  assert.equal(dp.state, 'failed');
  assert.match(failed[0] ?? '', /went down \d+ times within/);
});

test('destroy while recreating: the new interface is not left behind', async () => {
  const { clock, planes, create, log } = setup({ failCreates: 1 });
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  planes[0]!.kill('gone');
  await clock.run(0);
  await dp.destroy();
  await clock.run(60_000);
  assert.equal(planes.length, 1, 'no attempt after destroy');
  assert.notEqual(dp.state, 'up');
});

test('destroy during a slow re-creation waits for it, and the new interface is removed before it returns', async () => {
  const clock = new VirtualClock();
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const planes: FakePlane[] = [];
  const create = (): Promise<DataPlane> => new Promise((resolve) => {
    const p = new FakePlane(planes.length);
    planes.push(p);
    if (planes.length === 1) resolve(p);
    else clock.setTimeout(() => resolve(p), 1000); // wireguard-go taking its time to serve its socket
  });
  const dp = await SupervisedDataPlane.start({ create, log, clock });
  planes[0]!.kill('gone');
  await clock.run(0);
  assert.equal(planes.length, 2, 'creating');
  let removedWhenDone: boolean | undefined;
  const destroying = dp.destroy().then(() => { removedWhenDone = planes[1]!.destroyed; });
  await new Promise((r) => setImmediate(r)); // real time passes; the creation is still pending
  await clock.run(2000);
  await destroying;
  assert.equal(removedWhenDone, true, 'the interface created meanwhile is gone when destroy() resolves');
});

// The channel's slot-indexed peer states (src/proto/peerslots.ts) against the reference replay
// window (src/proto/replay.ts): for many peers at once, whose slots are released and reused, every
// (epoch, counter) gets the same check() answer from both, in runs of close counters (bitmaps),
// far-apart ones (short lists), jumps ahead and epoch changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSlots } from '../../src/proto/peerslots.js';
import { ReplayWindow } from '../../src/proto/replay.js';
import { REPLAY_WINDOW } from '../../src/params.js';
import { seededRandom } from '../../src/sim/network.js';

test('peer slots accept exactly the counters the replay window accepts, slot by slot', () => {
  const slots = new PeerSlots();
  const rnd = seededRandom(31);
  const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);
  // 40 peers, each with its own counter spread; a slot is sometimes released and made anew.
  const peers = Array.from({ length: 40 }, (_, i) => ({
    slot: slots.alloc(key(i), key(i + 100), i % 3 !== 0), ref: new ReplayWindow(), base: 0n, epoch: 5n,
    spread: [3, 20, 40, 90, 600, 5000][i % 6]!, id: i,
  }));
  let accepted = 0, refused = 0;
  for (let n = 0; n < 60_000; n++) {
    const p = peers[Math.floor(rnd() * peers.length)]!;
    const r = rnd();
    if (r < 0.002) {
      slots.release(p.slot);
      p.slot = slots.alloc(key(p.id), key(p.id + 100), p.id % 3 !== 0);
      p.ref = new ReplayWindow();
    } else if (r < 0.004) {
      p.epoch += 1n; // the peer restarted
    } else if (r < 0.014) {
      p.base += BigInt(Math.floor(rnd() * 3 * REPLAY_WINDOW)); // a jump ahead
    }
    const epoch = rnd() < 0.01 ? p.epoch - 1n : p.epoch;
    const counter = p.base + BigInt(Math.floor(rnd() * p.spread));
    const expected = p.ref.check(epoch, counter);
    assert.equal(slots.check(p.slot, epoch, counter), expected, `peer ${p.id}, packet ${n}: epoch ${epoch} counter ${counter}`);
    if (expected) {
      p.ref.accept(epoch, counter);
      slots.accept(p.slot, epoch, counter);
      accepted++;
    } else refused++;
  }
  assert.ok(accepted > 10_000 && refused > 10_000, `both answers were exercised (${accepted} accepted, ${refused} refused)`);
  for (const p of peers) {
    assert.deepEqual(slots.tx(p.slot), key(p.id));
    assert.deepEqual(slots.rx(p.slot), key(p.id + 100));
    assert.equal(slots.workbitOk(p.slot), p.id % 3 !== 0);
  }
});

// The path driver (src/daemon/paths.ts) runs at most one DHT lookup per peer at a time. A lookup
// through nodes that never answer (hostile nodes can hand out records of valid keys at silent
// addresses) runs for minutes, longer than the machine's PATH_OP_TIMEOUT, and an early report
// frees the machine's slot before the lookup ends: without the bound, every new search of the
// peer started one more lookup beside the old ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Paths } from '../../src/daemon/paths.js';
import type { NodeContext } from '../../src/daemon/context.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { seededRandom } from '../../src/sim/network.js';
import { PATH_OP_TIMEOUT } from '../../src/params.js';

test('one DHT lookup per peer at a time, however long a lookup runs', async () => {
  const clock = new VirtualClock();
  let started = 0, running = 0, most = 0;
  const never = () => new Promise<never>(() => undefined);
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const ctx = {
    clock, log: quiet, stopping: false, wg: undefined,
    seams: { random: seededRandom(3) },
    nat: { relayCandidates: () => [], keepalive: () => 25 },
    dht: {
      hex: '00'.repeat(32),
      // A lookup that never ends (its requests go to nodes that do not answer), and a ping that
      // is never answered.
      findNode: () => { started++; running++; most = Math.max(most, running); return never(); },
      ping: async () => undefined,
    },
    traversal: { punch: async () => ({ direct: false }), links: new Map(), closeLink: () => undefined, openLink: async () => undefined },
    wgSync: { poke: () => undefined, hasSession: async () => false, recreate: async () => undefined, setEndpoint: async () => undefined },
    guard: { judge: () => undefined, forget: () => undefined },
    join: {},
  } as unknown as NodeContext;
  const key = new Uint8Array(32).fill(7);
  const paths = new Paths(ctx, [{ keyB64: Buffer.from(key).toString('base64'), key }]);
  paths.start();
  await clock.run(10 * PATH_OP_TIMEOUT);
  paths.close();
  assert.ok(started >= 1, 'the peer was searched');
  assert.equal(most, 1, `lookups of the one peer under way at once (${started} started)`);
});

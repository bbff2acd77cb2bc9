// A full bucket of good entries (PROTOCOL.md 9.3, 9.4; ENTRY_GOOD_FOR): it keeps its entries
// without pinging the oldest for a newcomer, and a stranger falling in it is not pinged back to
// be verified; once its entries are questionable, both pings happen again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { randomIdInBucket } from '../../src/dht/id.js';
import { DhtNode } from '../../src/dht/node.js';
import { randomBytes } from '../../src/util/random.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork } from '../../src/sim/network.js';
import { simAddr } from '../../src/sim/swarm.js';
import { decodeBody, encodeBody } from '../../src/proto/messages.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { ENTRY_GOOD_FOR, FIND_PAD_TO, K } from '../../src/params.js';

const sodium = await sodiumReady();

/** Fills the bucket of `node`'s table that `key` falls in with K entries at unbound addresses. */
function fillBucketOf(node: DhtNode, key: Uint8Array, now: number): void {
  const i = node.table.bucketIndex(key);
  for (let n = 0; n < K; n++) assert.equal(node.table.verified(randomIdInBucket(node.id, i, randomBytes), simAddr(1000 + n), now)?.status, 'added');
}

test('a stranger whose bucket is full of good entries is not verified; once they are questionable, it is', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 11 });
  const server = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'b', transport: net.bind(simAddr(0)), clock, refresh: false });
  const client = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'b' });
  fillBucketOf(server, client.publicKey, clock.now());
  const t = net.bind(simAddr(1));
  const got: string[] = [];
  t.setReceiver((data) => {
    const o = client.open(data);
    if (!o.ok) return;
    const d = decodeBody(o.body);
    got.push(d.ok && d.msg.t === 'ping' ? 'ping' : d.ok ? d.msg.t : 'junk');
  });
  const find = (): void => t.send(simAddr(0), client.seal(server.id, encodeBody({ t: 'find', x: randomBytes(8), k: randomBytes(32) }, FIND_PAD_TO)));
  find();
  await clock.run(500);
  assert.deepEqual(got, ['nodes']);
  assert.equal(server.counters.get('verify-bucket-full'), 1);

  await clock.run(ENTRY_GOOD_FOR + 1000);
  got.length = 0;
  find();
  await clock.run(500);
  assert.deepEqual(got.sort(), ['nodes', 'ping'], 'the bucket went questionable: the stranger is pinged');
  server.close();
  t.close();
});

test('a full bucket of good entries pings no one for a newcomer; a questionable oldest entry is pinged and evicted', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 12 });
  const a = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'b', transport: net.bind(simAddr(0)), clock, refresh: false });
  const b = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'b', transport: net.bind(simAddr(1)), clock, refresh: false });
  fillBucketOf(a, b.id, clock.now());
  let done = false;
  void a.ping(b.id, simAddr(1)).then((r) => { assert.ok(r); done = true; });
  await clock.runUntil(() => done, 10_000);
  await clock.run(5000);
  assert.equal(net.unroutable, 0, 'no ping of the oldest entry (its address is bound to nothing)');
  assert.equal(a.table.get(b.hex), undefined, 'the newcomer waits as a replacement');

  await clock.run(ENTRY_GOOD_FOR + 1000);
  done = false;
  void a.ping(b.id, simAddr(1)).then((r) => { assert.ok(r); done = true; });
  await clock.runUntil(() => done, 10_000);
  await clock.run(5000); // the oldest's ping and its retry time out
  assert.ok(net.unroutable >= 1, 'the questionable oldest entry was pinged');
  assert.equal(a.counters.get('evicted'), 1);
  assert.ok(a.table.get(b.hex) !== undefined, 'the newcomer took its place');
  a.close();
  b.close();
});

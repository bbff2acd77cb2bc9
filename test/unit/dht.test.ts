// Kademlia: routing table and lookup logic alone, then whole swarms in the in-memory network
// (convergence, packet loss, absent keys, route poisoning, amplification, rate limits), then a
// few nodes over real UDP on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { RoutingTable } from '../../src/dht/table.js';
import { Lookup } from '../../src/dht/lookup.js';
import { commonPrefixBits, compareDistance, randomIdInBucket } from '../../src/dht/id.js';
import { DhtNode } from '../../src/dht/node.js';
import { UdpTransport } from '../../src/net/udp.js';
import { realClock } from '../../src/util/clock.js';
import { randomBytes } from '../../src/util/random.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork, seededRandom } from '../../src/sim/network.js';
import { bootstrapSwarm, createSwarm, simAddr, simLookup } from '../../src/sim/swarm.js';
import { encodeBody, type NodeRecord } from '../../src/proto/messages.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { REFRESH_CHECK, STALE_AFTER_FAILURES } from '../../src/params.js';

const sodium = await sodiumReady();
const id = (first: number, rest = 0) => { const b = new Uint8Array(32).fill(rest); b[0] = first; return b; };
const addr = (i: number) => ({ host: `192.0.2.${i}`, port: 1000 + i });

test('id helpers: common prefix, distance order, random IDs land in the asked bucket', () => {
  assert.equal(commonPrefixBits(id(0), id(0)), 256);
  assert.equal(commonPrefixBits(id(0x80), id(0)), 0);
  assert.equal(commonPrefixBits(id(0x01), id(0)), 7);
  assert.ok(compareDistance(id(0), id(1), id(2)) < 0);
  const self = randomBytes(32);
  for (let bits = 0; bits < 256; bits += 17) assert.equal(commonPrefixBits(self, randomIdInBucket(self, bits, randomBytes)), bits);
});

test('routing table: K per bucket, full bucket asks to ping the oldest, eviction promotes the newcomer', () => {
  const t = new RoutingTable(id(0), 3);
  // IDs 0x80.. all share a 0-bit prefix with self: the same bucket.
  for (let i = 0; i < 3; i++) assert.equal(t.verified(id(0x80 + i), addr(i), i)?.status, 'added');
  const r = t.verified(id(0x90), addr(9), 10);
  assert.equal(r?.status, 'full');
  assert.ok(r?.status === 'full' && r.oldest.hex === t.get(r.oldest.hex)?.hex && r.oldest.id[0] === 0x80);
  assert.equal(t.size, 3);
  const promoted = t.evict(Buffer.from(id(0x80)).toString('hex'));
  assert.equal(promoted?.id[0], 0x90);
  assert.equal(t.size, 3);
  assert.equal(t.get(Buffer.from(id(0x80)).toString('hex')), undefined);
});

test('routing table: a stale entry is replaced at once; a fresh answer moves an entry to the back', () => {
  const t = new RoutingTable(id(0), 2);
  t.verified(id(0x80), addr(1), 1);
  t.verified(id(0x81), addr(2), 2);
  const hex80 = Buffer.from(id(0x80)).toString('hex');
  t.verified(id(0x80), addr(1), 3); // 0x80 is now the most recently seen
  const r = t.verified(id(0x82), addr(3), 4);
  assert.ok(r?.status === 'full' && r.oldest.id[0] === 0x81);
  for (let i = 0; i < STALE_AFTER_FAILURES; i++) t.failed(hex80);
  assert.equal(t.verified(id(0x83), addr(4), 5)?.status, 'added');
  assert.equal(t.get(hex80), undefined);
});

test('routing table: a node is never both in a bucket and in its replacement cache', () => {
  const t = new RoutingTable(id(0), 2);
  const hex = (b: number) => Buffer.from(id(b)).toString('hex');
  t.verified(id(0x80), addr(1), 1);
  t.verified(id(0x81), addr(2), 2);
  assert.equal(t.verified(id(0x82), addr(3), 3)?.status, 'full'); // 0x82 waits as a replacement
  for (let i = 0; i < STALE_AFTER_FAILURES; i++) t.failed(hex(0x80));
  assert.equal(t.verified(id(0x82), addr(3), 4)?.status, 'added'); // takes the stale slot
  t.evict(hex(0x81)); // must not promote a second copy of 0x82
  assert.equal(t.size, 1);
  assert.deepEqual(t.stats(), [{ index: 0, size: 1, replacements: 0 }]);
  t.evict(hex(0x82));
  assert.equal(t.size, 0);
  assert.deepEqual(t.stats(), []);
});

test('routing table: closest() ranks by whole XOR distance, failing entries last', () => {
  // IDs that share long prefixes with each other and with the target (ties in the first bytes).
  const rnd = seededRandom(8);
  const self = id(0x55);
  const target = new Uint8Array(32).map(() => Math.floor(rnd() * 256));
  const t = new RoutingTable(self, 50);
  const ids: Uint8Array[] = [];
  for (let i = 0; i < 400; i++) {
    const b = new Uint8Array(32).map(() => Math.floor(rnd() * 256));
    const shared = Math.floor(rnd() * 12);
    for (let j = 0; j < shared; j++) b[j] = target[j]!;
    if (t.verified(b, addr(i % 250), i)?.status === 'added') ids.push(b);
  }
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  for (const b of ids) if (rnd() < 0.2) for (let i = 0; i < STALE_AFTER_FAILURES; i++) t.failed(hex(b));
  const stale = (b: Uint8Array) => (t.get(hex(b))!.failures >= STALE_AFTER_FAILURES ? 1 : 0);
  const expected = [...ids].sort((a, b) => stale(a) - stale(b) || compareDistance(target, a, b)).map(hex);
  assert.deepEqual(t.closest(target, 30).map((e) => e.hex), expected.slice(0, 30));
  assert.deepEqual(t.closest(target, 1000).map((e) => e.hex), expected);
  assert.deepEqual(t.closest(target, 30, expected[0]).map((e) => e.hex), expected.slice(1, 31));
  // Targets at every distance from our own ID (deep buckets, our own ID, its neighbours), and
  // tables with a few failing entries or many, against the same brute-force order.
  const full = new RoutingTable(self, 8);
  const all: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const b = new Uint8Array(32).map(() => Math.floor(rnd() * 256));
    const shared = Math.floor(rnd() * 40);
    for (let bit = 0; bit < shared; bit++) b[bit >> 3] = (b[bit >> 3]! & ~(0x80 >> (bit & 7))) | (self[bit >> 3]! & (0x80 >> (bit & 7)));
    if (full.verified(b, addr(i % 250), i)?.status === 'added') all.push(b);
  }
  const order = (tgt: Uint8Array, ex?: string) => [...all].map(hex).filter((h) => h !== ex)
    .sort((a, b) => (full.get(a)!.failures >= STALE_AFTER_FAILURES ? 1 : 0) - (full.get(b)!.failures >= STALE_AFTER_FAILURES ? 1 : 0)
      || compareDistance(tgt, full.get(a)!.id, full.get(b)!.id));
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 60; k++) {
      const tgt = new Uint8Array(self);
      if (k < 41) { if (k < 40) tgt[k >> 3]! ^= 0x80 >> (k & 7); } // our ID with bit k flipped, or our ID itself
      else tgt.set(new Uint8Array(32).map(() => Math.floor(rnd() * 256)));
      for (const n of [1, 8, 20, 500]) assert.deepEqual(full.closest(tgt, n).map((e) => e.hex), order(tgt).slice(0, n), `round ${round} target ${k} n ${n}`);
      const ex = order(tgt)[1];
      assert.deepEqual(full.closest(tgt, 20, ex).map((e) => e.hex), order(tgt, ex).slice(0, 20));
    }
    for (const b of all) if (rnd() < (round === 0 ? 0.05 : 0.5)) for (let i = 0; i < STALE_AFTER_FAILURES; i++) full.failed(hex(b));
  }
});

test('routing table: the address comes only from direct exchanges', () => {
  const t = new RoutingTable(id(0));
  t.verified(id(5), addr(1), 1);
  t.verified(id(5), addr(2), 2); // it answered from a new address: that is the freshest knowledge
  assert.deepEqual(t.get(Buffer.from(id(5)).toString('hex'))?.addr, addr(2));
});

test('lookup state machine: alpha in flight, terminates when the k closest answered, and for absent keys', () => {
  const target = id(0x00, 0x11);
  const lk = new Lookup(target, id(0xff), 3, 2, 100);
  lk.add([1, 2, 3, 4, 5].map((i) => ({ id: id(i), addr: addr(i) })), 1);
  const first = lk.next();
  assert.equal(first.length, 2);
  assert.equal(lk.next().length, 0, 'alpha bound');
  lk.answered(first[0]!, []);
  lk.failed(first[1]!);
  const second = lk.next();
  assert.equal(second.length, 2);
  for (const c of second) lk.answered(c, []);
  // Three non-failed closest have answered: done, even though id(5) was never asked.
  assert.equal(lk.finished, true);
  assert.equal(lk.closest().length, 3);
  assert.equal(lk.targetDepth, undefined);
  // A lookup whose candidates all fail terminates too.
  const lk2 = new Lookup(target, id(0xff), 3, 3, 100);
  lk2.add([{ id: id(9), addr: addr(9) }], 1);
  for (const c of lk2.next()) lk2.failed(c);
  assert.equal(lk2.finished, true);
});

test('lookup state machine: a request budget bounds lookups that keep hearing of new nodes', () => {
  const lk = new Lookup(id(0), id(0xff), 20, 3, 10);
  const rnd = seededRandom(5);
  lk.add([{ id: randomBytes(32), addr: addr(1) }], 1);
  let rounds = 0;
  while (!lk.finished && rounds++ < 1000) {
    for (const c of lk.next()) lk.answered(c, Array.from({ length: 5 }, () => ({ id: randomBytes(32), addr: addr(Math.floor(rnd() * 200)) })));
  }
  assert.equal(lk.finished, true);
  assert.equal(lk.requests, 10);
});

async function sampleLookups(swarm: ReturnType<typeof createSwarm>, samples: number, seed: number) {
  const rnd = seededRandom(seed);
  let ok = 0;
  const failures: string[] = [];
  for (let s = 0; s < samples; s++) {
    const a = Math.floor(rnd() * swarm.nodes.length);
    let b = Math.floor(rnd() * swarm.nodes.length);
    if (b === a) b = (b + 1) % swarm.nodes.length;
    let result: import('../../src/dht/node.js').LookupResult | undefined;
    void swarm.nodes[a]!.findNode(swarm.nodes[b]!.id).then((r) => { result = r; });
    await swarm.clock.runUntil(() => result !== undefined, 120_000, 50);
    const found = (result as import('../../src/dht/node.js').LookupResult | undefined)?.found;
    if (found && found.host === simAddr(b).host && found.port === simAddr(b).port) ok++;
    else failures.push(`${a}->${b}`);
  }
  return { ok, failures };
}

test('200 simulated nodes bootstrapped from one node converge; every sampled lookup finds the right address', async () => {
  const swarm = createSwarm(sodium, { nodes: 200, seed: 11 });
  try {
    const reached = await bootstrapSwarm(swarm);
    assert.equal(reached, 199, 'every node reached the bootstrap node');
    for (const n of swarm.nodes) assert.ok(n.table.size >= 20, `node table has ${n.table.size} entries`);
    const { ok, failures } = await sampleLookups(swarm, 200, 12);
    assert.equal(ok, 200, `failed lookups: ${failures.join(' ')}`);
    assert.deepEqual(swarm.clock.errors, []);
    assert.equal(swarm.net.receiverErrors, 0);
  } finally {
    swarm.close();
  }
});

test('with 10 % packet loss, lookups still succeed', async () => {
  const swarm = createSwarm(sodium, { nodes: 200, seed: 21, loss: 0.1 });
  try {
    await bootstrapSwarm(swarm);
    // One maintenance period (REFRESH_CHECK): nodes whose first contacts were all lost look
    // themselves up again, as a running daemon does.
    await swarm.clock.run(REFRESH_CHECK + 1000);
    const { ok, failures } = await sampleLookups(swarm, 100, 22);
    assert.ok(swarm.net.lost > 1000, `loss was applied (${swarm.net.lost} lost)`);
    assert.equal(ok, 100, `failed lookups: ${failures.join(' ')}`);
  } finally {
    swarm.close();
  }
});

test('a lookup for a key that does not exist terminates, with the closest nodes and no address', async () => {
  const swarm = createSwarm(sodium, { nodes: 100, seed: 31 });
  try {
    await bootstrapSwarm(swarm);
    const t0 = swarm.clock.now();
    const r = await simLookup(swarm, 5, randomBytes(32));
    assert.ok(r, 'lookup finished');
    assert.equal(r.found, undefined);
    assert.equal(r.closest.length, 20);
    assert.ok(swarm.clock.now() - t0 < 30_000);
  } finally {
    swarm.close();
  }
});

test('route poisoning: a lying node cannot change a verified address', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 3 });
  const mk = (i: number) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: net.bind(simAddr(i)), clock });
  const victim = mk(0), honest = mk(1);
  // The liar answers every find with the honest node's key at a bogus address.
  const liarSecret = generateSecret(sodium);
  const liarChannel = new SecureChannel(sodium, { secret: liarSecret, workbit: 0, namespace: 'p' });
  const liarTransport = net.bind(simAddr(2));
  const bogus = { host: '10.66.66.66', port: 6666 };
  liarTransport.setReceiver((data, from) => {
    const opened = liarChannel.open(data);
    if (!opened.ok) return;
    const body = new TextDecoder('latin1').decode(opened.body);
    const xi = body.indexOf('1:x8:');
    const x = opened.body.slice(xi + 5, xi + 13);
    const reply = body.includes('4:ping')
      ? encodeBody({ t: 'pong', x, a: from, f: 0 })
      : encodeBody({ t: 'nodes', x, n: [{ key: honest.id, addr: bogus, direct: true } satisfies NodeRecord] });
    liarTransport.send(from, liarChannel.seal(opened.sender, reply));
  });
  let done = false;
  void (async () => {
    await victim.ping(honest.id, simAddr(1));
    await victim.ping(liarChannel.publicKey, simAddr(2));
    await victim.lookup(honest.id);
    done = true;
  })();
  await clock.runUntil(() => done, 60_000);
  assert.ok(done);
  assert.deepEqual(victim.table.get(honest.hex)?.addr, simAddr(1));
  victim.close(); honest.close(); liarTransport.close();
});

test('hearsay: a node named in a `nodes` answer enters the table only once it answered us itself', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 4 });
  const mk = (i: number) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: net.bind(simAddr(i)), clock });
  const victim = mk(0);
  // The third party: a real key whose address (simAddr(3)) nobody listens at yet.
  const thirdSecret = generateSecret(sodium);
  const thirdKey = new SecureChannel(sodium, { secret: thirdSecret, workbit: 0, namespace: 'p' }).publicKey;
  const thirdHex = Buffer.from(thirdKey).toString('hex');
  // The teller answers pings, and every find with a record of the third party.
  const tellerChannel = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'p' });
  const tellerTransport = net.bind(simAddr(2));
  let told = 0;
  tellerTransport.setReceiver((data, from) => {
    const opened = tellerChannel.open(data);
    if (!opened.ok) return;
    const body = new TextDecoder('latin1').decode(opened.body);
    const xi = body.indexOf('1:x8:');
    const x = opened.body.slice(xi + 5, xi + 13);
    const isPing = body.includes('4:ping');
    if (!isPing) told++;
    const reply = isPing
      ? encodeBody({ t: 'pong', x, a: from, f: 0 })
      : encodeBody({ t: 'nodes', x, n: [{ key: thirdKey, addr: simAddr(3), direct: true } satisfies NodeRecord] });
    tellerTransport.send(from, tellerChannel.seal(opened.sender, reply));
  });
  let result: import('../../src/dht/node.js').LookupResult | undefined;
  void (async () => {
    await victim.ping(tellerChannel.publicKey, simAddr(2));
    result = await victim.lookup(thirdKey);
  })();
  await clock.runUntil(() => result !== undefined, 60_000);
  assert.ok(told > 0, 'the teller was asked and named the third party');
  assert.ok(victim.table.get(tellerChannel.publicHex) !== undefined, 'the teller answered from its address: it is in the table');
  assert.deepEqual(result?.found, simAddr(3), 'the lookup reports the hearsay address');
  assert.equal(result?.verified, false, '... as hearsay');
  assert.equal(victim.table.get(thirdHex), undefined, 'hearsay inserted the third party into the routing table');
  // Once the third party really answers at that address, it enters the table.
  const third = new DhtNode({ sodium, secret: thirdSecret, workbit: 0, namespace: 'p', transport: net.bind(simAddr(3)), clock });
  let pinged = false;
  void victim.ping(thirdKey, simAddr(3)).then(() => { pinged = true; });
  await clock.runUntil(() => pinged, 10_000);
  assert.deepEqual(victim.table.get(thirdHex)?.addr, simAddr(3));
  victim.close(); third.close(); tellerTransport.close();
});

test('no amplification: an unverified sender never gets more bytes than it sent', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 4 });
  const server = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'a', transport: net.bind(simAddr(0)), clock });
  // Fill the server's table so a full answer would be large.
  for (let i = 0; i < 40; i++) server.table.verified(randomBytes(32), simAddr(100 + i), 0);
  const client = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'a' });
  const t = net.bind(simAddr(1));
  const sizes: number[] = [];
  t.setReceiver((data) => { if (client.open(data).ok) sizes.push(data.length); });
  for (const pad of [0, 300, 1200]) {
    sizes.length = 0;
    const request = client.seal(server.id, encodeBody({ t: 'find', x: randomBytes(8), k: randomBytes(32) }, pad));
    t.send(simAddr(0), request);
    await clock.run(500);
    const total = sizes.reduce((a, b) => a + b, 0);
    assert.ok(sizes.length >= 1, 'answered');
    assert.ok(total <= request.length, `${total} bytes sent for a ${request.length}-byte request`);
  }
  assert.ok(server.counters.get('nodes-truncated') >= 1);
  server.close();
});

test('per-source rate limit: a flood of requests from one address is mostly dropped', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 5, minDelay: 1, maxDelay: 1 });
  const server = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'r', transport: net.bind(simAddr(0)), clock });
  const client = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'r' });
  const t = net.bind(simAddr(1));
  let answers = 0;
  t.setReceiver((data) => { if (client.open(data).ok) answers++; });
  for (let i = 0; i < 1000; i++) t.send(simAddr(0), client.seal(server.id, encodeBody({ t: 'ping', x: randomBytes(8) }, 100)));
  await clock.run(100);
  const c = server.rpc.counters.toJSON();
  assert.ok(answers <= 110, `${answers} answers to a burst of 1000`);
  assert.ok((c['drop:rate-limited-request'] ?? 0) + (c['drop:rate-limited'] ?? 0) >= 850, JSON.stringify(c));
  server.close();
});

test('the same DHT code runs over real UDP on loopback', async () => {
  const transports = await Promise.all([0, 1, 2, 3].map(() => UdpTransport.bind('127.0.0.1', 0)));
  const nodes = transports.map((transport) => new DhtNode({
    sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'udp', transport, clock: realClock, requestTimeout: 300,
  }));
  try {
    const boot = { key: nodes[0]!.id, addr: transports[0]!.local };
    for (const n of nodes.slice(1)) assert.equal(await n.bootstrap([boot]), 1);
    const r = await nodes[3]!.findNode(nodes[1]!.id);
    assert.deepEqual(r.found, transports[1]!.local);
    assert.ok(nodes[0]!.table.size >= 3);
  } finally {
    for (const n of nodes) n.close();
    for (const t of transports) t.close();
  }
});

test('the first node of a network (no other boot node) bootstraps at once, with nothing to do', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 6 });
  const node = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'f', transport: net.bind(simAddr(0)), clock });
  let answered: number | undefined;
  void node.bootstrap([{ key: node.id, addr: simAddr(0) }]).then((n) => { answered = n; });
  await clock.run(10);
  assert.equal(answered, 0);
  assert.equal(net.sent, 0);
  node.close();
});

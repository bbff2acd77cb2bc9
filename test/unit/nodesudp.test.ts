// A `nodes` answer hands out only UDP contacts (src/dht/records.ts: a WebSocket client's address
// is a TCP source no one else can reach). Before this test the table's K closest were taken
// first and the WebSocket ones dropped after, so a target whose closest contacts were WebSocket
// clients got an answer short by as many (here: empty) though the table held K UDP contacts.
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
import { isUdpAddr, wsAddr } from '../../src/proto/addr.js';
import { decodeBody, encodeBody, type NodeRecord } from '../../src/proto/messages.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { FIND_PAD_TO, K } from '../../src/params.js';

const sodium = await sodiumReady();

test('a find whose closest contacts are WebSocket clients is answered with the K closest UDP contacts', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 7 });
  const server = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'n', transport: net.bind(simAddr(0)), clock, refresh: false });
  const client = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'n' });
  const t = net.bind(simAddr(1));
  try {
    // Bucket 0 (far from the server) holds K WebSocket clients; buckets 1..3 hold K UDP contacts.
    const target = randomIdInBucket(server.id, 0, randomBytes);
    for (let n = 0; n < K; n++) assert.equal(server.table.verified(randomIdInBucket(server.id, 0, randomBytes), wsAddr({ host: '198.51.100.9', port: 40000 + n }), 0)?.status, 'added');
    for (let n = 0; n < K; n++) assert.equal(server.table.verified(randomIdInBucket(server.id, 1 + (n % 3), randomBytes), simAddr(1000 + n), 0)?.status, 'added');
    const answers: NodeRecord[][] = [];
    t.setReceiver((data) => {
      const o = client.open(data);
      if (!o.ok) return;
      const d = decodeBody(o.body);
      if (d.ok && d.msg.t === 'nodes') answers.push(d.msg.n);
    });
    t.send(simAddr(0), client.seal(server.id, encodeBody({ t: 'find', x: randomBytes(8), k: target }, FIND_PAD_TO)));
    await clock.run(500);
    assert.equal(answers.length, 1, 'one nodes answer');
    const got = answers[0]!;
    assert.equal(got.length, K, `${got.length} records`);
    assert.ok(got.every((r) => isUdpAddr(r.addr)), 'only UDP contacts');
  } finally {
    server.close();
    t.close();
  }
});

// Child process of hostilebody.test.ts: a DHT node on the simulated network gets sealed bodies
// that are not canonical bencode from a key it never met (any member of the public DHT can
// send them), then an ordinary ping from the same key. Prints the node's counters and whether
// the ping was answered. Run in a child so that a decoder that loops or exhausts memory fails
// the test by its deadline instead of hanging the test runner.
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { encodeBody } from '../../src/proto/messages.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork } from '../../src/sim/network.js';
import { simAddr } from '../../src/sim/swarm.js';
import { randomBytes } from '../../src/util/random.js';

const bodies = JSON.parse(process.argv[2] ?? '[]') as string[];
const sodium = await sodiumReady();
const clock = new VirtualClock();
const net = new SimNetwork(clock, { seed: 9, minDelay: 1, maxDelay: 1 });
const node = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'h', transport: net.bind(simAddr(0)), clock });
const hostile = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'h' });
const t = net.bind(simAddr(1));
let answered = false;
t.setReceiver((data) => { if (hostile.open(data).ok) answered = true; });
for (const b of bodies) {
  t.send(simAddr(0), hostile.seal(node.id, Buffer.from(b, 'latin1')));
  await clock.run(50);
}
t.send(simAddr(0), hostile.seal(node.id, encodeBody({ t: 'ping', x: randomBytes(8) }, 100)));
await clock.run(500);
process.stdout.write(JSON.stringify({ answered, counters: node.rpc.counters.toJSON() }) + '\n');
node.close();
t.close();

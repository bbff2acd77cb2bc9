// `npm run demo:dht`: a DHT-only demonstration over real UDP on loopback (127.0.0.1), in one
// process: N nodes (default 12) with fresh WireGuard keys bootstrap from the first one, then
// every node looks up every other node by public key and we print what each found.
// Nothing leaves the machine. WireGuard tunnels and NATs are the next milestones (see README).
import { parseArgs } from 'node:util';
import { sodiumReady } from '../crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../crypto/keys.js';
import { DhtNode } from '../dht/node.js';
import { UdpTransport } from '../net/udp.js';
import { addrKey } from '../proto/addr.js';
import { realClock } from '../util/clock.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '12' } } });
const n = Number(values.nodes);
if (!Number.isInteger(n) || n < 2 || n > 200) {
  process.stderr.write('usage: npm run demo:dht -- --nodes N   (2..200)\n');
  process.exit(2);
}
const sodium = await sodiumReady();
const transports = await Promise.all(Array.from({ length: n }, () => UdpTransport.bind('127.0.0.1', 0)));
const nodes = transports.map((transport) => new DhtNode({
  sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'demo', transport, clock: realClock, requestTimeout: 300,
}));
const short = (k: Uint8Array) => keyToBase64(k).slice(0, 10) + '…';
try {
  const boot = { key: nodes[0]!.id, addr: transports[0]!.local };
  console.log(`${n} nodes on 127.0.0.1; bootstrap node ${short(boot.key)} at ${addrKey(boot.addr)}`);
  const t0 = performance.now();
  await Promise.all(nodes.slice(1).map((node) => node.bootstrap([boot])));
  console.log(`all bootstrapped in ${Math.round(performance.now() - t0)} ms\n`);
  console.log('node         address            table  found  lookups(rounds median)');
  let total = 0, right = 0;
  for (let i = 0; i < n; i++) {
    let found = 0;
    const rounds: number[] = [];
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const r = await nodes[i]!.findNode(nodes[j]!.id);
      total++;
      rounds.push(r.rounds);
      if (r.found && addrKey(r.found) === addrKey(transports[j]!.local)) { found++; right++; }
    }
    rounds.sort((a, b) => a - b);
    console.log(`${short(nodes[i]!.id).padEnd(12)} ${addrKey(transports[i]!.local).padEnd(18)} ${String(nodes[i]!.table.size).padStart(5)}  ${String(found).padStart(2)}/${n - 1}  ${rounds[Math.floor(rounds.length / 2)]}`);
  }
  console.log(`\n${right}/${total} lookups found the right address.`);
  const drops = nodes.reduce((s, x) => s + Object.entries(x.rpc.counters.toJSON()).filter(([k]) => k.startsWith('drop:')).reduce((a, [, v]) => a + v, 0), 0);
  console.log(`datagrams dropped by all nodes: ${drops}`);
  process.exitCode = right === total ? 0 : 1;
} finally {
  for (const x of nodes) x.close();
  for (const t of transports) t.close();
}

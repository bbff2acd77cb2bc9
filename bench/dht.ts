// `npm run bench:dht -- --nodes N [--lookups L] [--loss P] [--seed S]`
// Builds N DHT nodes in the in-memory network (real crypto, virtual time), bootstraps them one
// after another from node 0, lets one maintenance period pass, then runs L lookups of random
// existing nodes from random nodes, one at a time. Prints one JSON object as its last line:
//   {nodes, lookups, success_rate, rounds_median, rounds_p99, ms_median, rss_mb, rss_peak_mb, ...}
// ms_median is the lookup's duration in simulated network time (5-50 ms one-way delays);
// wall-clock seconds of the whole run are reported separately, with the process's CPU seconds
// (the wall time depends on what else the machine runs) and its peak RSS.
import { parseArgs } from 'node:util';
import { sodiumReady } from '../src/crypto/sodium.js';
import { REFRESH_CHECK } from '../src/params.js';
import { seededRandom } from '../src/sim/network.js';
import { bootstrapSwarm, createSwarm, simAddr } from '../src/sim/swarm.js';
import type { LookupResult } from '../src/dht/node.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    lookups: { type: 'string', default: '500' },
    loss: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
  },
});
const N = Number(values.nodes), L = Number(values.lookups), loss = Number(values.loss), seed = Number(values.seed);
if (!Number.isInteger(N) || N < 2 || !Number.isInteger(L) || L < 1 || !(loss >= 0 && loss < 1)) {
  process.stderr.write('usage: bench:dht -- --nodes N(>=2) [--lookups L] [--loss 0..1) [--seed S]\n');
  process.exit(2);
}

const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const wall0 = performance.now();
const sodium = await sodiumReady();
const swarm = createSwarm(sodium, { nodes: N, loss, seed });
// Progress on stderr (a long run's partial measurements): memory and CPU time every tenth of the joins.
const cpuSeconds = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };
const progress = (label: string): void => {
  const m = process.memoryUsage(), mb = (x: number): string => (x / 2 ** 20).toFixed(0);
  process.stderr.write(`${label}: rss ${mb(m.rss)} MiB, heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MiB, external ${mb(m.external)} MiB, `
    + `cpu ${cpuSeconds().toFixed(0)} s, wall ${((performance.now() - wall0) / 1000).toFixed(0)} s, datagrams ${swarm.net.sent}\n`);
};
const tenth = Math.max(1, Math.floor((N - 1) / 10));
const reached = await bootstrapSwarm(swarm, undefined, undefined, (n) => { if (n % tenth === 0) progress(`joined ${n}/${N - 1}`); });
await swarm.clock.run(REFRESH_CHECK + 1000);
const bootstrapSeconds = (performance.now() - wall0) / 1000;
process.stderr.write(`bootstrapped ${reached}/${N - 1} nodes in ${bootstrapSeconds.toFixed(1)} s\n`);

const rnd = seededRandom(seed + 1);
const rounds: number[] = [], ms: number[] = [], requests: number[] = [];
let ok = 0;
for (let i = 0; i < L; i++) {
  const a = Math.floor(rnd() * N);
  let b = Math.floor(rnd() * N);
  if (b === a) b = (b + 1) % N;
  let result: LookupResult | undefined;
  const t0 = swarm.clock.now();
  void swarm.nodes[a]!.lookup(swarm.nodes[b]!.id).then((r) => { result = r; });
  await swarm.clock.runUntil(() => result !== undefined, 120_000, 20);
  const found = result?.found;
  if (found !== undefined && found.host === simAddr(b).host && found.port === simAddr(b).port) ok++;
  if (result !== undefined) {
    rounds.push(result.rounds);
    requests.push(result.requests);
    ms.push(swarm.clock.now() - t0);
  }
}
const rssMb = process.memoryUsage().rss / 2 ** 20;
const rssPeakMb = process.resourceUsage().maxRSS / 1024;
swarm.close();
console.log(JSON.stringify({
  nodes: N,
  lookups: L,
  success_rate: ok / L,
  rounds_median: percentile(rounds, 50),
  rounds_p99: percentile(rounds, 99),
  ms_median: Math.round(percentile(ms, 50)),
  rss_mb: Math.round(rssMb),
  rss_peak_mb: Math.round(rssPeakMb),
  requests_median: percentile(requests, 50),
  loss,
  bootstrapped: reached,
  datagrams: swarm.net.sent,
  wall_seconds: Math.round((performance.now() - wall0) / 100) / 10,
  bootstrap_seconds: Math.round(bootstrapSeconds * 10) / 10,
  cpu_seconds: Math.round(cpuSeconds() * 10) / 10,
}));

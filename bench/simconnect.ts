// The NAT grid with whole daemons on simulated NATs (test/unit/simpair.ts), over many seeds:
// bench:connect's measure (first overlay ping after both nodes started) in virtual time, where
// a rare race can be found and replayed by its seed. Prints JSON: per pair the runs, median and
// max of the first ping (virtual s), the seeds of the slowest runs, and whether every run ended
// on the expected path.
//   node dist/bench/simconnect.js [--runs N] [--seed S] [--pair KIND:KIND]... [--logs DIR] [--over S] [--together]
// The two nodes start up to 1 s apart (from the seed: as two `wh up` in micronet), or together.
// --logs DIR writes the debug log of every run slower than --over seconds (default 2) to DIR.
import { mkdirSync, writeFileSync } from 'node:fs';
import { pairs, runPair, type Kind } from '../test/unit/simpair.js';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const runs = Number(opt('--runs') ?? 20);
const seed0 = Number(opt('--seed') ?? 1);
const over = Number(opt('--over') ?? 2);
const logDir = opt('--logs');
const wanted = args.flatMap((a, i) => (args[i - 1] === '--pair' ? [a] : []));
const chosen = pairs().filter(([a, b]) => wanted.length === 0 || wanted.includes(`${a}:${b}`) || wanted.includes(`${b}:${a}`));
if (!Number.isInteger(runs) || runs < 1 || chosen.length === 0) {
  console.error('usage: simconnect [--runs N] [--seed S] [--pair KIND:KIND]... [--logs DIR] [--over S]');
  process.exit(2);
}
/** The ms between the two nodes' starts, from the seed: -1000..1000 in steps of 100 (0 with --together). */
const together = args.includes('--together');
const staggerOf = (seed: number) => (together ? 0 : ((seed * 7) % 21 - 10) * 100);
if (logDir) mkdirSync(logDir, { recursive: true });

const out: Record<string, unknown>[] = [];
let allExpected = true, max = 0;
for (const [a, b] of chosen) {
  const firsts: { seed: number; stagger: number; first: number }[] = [];
  let wrong = 0;
  for (let k = 0; k < runs; k++) {
    const seed = seed0 + k;
    const stagger = staggerOf(seed);
    const { row, log } = await runPair(a as Kind, b as Kind, seed, { debug: logDir !== undefined, stagger });
    const first = row.first ?? Infinity;
    firsts.push({ seed, stagger, first });
    if (row.seen !== row.expected || row.back === undefined) { wrong++; allExpected = false; }
    if (logDir && (first > over || row.seen !== row.expected)) writeFileSync(`${logDir}/${a}-${b}-${seed}.log`, `${JSON.stringify(row)}\n${log}\n`);
  }
  const sorted = firsts.map((f) => f.first).sort((x, y) => x - y);
  max = Math.max(max, sorted.at(-1)!);
  out.push({
    pair: `${a}<->${b}`, runs, median_seconds: sorted[Math.floor(runs / 2)], max_seconds: sorted.at(-1),
    over_2s: sorted.filter((s) => s > 2).length, wrong_path: wrong,
    slowest: [...firsts].sort((x, y) => y.first - x.first).slice(0, 3),
  });
  console.error(JSON.stringify(out.at(-1)));
}
console.log(JSON.stringify({ seed: seed0, runs_per_pair: runs, max_seconds: max, all_expected: allExpected, pairs: out }, null, 1));

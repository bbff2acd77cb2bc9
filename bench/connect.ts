// `npm run bench:connect` (root): for every pair of NAT types, seconds from the last `wh up` to
// the first ping over the overlay, and the path taken, in micronet namespaces with real NATs and
// WireGuard. Prints the grid on stderr and one JSON object as its last line:
//   {"pairs":[{"a","b","expected","seen","seconds"}...], "median_seconds", "max_seconds", "all_expected"}
import { formatGrid, KINDS, runPair, type Row } from '../test/e2e/natgrid.js';

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:connect needs root (network namespaces); run it as root\n');
  process.exit(1);
}
const rows: Row[] = [];
for (let i = 0; i < KINDS.length; i++) {
  for (let j = i; j < KINDS.length; j++) {
    rows.push(await runPair(KINDS[i]!, KINDS[j]!));
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
}
process.stderr.write(`\n${formatGrid(rows)}\n\n`);
const secs = rows.map((r) => r.seconds).filter((s): s is number => s !== null).sort((a, b) => a - b);
console.log(JSON.stringify({
  pairs: rows,
  median_seconds: secs[Math.floor(secs.length / 2)] ?? null,
  max_seconds: secs.at(-1) ?? null,
  connected: secs.length,
  all_expected: rows.every((r) => r.seen === r.expected),
}));

// The NAT grid: for every pair of NAT types, two nodes with a shared trust config (plus two
// public DHT nodes) must ping each other over the overlay within 15 s, on the expected path.
// Real wireguard-go, real nftables NATs in micronet routers, real miniupnpd for "symmetric+upnp".
// The grid is printed and written to artifacts/nat-grid.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { formatGrid, KINDS, runPair, type Row } from './natgrid.js';

test('NAT grid: every pair of NAT types connects within 15 s on the expected path', { timeout: 900_000 }, async () => {
  const only = process.env.WH_GRID_ONLY?.split(',');
  const rows: Row[] = [];
  for (let i = 0; i < KINDS.length; i++) {
    for (let j = i; j < KINDS.length; j++) {
      const a = KINDS[i]!, b = KINDS[j]!;
      if (only && !only.includes(`${a}:${b}`)) continue;
      rows.push(await runPair(a, b));
      process.stderr.write(`grid: ${a} <-> ${b}: ${JSON.stringify(rows.at(-1))}\n`);
    }
  }
  const grid = formatGrid(rows);
  fs.mkdirSync('artifacts', { recursive: true });
  fs.writeFileSync('artifacts/nat-grid.md', `# NAT grid (${new Date().toISOString()})\n\n${grid}\n`);
  process.stdout.write(`\n${grid}\n\n`);
  for (const r of rows) {
    assert.ok(r.seconds !== null && r.seconds <= 15, `${r.a} <-> ${r.b}: first ping within 15 s (seen: ${r.seen})`);
    assert.equal(r.seen, r.expected, `${r.a} <-> ${r.b}: path`);
  }
});

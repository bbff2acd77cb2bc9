// The NAT grid: for every pair of NAT types, two nodes with a shared trust config (plus two
// public DHT nodes) must ping each other over the overlay within 15 s, on the expected path.
// Real wireguard-go, real nftables NATs in micronet routers, real miniupnpd for "symmetric+upnp".
// The grid is printed and written to artifacts/nat-grid.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WhNet } from './whnet.js';
import type { NatType } from '../micronet/index.js';

type Kind = 'public' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric' | 'symmetric+upnp';
const KINDS: Kind[] = ['public', 'full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'symmetric+upnp'];

export function expectedPath(a: Kind, b: Kind): 'direct' | 'relay' {
  const pair = [a, b].sort().join(' ');
  return pair === 'port-restricted symmetric' || pair === 'symmetric symmetric' ? 'relay' : 'direct';
}

function nodeOpts(k: Kind): { nat: NatType | 'public'; upnp?: 'igd2' } {
  if (k === 'symmetric+upnp') return { nat: 'symmetric', upnp: 'igd2' };
  return { nat: k };
}

interface Row { a: Kind; b: Kind; expected: string; seen: string; seconds: number | null }

async function runPair(a: Kind, b: Kind): Promise<Row> {
  const w = await WhNet.create('grid');
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    await w.addNode('a', nodeOpts(a));
    await w.addNode('b', nodeOpts(b));
    w.writeConfigs(['a', 'b']);
    await w.up('boot1');
    await w.up('boot2');
    await w.up('a');
    await w.up('b');
    const t0 = Date.now();
    const ms = await w.pingUntil('a', w.nodes.get('b')!.overlayIp!, 15_000);
    const back = ms >= 0 ? await w.pingUntil('b', w.nodes.get('a')!.overlayIp!, Math.max(1000, 15_000 - (Date.now() - t0))) : -1;
    const sa = await w.show('a'), sb = await w.show('b');
    const pa = sa.peers[0]?.path ?? 'none', pb = sb.peers[0]?.path ?? 'none';
    const seen = ms < 0 || back < 0 ? `no ping (${pa}/${pb})` : pa === pb ? pa : `${pa}/${pb}`;
    if (ms < 0 || back < 0 || pa !== expectedPath(a, b)) {
      process.stderr.write(`--- ${a} <-> ${b}: a's log\n${w.nodes.get('a')!.log}\n--- b's log\n${w.nodes.get('b')!.log}\n`);
    }
    return { a, b, expected: expectedPath(a, b), seen, seconds: ms < 0 ? null : Math.round(ms / 100) / 10 };
  } finally {
    await w.destroy();
  }
}

export function formatGrid(rows: Row[]): string {
  const lines = ['| pair | expected path | seen path | seconds to first ping |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.a} ↔ ${r.b} | ${r.expected} | ${r.seen} | ${r.seconds ?? '—'} |`);
  return lines.join('\n');
}

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

// The NAT grid's building blocks, shared by test/e2e/natgrid.test.ts and bench/connect.ts.
import { WhNet } from './whnet.js';
import type { NatType } from '../micronet/index.js';

export type Kind = 'public' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric' | 'symmetric+upnp';
export const KINDS: Kind[] = ['public', 'full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'symmetric+upnp'];

export function expectedPath(a: Kind, b: Kind): 'direct' | 'relay' {
  const pair = [a, b].sort().join(' ');
  return pair === 'port-restricted symmetric' || pair === 'symmetric symmetric' ? 'relay' : 'direct';
}

function nodeOpts(k: Kind): { nat: NatType | 'public'; upnp?: 'igd2' } {
  if (k === 'symmetric+upnp') return { nat: 'symmetric', upnp: 'igd2' };
  return { nat: k };
}

/** `seen`: the path both sides settled on (see SETTLE_MS); `first`: the path at the first ping
 *  (a pair that ends direct may start on the relay while the punch goes on). */
export interface Row { a: Kind; b: Kind; expected: string; seen: string; first: string; seconds: number | null }

/** After the first pings, how long the pair gets to settle on its final path (the relay to
 *  direct upgrade); the path shown then is the one `seen` reports. */
const SETTLE_MS = 10_000;
const both = (pa: string, pb: string) => (pa === pb ? pa : `${pa}/${pb}`);

export async function runPair(a: Kind, b: Kind): Promise<Row> {
  const w = await WhNet.create('grid');
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    await w.addNode('a', nodeOpts(a));
    await w.addNode('b', nodeOpts(b));
    w.writeConfigs(['a', 'b']);
    await Promise.all([w.up('boot1'), w.up('boot2')]);
    await Promise.all([w.up('a'), w.up('b')]);
    const t0 = Date.now();
    const ms = await w.pingUntil('a', w.nodes.get('b')!.overlayIp!, 15_000);
    const back = ms >= 0 ? await w.pingUntil('b', w.nodes.get('a')!.overlayIp!, Math.max(1000, 15_000 - (Date.now() - t0))) : -1;
    const paths = async () => {
      const sa = await w.show('a'), sb = await w.show('b');
      return [sa.peers[0]?.path ?? 'none', sb.peers[0]?.path ?? 'none'] as const;
    };
    let [pa, pb] = await paths();
    const first = both(pa, pb);
    const settleBy = Date.now() + SETTLE_MS;
    while (ms >= 0 && back >= 0 && !(pa === expectedPath(a, b) && pb === pa) && Date.now() < settleBy) {
      await new Promise((r) => setTimeout(r, 250));
      [pa, pb] = await paths();
    }
    const seen = ms < 0 || back < 0 ? `no ping (${pa}/${pb})` : both(pa, pb);
    if (ms < 0 || back < 0 || pa !== expectedPath(a, b) || process.env.WH_GRID_LOGS) {
      process.stderr.write(`--- ${a} <-> ${b}: a's log\n${w.nodes.get('a')!.log}\n--- b's log\n${w.nodes.get('b')!.log}\n`);
    }
    return { a, b, expected: expectedPath(a, b), seen, first, seconds: ms < 0 ? null : Math.round(ms / 100) / 10 };
  } finally {
    await w.destroy();
  }
}

export function formatGrid(rows: Row[]): string {
  const lines = ['| pair | expected path | seen path | seconds to first ping |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.a} ↔ ${r.b} | ${r.expected} | ${r.seen} | ${r.seconds ?? '—'} |`);
  return lines.join('\n');
}


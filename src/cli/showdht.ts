// The DHT part of `wh show all`: the routing table's nodes, one line each (key prefix, address,
// bucket, last seen, reachability and whether that was verified), then the counters.
import type { DhtNodeView, ShowResult } from '../control/show.js';
import { agoText, plural } from './words.js';

type Dht = NonNullable<ShowResult['dht']>;

/** How a node is reached: directly (its claim verified by another node, refuted, or not yet
 *  checked), through its relay, or behind a NAT with no relay named. */
export function reachText(n: DhtNodeView): string {
  if (n.direct) return n.verified === 'confirmed' ? 'direct, verified' : n.verified === 'refuted' ? 'claims direct, refuted' : 'claims direct, not verified yet';
  return n.relay ? `via relay ${n.relay.slice(0, 8)}` : 'behind NAT';
}

/** "name 3, other 5" for the non-zero counters, sorted by name; "none" when all are zero. */
function countersText(c: Record<string, number>): string {
  const parts = Object.entries(c).filter(([, v]) => v !== 0).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}

export function formatDht(dht: Dht, total: number, bold: (s: string) => string): string[] {
  const nodes = dht.nodes ?? [];
  const buckets = dht.buckets.length;
  const out = [`${bold('dht')}: ${plural(total, 'node')} in ${plural(buckets, 'bucket')}${nodes.length < total ? ` (the ${nodes.length} closest shown)` : ''}`];
  if (nodes.length > 0) {
    const rows = [['key', 'address', 'bucket', 'last seen', 'reach', 'rtt']];
    for (const n of nodes) {
      rows.push([
        `${n.key.slice(0, 8)}`, n.address, String(n.bucket),
        agoText(n.lastSeenAgoSeconds) + (n.failures > 0 ? ` (${plural(n.failures, 'miss', 'misses')})` : ''),
        reachText(n), n.rttSeconds !== null ? `${Math.round(n.rttSeconds * 1000)} ms` : '-',
      ]);
    }
    out.push(...table(rows));
  }
  const waiting = dht.buckets.reduce((s, b) => s + b.replacements, 0);
  if (waiting > 0) out.push(`  waiting for room in a full bucket: ${plural(waiting, 'node')}`);
  out.push(`  direct claims: ${plural(dht.reach.confirmed.length, 'node')} verified, ${dht.reach.refuted.length} refuted`);
  out.push(`  counters: ${countersText(dht.counters)}`);
  out.push(`  rpc: ${countersText(dht.rpc)}`);
  return out;
}

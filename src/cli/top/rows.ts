// `wh top`'s peer table, pure: one row per peer from the daemon's `show` answer
// (src/control/show.ts), sorted by a column, filtered by name, and each cell as text.
import type { ShowPeer } from '../../control/show.js';
import type { RateMeter } from './rates.js';

export interface TopRow {
  name: string;
  key: string;
  ip: string;
  path: ShowPeer['path'];
  /** Relayed over this node's WebSocket link to the relay (shown `relay/ws`). */
  ws?: boolean;
  /** Seconds on this path. */
  since: number;
  rttMs: number | null;
  rxRate: number | null;
  txRate: number | null;
  /** Seconds since the last WireGuard handshake, or null when there was none. */
  handshakeAgo: number | null;
}

export const COLUMNS = ['name', 'ip', 'path', 'since', 'rtt', 'rx', 'tx', 'handshake'] as const;
export type Column = (typeof COLUMNS)[number];

/** `nowMs`: the caller's clock, for the handshake's age. */
export function buildRows(peers: readonly ShowPeer[], meter: RateMeter, nowMs: number): TopRow[] {
  return peers.map((p) => {
    const r = meter.rates(p.key);
    return {
      name: p.name ?? p.key.slice(0, 8),
      key: p.key,
      ip: p.ipv4 ?? p.ipv6 ?? '-',
      path: p.path,
      ...(p.relayForwarding === 'websocket' ? { ws: true } : {}),
      since: p.since,
      rttMs: p.rttMs,
      rxRate: r.rx,
      txRate: r.tx,
      handshakeAgo: p.lastHandshake === null ? null : Math.max(0, nowMs / 1000 - p.lastHandshake),
    };
  });
}

const PATH_ORDER: Record<TopRow['path'], number> = { direct: 0, relay: 1, searching: 2, offline: 3, down: 4 };

/** IPv4 sorts by its numbers; anything else after, as text. */
function ipOrder(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  const v4 = (p: number[]) => p.length === 4 && p.every((n) => Number.isInteger(n));
  if (v4(pa) && v4(pb)) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
    return 0;
  }
  if (v4(pa) !== v4(pb)) return v4(pa) ? -1 : 1;
  return a.localeCompare(b);
}

function value(r: TopRow, c: Column): number | null {
  switch (c) {
    case 'since': return r.since;
    case 'rtt': return r.rttMs;
    case 'rx': return r.rxRate;
    case 'tx': return r.txRate;
    case 'handshake': return r.handshakeAgo;
    default: return null;
  }
}

/** Sorted by `column` (descending when `desc`); a missing value (no RTT, no handshake) always
 *  comes last; ties by name, then key, so the order is stable from one second to the next. */
export function sortRows(rows: readonly TopRow[], column: Column, desc: boolean): TopRow[] {
  const sign = desc ? -1 : 1;
  const tie = (a: TopRow, b: TopRow) => a.name.localeCompare(b.name) || a.key.localeCompare(b.key);
  return [...rows].sort((a, b) => {
    let d: number;
    if (column === 'name') d = a.name.localeCompare(b.name);
    else if (column === 'ip') d = ipOrder(a.ip, b.ip);
    else if (column === 'path') d = PATH_ORDER[a.path] - PATH_ORDER[b.path];
    else {
      const va = value(a, column), vb = value(b, column);
      if (va === null || vb === null) {
        if (va !== vb) return va === null ? 1 : -1;
        return tie(a, b);
      }
      d = va - vb;
    }
    return sign * d || tie(a, b);
  });
}

/** The rows whose name (or key) contains `text`, ignoring case; all of them for "". */
export function filterRows(rows: readonly TopRow[], text: string): TopRow[] {
  const t = text.toLowerCase();
  if (t === '') return [...rows];
  return rows.filter((r) => r.name.toLowerCase().includes(t) || r.key.toLowerCase().startsWith(t));
}

/** "12s", "5m", "3h", "2d": a short age for a narrow column. */
export function shortAge(s: number | null): string {
  if (s === null) return '-';
  const n = Math.max(0, Math.round(s));
  if (n < 120) return `${n}s`;
  if (n < 7200) return `${Math.round(n / 60)}m`;
  if (n < 172_800) return `${Math.round(n / 3600)}h`;
  return `${Math.round(n / 86_400)}d`;
}

/** "0 B/s", "512 B/s", "1.5K/s", "12M/s" (powers of 1024). */
export function rateText(bps: number | null): string {
  if (bps === null) return '-';
  const units = ['K', 'M', 'G', 'T'];
  if (bps < 1024) return `${Math.round(bps)}B/s`;
  let v = bps / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}/s`;
}

export function rttText(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

/** A row's cells, in COLUMNS order. */
export function cells(r: TopRow): string[] {
  return [r.name, r.ip, r.ws === true && r.path === 'relay' ? 'relay/ws' : r.path, shortAge(r.since), rttText(r.rttMs), rateText(r.rxRate), rateText(r.txRate), shortAge(r.handshakeAgo)];
}

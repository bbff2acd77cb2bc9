// `wh top`'s screen, pure: the lines to show for a terminal of `width` x `height`, from the
// state (src/cli/top/keys.ts) and the latest answer of the daemon. Every line fits the width;
// there are never more lines than the height.
import type { ShowResult } from '../../control/show.js';
import { K } from '../../params.js';
import type { TopState } from './keys.js';
import { cells, COLUMNS, filterRows, shortAge, sortRows, type Column, type TopRow } from './rows.js';

/** A line's look; a peer's row is coloured by its path, as `wh show` colours the path. */
export type Style = 'title' | 'header' | 'alert' | 'dim' | 'plain' | TopRow['path'];
export interface Line { text: string; style: Style }

export interface Snapshot {
  /** The running interfaces, in switching order. */
  ifaces: readonly string[];
  /** The latest answer from the interface shown, or null before the first one. */
  show: ShowResult | null;
  rows: readonly TopRow[];
  /** Why the latest request failed (the daemon went away...), or null when it answered. */
  error: string | null;
  /** When `show` was received, as the clock prints it ("08:12:03"). */
  at: string | null;
}

/** Lines above and below the peers' table. */
export const CHROME_LINES = 6;

const HEADERS: Record<Column, string> = {
  name: 'name', ip: 'overlay ip', path: 'path', since: 'since', rtt: 'rtt', rx: 'rx', tx: 'tx', handshake: 'handshake',
};
const RIGHT = new Set(['since', 'rtt', 'rx', 'tx', 'handshake']);

function fit(text: string, width: number): string {
  return text.length <= width ? text : width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}~`;
}

function nodeLines(r: ShowResult, ifaces: readonly string[], state: TopState): string[] {
  const where = ifaces.length > 1 ? `  [${state.iface + 1}/${ifaces.length}, i: next]` : '';
  const overlay = [r.ipv4, r.ipv6].filter(Boolean).join(' ');
  const first = [`wh top: ${r.interface} (${r.network})`, overlay, r.role === 'public' ? 'public node' : '', `port ${r.listenPort}`, `up ${shortAge(r.uptime)}`]
    .filter(Boolean).join(', ') + where;
  // The mapped address is named only when it is not the address the NAT check saw.
  const pm = r.portMapping;
  const map = pm ? `${pm.method}${pm.external !== r.publicAddress ? ` ${pm.external}` : ''}, lease ${shortAge(pm.lease)}` : 'none';
  const nat = `NAT ${r.nat}${r.publicAddress ? ` as ${r.publicAddress}` : ''}; port map: ${map}`;
  const buckets = (r.dht?.buckets ?? []).filter((b) => b.size > 0).sort((a, b) => a.index - b.index);
  // Contiguous buckets (the usual case) as "buckets 0-4: 20 15 10 5 1 of 20", else "index:size".
  const contiguous = buckets.every((b, i) => b.index === buckets[0]!.index + i);
  const sizes = buckets.map((b) => (contiguous ? String(b.size) : `${b.index}:${b.size}`)).join(' ');
  const span = buckets.length === 1 ? `bucket ${buckets[0]!.index}` : contiguous ? `buckets ${buckets[0]?.index}-${buckets.at(-1)?.index}` : 'buckets';
  const fill = buckets.length > 0 ? `; ${span}: ${sizes} of ${K}` : '';
  const relay = `relaying ${r.relaying.sessions} session${r.relaying.sessions === 1 ? '' : 's'}${r.relaying.kernel > 0 ? ` (${r.relaying.kernel} in kernel)` : ''}`;
  return [first, nat, `DHT ${r.dhtNodes} node${r.dhtNodes === 1 ? '' : 's'}, ${relay}${fill}`];
}

/** Dropped in this order when the terminal is too narrow for every column. */
const DROP: readonly Column[] = ['handshake', 'since', 'ip', 'tx', 'rx'];
const MIN_NAME = 8;

function table(rows: readonly TopRow[], state: TopState, width: number): { header: string; body: string[] } {
  const all = rows.map(cells);
  const head = (c: Column) => HEADERS[c] + (c === state.sort ? (state.desc ? 'v' : '^') : '');
  const colWidth = (c: Column) => {
    const i = COLUMNS.indexOf(c);
    return Math.max(head(c).length, ...all.map((t) => t[i]!.length));
  };
  let cols: Column[] = [...COLUMNS];
  const others = () => cols.slice(1).reduce((a, c) => a + colWidth(c) + 1, 0);
  for (const d of DROP) if (width - others() < MIN_NAME && d !== state.sort) cols = cols.filter((c) => c !== d);
  // The name column gets what the others leave (at least 6 characters).
  const widths = cols.map(colWidth);
  widths[0] = Math.max(6, Math.min(widths[0]!, width - others()));
  const line = (t: (c: Column) => string) => cols.map((c, i) => {
    const cell = fit(t(c), widths[i]!);
    return RIGHT.has(c) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
  }).join(' ');
  return { header: line(head), body: all.map((t) => line((c) => t[COLUMNS.indexOf(c)]!)) };
}

/** The screen, and the scroll position clamped to what there is to scroll. */
export function render(state: TopState, snap: Snapshot, width: number, height: number): { lines: Line[]; scroll: number } {
  const w = Math.max(1, width);
  const out: Line[] = [];
  const push = (text: string, style: Style = 'plain') => out.push({ text: fit(text, w), style });
  const r = snap.show;
  if (r !== null) for (const [i, t] of nodeLines(r, snap.ifaces, state).entries()) push(t, i === 0 ? 'title' : 'plain');
  else {
    push(`wh top: ${snap.ifaces[state.iface] ?? 'no interface'}`, 'title');
    push('');
    push('');
  }
  const shown = sortRows(filterRows(snap.rows, state.filter), state.sort, state.desc);
  if (snap.error !== null) push(`${snap.error}${snap.at ? ` (shown: as of ${snap.at})` : ''}`, 'alert');
  else if (state.editing !== null) push(`filter: ${state.editing}_  (Enter applies, Esc cancels)`);
  else if (state.filter !== '') push(`filter "${state.filter}": ${shown.length} of ${snap.rows.length} peers (Esc clears)`);
  else push(snap.at ? `${snap.rows.length} peer${snap.rows.length === 1 ? '' : 's'}, as of ${snap.at}` : 'waiting for the daemon', 'dim');
  const page = Math.max(0, height - CHROME_LINES);
  const scroll = Math.max(0, Math.min(state.scroll, shown.length - page));
  const t = table(shown, state, w);
  push(t.header, 'header');
  t.body.slice(scroll, scroll + page).forEach((b, i) => push(b, snap.error !== null ? 'dim' : shown[scroll + i]!.path));
  while (out.length < height - 1) push('');
  const range = shown.length > page ? `  j/k rows ${scroll + 1}-${Math.min(shown.length, scroll + page)} of ${shown.length}` : '';
  push(`q quit  1-8 s sort  r reverse  / filter  i interface${range}`, 'dim');
  return { lines: out.slice(Math.max(0, out.length - Math.max(1, height))), scroll };
}

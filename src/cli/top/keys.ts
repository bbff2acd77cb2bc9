// `wh top`'s keys, pure: the view's state and what each key does to it. The terminal library
// (src/cli/top/view.ts) only turns its key events into the names below.
import { COLUMNS, type Column } from './rows.js';

/** A key as the view reports it: one printable character, or one of these names. */
export type Key = string | 'up' | 'down' | 'pageup' | 'pagedown' | 'home' | 'end' | 'tab' | 'backtab' | 'enter' | 'escape' | 'backspace' | 'ctrl-c';

export interface TopState {
  sort: Column;
  desc: boolean;
  /** The filter in force ("" for none). */
  filter: string;
  /** While the filter is being typed (after `/`): the text so far. */
  editing: string | null;
  /** Index into the list of running interfaces. */
  iface: number;
  /** First row shown (scrolling). */
  scroll: number;
  quit: boolean;
}

export const INITIAL: TopState = { sort: 'name', desc: false, filter: '', editing: null, iface: 0, scroll: 0, quit: false };

/** Columns whose natural order is "largest first" when first chosen. */
const DESC_FIRST: ReadonlySet<Column> = new Set(['rx', 'tx', 'rtt']);

function sortBy(s: TopState, c: Column): TopState {
  if (s.sort === c) return { ...s, desc: !s.desc };
  return { ...s, sort: c, desc: DESC_FIRST.has(c), scroll: 0 };
}

/** `ifaces`: how many interfaces there are to switch between; `page`: rows shown at once. */
export function press(s: TopState, key: Key, ifaces: number, page: number): TopState {
  if (key === 'ctrl-c') return { ...s, quit: true };
  if (s.editing !== null) {
    if (key === 'enter') return { ...s, filter: s.editing, editing: null, scroll: 0 };
    if (key === 'escape') return { ...s, editing: null };
    if (key === 'backspace') return { ...s, editing: s.editing.slice(0, -1) };
    if (key.length === 1 && key >= ' ') return { ...s, editing: s.editing + key };
    return s;
  }
  const n = Math.max(1, ifaces);
  const digit = /^[1-9]$/.test(key) ? Number(key) - 1 : -1;
  if (digit >= 0 && digit < COLUMNS.length) return sortBy(s, COLUMNS[digit]!);
  switch (key) {
    case 'q': return { ...s, quit: true };
    case 's': return sortBy(s, COLUMNS[(COLUMNS.indexOf(s.sort) + 1) % COLUMNS.length]!);
    case 'r': return { ...s, desc: !s.desc };
    case '/': return { ...s, editing: '' };
    case 'escape': return { ...s, filter: '', scroll: 0 };
    case 'tab': case 'i': return { ...s, iface: (s.iface + 1) % n, scroll: 0 };
    case 'backtab': case 'I': return { ...s, iface: (s.iface + n - 1) % n, scroll: 0 };
    case 'down': case 'j': return { ...s, scroll: s.scroll + 1 };
    case 'up': case 'k': return { ...s, scroll: Math.max(0, s.scroll - 1) };
    case 'pagedown': return { ...s, scroll: s.scroll + Math.max(1, page) };
    case 'pageup': return { ...s, scroll: Math.max(0, s.scroll - Math.max(1, page)) };
    case 'home': return { ...s, scroll: 0 };
    case 'end': return { ...s, scroll: Number.MAX_SAFE_INTEGER };
    default: return s;
  }
}

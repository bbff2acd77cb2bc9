// `wh top`'s terminal part, kept thin: blessed shows the lines that src/cli/top/screen.ts
// computed (on the alternate screen, redrawing only what changed), and reports keys (named as
// src/cli/top/keys.ts names them) and resizes. Why blessed and not Ink: README, "Live view:
// wh top", and docs/DECISIONS.md (bench/topui.ts measures both).
import blessed from 'blessed';
import type { Key } from './keys.js';
import type { Line, Style } from './screen.js';

export interface TopView {
  draw(lines: readonly Line[]): void;
  size(): { width: number; height: number };
  close(): void;
}

export interface ViewOptions {
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  onKey(k: Key): void;
  onResize(): void;
}

const NAMED: Record<string, Key> = {
  up: 'up', down: 'down', pageup: 'pageup', pagedown: 'pagedown', home: 'home', end: 'end',
  enter: 'enter', return: 'enter', escape: 'escape', backspace: 'backspace', delete: 'backspace',
};

/** blessed's key event as a Key, or undefined for keys `wh top` does not use. */
export function keyOf(ch: string | undefined, key: { name?: string; ctrl?: boolean; shift?: boolean; full?: string }): Key | undefined {
  if (key.ctrl && key.name === 'c') return 'ctrl-c';
  if (key.name === 'tab') return key.shift ? 'backtab' : 'tab';
  const named = key.name !== undefined ? NAMED[key.name] : undefined;
  if (named !== undefined) return named;
  if (key.ctrl || ch === undefined || ch.length !== 1 || ch < ' ' || ch === '\x7f') return undefined;
  return ch;
}

const TAGS: Record<Style, [string, string]> = {
  title: ['{bold}', '{/bold}'], header: ['{inverse}', '{/inverse}'], alert: ['{red-fg}{bold}', '{/bold}{/red-fg}'],
  dim: ['', ''], plain: ['', ''],
  direct: ['{green-fg}', '{/green-fg}'], relay: ['{cyan-fg}', '{/cyan-fg}'], searching: ['{yellow-fg}', '{/yellow-fg}'],
  offline: ['{red-fg}', '{/red-fg}'], down: ['{red-fg}', '{/red-fg}'],
};

/** One line in blessed's markup: the text escaped, its style as tags. */
export function markup(l: Line): string {
  const [open, close] = TAGS[l.style];
  return open + blessed.escape(l.text) + close;
}

export function openView(o: ViewOptions): TopView {
  const screen = blessed.screen({ input: o.stdin, output: o.stdout, smartCSR: true, warnings: false, fullUnicode: false });
  // No wrapping: screen.ts already fits every line to the width.
  const box = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });
  screen.program.hideCursor();
  screen.on('keypress', (ch: string | undefined, key: { name?: string; ctrl?: boolean; shift?: boolean }) => {
    const k = keyOf(ch, key);
    if (k !== undefined) o.onKey(k);
  });
  screen.on('resize', () => o.onResize());
  let closed = false;
  return {
    draw: (lines) => {
      if (closed) return;
      box.setContent(lines.map(markup).join('\n'));
      screen.render();
    },
    size: () => ({ width: Number(screen.width) || 80, height: Number(screen.height) || 24 }),
    close: () => {
      if (closed) return;
      closed = true;
      screen.destroy();
    },
  };
}

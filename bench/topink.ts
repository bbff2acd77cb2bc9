// The same view as src/cli/top/view.ts with Ink 6 (React for terminals), for bench/topui.ts
// only: Ink is not a dependency (README, "Live view: wh top"). To measure it:
//   npm i --no-save ink@6 react@19
// React and Ink are loaded with CI unset (Ink reads CI when it is imported and then draws
// nothing until it exits) and as React's production build (NODE_ENV), its faster start.
import type { Key } from '../src/cli/top/keys.js';
import type { Line, Style } from '../src/cli/top/screen.js';
import type { TopView, ViewOptions } from '../src/cli/top/view.js';

interface InkKey {
  upArrow: boolean; downArrow: boolean; pageUp: boolean; pageDown: boolean;
  tab: boolean; shift: boolean; return: boolean; escape: boolean; backspace: boolean; delete: boolean; ctrl: boolean;
}

function keyOf(input: string, k: InkKey): Key | undefined {
  if (k.ctrl && input === 'c') return 'ctrl-c';
  if (k.upArrow) return 'up';
  if (k.downArrow) return 'down';
  if (k.pageUp) return 'pageup';
  if (k.pageDown) return 'pagedown';
  if (k.tab) return k.shift ? 'backtab' : 'tab';
  if (k.return) return 'enter';
  if (k.escape) return 'escape';
  if (k.backspace || k.delete) return 'backspace';
  if (k.ctrl || input.length !== 1) return undefined;
  return input;
}

const STYLE: Record<Style, Record<string, unknown>> = {
  title: { bold: true }, header: { inverse: true }, alert: { color: 'red', bold: true }, dim: { dimColor: true }, plain: {},
  direct: { color: 'green' }, relay: { color: 'cyan' }, searching: { color: 'yellow' }, offline: { color: 'red' }, down: { color: 'red' },
};

export async function openInk(o: ViewOptions): Promise<TopView> {
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  process.env.NODE_ENV ??= 'production';
  // Module names in variables: neither package is installed unless measured.
  const reactName = 'react', inkName = 'ink';
  /* eslint-disable @typescript-eslint/no-explicit-any */
  const { createElement: h } = (await import(reactName)) as any;
  const ink = (await import(inkName)) as any;
  const App = ({ lines }: { lines: readonly Line[] }): unknown => {
    ink.useInput((input: string, key: InkKey) => {
      const k = keyOf(input, key);
      if (k !== undefined) o.onKey(k);
    });
    return h(ink.Box, { flexDirection: 'column' }, ...lines.map((l, i) => h(ink.Text, { key: i, wrap: 'truncate', ...STYLE[l.style] }, l.text === '' ? ' ' : l.text)));
  };
  const resized = (): void => o.onResize();
  o.stdout.on('resize', resized);
  o.stdout.write('\x1b[?1049h\x1b[H');
  // incrementalRendering (Ink 6.5+) drifted down one line per frame on tmux's alternate screen.
  const inst = ink.render(h(App, { lines: [] }), { stdout: o.stdout, stdin: o.stdin, exitOnCtrlC: false, patchConsole: false });
  let closed = false;
  return {
    draw: (lines) => { if (!closed) inst.rerender(h(App, { lines })); },
    // One line fewer than the terminal: Ink clears the whole screen on each frame that fills it.
    size: () => ({ width: o.stdout.columns || 80, height: Math.max(1, (o.stdout.rows || 24) - 1) }),
    close: () => {
      if (closed) return;
      closed = true;
      o.stdout.off('resize', resized);
      inst.unmount();
      inst.cleanup();
      o.stdout.write('\x1b[?1049l');
    },
  };
}

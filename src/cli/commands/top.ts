// `wh top [NAME|IFACE]`: the live view. Every TOP_INTERVAL it asks the daemon's control socket
// for `show` (with the DHT's buckets) and redraws; keys sort, filter, scroll and switch
// interface (src/cli/top/keys.ts). What it shows is computed by the pure modules of
// src/cli/top/; the terminal is src/cli/top/view.ts. Not on a terminal, it is `wh show`.
import os from 'node:os';
import type { Command } from 'commander';
import { callDaemon, ControlError, listDaemons } from '../../control/client.js';
import type { ShowResult } from '../../control/show.js';
import { CONTROL_TIMEOUT, TOP_INTERVAL, TOP_REQUEST_TIMEOUT } from '../../params.js';
import { CliError } from '../errors.js';
import { INITIAL, press, type Key, type TopState } from '../top/keys.js';
import { RateMeter } from '../top/rates.js';
import { buildRows } from '../top/rows.js';
import { CHROME_LINES, render, type Snapshot } from '../top/screen.js';
import type { TopView } from '../top/view.js';
import { showAction } from './show.js';

function running(): string[] {
  try { return listDaemons(); } catch (e) { throw new CliError(e instanceof Error ? e.message : String(e)); }
}

/** The interface `arg` names: a running interface, or the one running node of network `arg`. */
export async function topTarget(arg: string | undefined): Promise<string | undefined> {
  const ifaces = running();
  if (arg === undefined || ifaces.includes(arg)) return arg;
  const nets = await Promise.all(ifaces.map((iface) =>
    callDaemon(iface, { cmd: 'show' }, CONTROL_TIMEOUT).then((r) => ({ iface, network: (r as ShowResult).network }), () => ({ iface, network: undefined }))));
  const hits = nets.filter((n) => n.network === arg);
  if (hits.length === 1) return hits[0]!.iface;
  if (hits.length > 1) throw new CliError(`${JSON.stringify(arg)} names ${hits.length} running nodes (${hits.map((h) => h.iface).join(', ')}); name the interface: wh top ${hits[0]!.iface}`);
  throw new CliError(`no running node is named ${JSON.stringify(arg)}${ifaces.length > 0 ? ` (running: ${ifaces.join(', ')})` : ' (no WireHub interface is up)'}`);
}

const clockText = (ms: number): string => `${new Date(ms).toISOString().slice(11, 19)} UTC`;

class Top {
  private state: TopState = INITIAL;
  private snap: Snapshot = { ifaces: [], show: null, rows: [], error: null, at: null };
  private meter = new RateMeter();
  private current: string;
  /** The interface a request is out to, if any: at most one each, none while it is out. */
  private pending: string | null = null;
  private view!: TopView;
  private timer: NodeJS.Timeout | undefined;
  private done!: () => void;

  constructor(first: string) { this.current = first; }

  async run(): Promise<void> {
    const finished = new Promise<void>((resolve) => { this.done = resolve; });
    // Loaded here, not when `wh` starts: the other commands do not pay for the terminal library.
    const { openView } = await import('../top/view.js');
    this.view = await openView({ stdout: process.stdout, stdin: process.stdin, onKey: (k) => this.key(k), onResize: () => this.draw() });
    // A signal keeps wh's exit status 128+N (README, "Errors"); so does Ctrl-C, a key here.
    const stop = (signal: NodeJS.Signals): void => { process.exitCode = 128 + (os.constants.signals[signal] ?? 0); this.quit(); };
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.once(sig, stop);
    this.timer = setInterval(() => void this.poll(), TOP_INTERVAL);
    void this.poll();
    await finished;
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.off(sig, stop);
  }

  private quit(): void {
    clearInterval(this.timer);
    this.view.close();
    this.done();
  }

  /** The running interfaces, with the one shown kept in the list while its daemon is gone. */
  private ifaces(): string[] {
    let list: string[];
    try { list = listDaemons(); } catch { list = [...this.snap.ifaces]; }
    if (!list.includes(this.current)) list = [...list, this.current].sort();
    return list;
  }

  private async poll(): Promise<void> {
    const iface = this.current;
    if (this.pending === iface) return;
    this.pending = iface;
    const ifaces = this.ifaces();
    this.state = { ...this.state, iface: ifaces.indexOf(iface) };
    try {
      const r = (await callDaemon(iface, { cmd: 'show', all: true }, TOP_REQUEST_TIMEOUT)) as ShowResult;
      if (iface !== this.current) return;
      const now = Date.now();
      this.meter.sample(r.peers.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), now);
      this.snap = { ifaces, show: r, rows: buildRows(r.peers, this.meter, now), error: null, at: clockText(now) };
    } catch (e) {
      if (iface !== this.current) return;
      const why = e instanceof Error ? e.message : String(e);
      const gone = e instanceof ControlError && (e.code === 'no-daemon' || e.code === 'stale');
      this.snap = { ...this.snap, ifaces, error: `${gone && this.snap.show !== null ? 'daemon gone' : 'no answer'} (trying again every ${TOP_INTERVAL / 1000} s): ${why}` };
    } finally {
      if (this.pending === iface) this.pending = null;
      if (iface === this.current) this.draw();
    }
  }

  private key(k: Key): void {
    const { height } = this.view.size();
    const before = this.state.iface;
    this.state = press(this.state, k, this.snap.ifaces.length, height - CHROME_LINES);
    if (k === 'ctrl-c') process.exitCode = 128 + os.constants.signals.SIGINT;
    if (this.state.quit) return this.quit();
    if (this.state.iface !== before && this.snap.ifaces[this.state.iface] !== undefined) {
      this.current = this.snap.ifaces[this.state.iface]!;
      this.meter = new RateMeter();
      this.snap = { ...this.snap, show: null, rows: [], error: null, at: null };
      void this.poll();
    }
    this.draw();
  }

  private draw(): void {
    const { width, height } = this.view.size();
    const { lines, scroll } = render(this.state, this.snap, width, height);
    this.state = { ...this.state, scroll };
    this.view.draw(lines);
  }
}

export async function topAction(target: string | undefined): Promise<void> {
  const iface = await topTarget(target);
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) return showAction(iface === undefined ? [] : [iface], {});
  const first = iface ?? running()[0];
  if (first === undefined) throw new CliError('no WireHub interface is up (start one with: wh up NAME)');
  await new Top(first).run();
}

export function register(program: Command): void {
  program
    .command('top')
    .usage('[NAME|IFACE]')
    .description('a live view of a running node: its peers, paths, round-trip times, rates, NAT and DHT, every second')
    .argument('[target]', 'the interface, or the network name of its node (default: the first running one)')
    .addHelpText('after', [
      '', 'Keys: q quit; 1-8 sort by that column (again: reverse), s next column, r reverse;',
      '  / filter by name (Enter applies, Esc clears); i or Tab next interface, I or Shift-Tab',
      '  the previous one; j/k, arrows, PgUp/PgDn, Home/End scroll.',
      'Not on a terminal, it prints `wh show` once.',
    ].join('\n'))
    .action(topAction);
}

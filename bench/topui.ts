// `wh top`'s terminal library, measured (README, "Live view: wh top"): blessed (the one
// src/cli/top/view.ts uses) against Ink 6 (bench/topink.ts), showing the same screen (src/cli/top/screen.ts)
// of a fake node with TOP_BENCH_PEERS peers (default 50) on a fake 80x24 terminal.
//   start-up: from process start to the first frame written, median of TOP_BENCH_RUNS runs;
//   CPU: user+system time over TOP_BENCH_SECONDS seconds at one update per second.
// Prints one JSON object. A library that is not installed is reported as such (Ink is not a
// dependency: `npm i --no-save ink@6 react@19` first to measure it).
import { spawn, spawnSync } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { INITIAL } from '../src/cli/top/keys.js';
import { RateMeter } from '../src/cli/top/rates.js';
import { buildRows } from '../src/cli/top/rows.js';
import { render } from '../src/cli/top/screen.js';
import type { TopView, ViewOptions } from '../src/cli/top/view.js';
import { fakeShow } from './topfake.js';

const PEERS = Number(process.env.TOP_BENCH_PEERS ?? 50);
const RUNS = Number(process.env.TOP_BENCH_RUNS ?? 7);
const SECONDS = Number(process.env.TOP_BENCH_SECONDS ?? 20);
const LIBS = ['ink', 'blessed'] as const;

function fakeTerminal(): { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream; written: () => number } {
  let bytes = 0;
  const out = new Writable({ write(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(); } }) as unknown as NodeJS.WriteStream;
  Object.assign(out, { isTTY: true, columns: 80, rows: 24 });
  const inp = new PassThrough() as unknown as NodeJS.ReadStream;
  Object.assign(inp, { isTTY: true, setRawMode: () => inp, ref: () => inp, unref: () => inp });
  return { stdout: out, stdin: inp, written: () => bytes };
}

async function open(lib: string, o: ViewOptions): Promise<TopView> {
  if (lib === 'ink') return (await import('./topink.js')).openInk(o);
  return (await import('../src/cli/top/view.js')).openView(o);
}

async function child(lib: string, mode: string): Promise<void> {
  const term = fakeTerminal();
  const view = await open(lib, { ...term, onKey: () => {}, onResize: () => {} });
  const meter = new RateMeter();
  const frame = (tick: number): void => {
    const now = 1_800_000_000_000 + tick * 1000;
    const show = fakeShow(PEERS, tick, now / 1000);
    meter.sample(show.peers.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), now);
    const { width, height } = view.size();
    view.draw(render(INITIAL, { ifaces: ['wh0'], show, rows: buildRows(show.peers, meter, now), error: null, at: '08:00:00' }, width, height).lines);
  };
  frame(0);
  // Ink writes on its next render pass: wait until the frame is out.
  while (term.written() === 0) await new Promise((r) => setImmediate(r));
  const firstFrameMs = performance.now();
  const c = process.cpuUsage();
  if (mode === 'startup') {
    view.close();
    process.stdout.write(JSON.stringify({ firstFrameMs, firstFrameCpuMs: (c.user + c.system) / 1000 }) + '\n');
    process.exit(0);
  }
  const cpu0 = process.cpuUsage();
  const bytes0 = term.written();
  for (let tick = 1; tick <= SECONDS; tick++) {
    await new Promise((r) => setTimeout(r, 1000));
    frame(tick);
  }
  await new Promise((r) => setTimeout(r, 100));
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const result = { cpuMsPerSecond: cpuMs / SECONDS, cpuPercent: (cpuMs / SECONDS) / 10, bytesPerFrame: Math.round((term.written() - bytes0) / SECONDS), rssMiB: Math.round(process.memoryUsage().rss / 1048576) };
  view.close();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

function run(lib: string, mode: string): Record<string, number> | { error: string } {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child', lib, mode], { encoding: 'utf8', timeout: (SECONDS + 30) * 1000 });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try { return JSON.parse(last) as Record<string, number>; } catch { return { error: (r.stderr || `exit ${r.status}`).split('\n').slice(0, 3).join(' ') }; }
}

function runAsync(lib: string, mode: string): Promise<Record<string, number> | { error: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), 'child', lib, mode], { stdio: ['ignore', 'pipe', 'pipe'], timeout: (SECONDS + 30) * 1000 });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code) => {
      try { resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Record<string, number>); } catch { resolve({ error: (err || `exit ${code}`).split('\n').slice(0, 3).join(' ') }); }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child(process.argv[3]!, process.argv[4]!);
  const bare = [...Array(RUNS)].map(() => { const t = performance.now(); spawnSync(process.execPath, ['-e', '0']); return performance.now() - t; });
  const load = (await import('node:os')).loadavg()[0];
  const out: Record<string, unknown> = { peers: PEERS, runs: RUNS, seconds: SECONDS, node: process.version, bareNodeMs: Math.round(median(bare)), loadAverage1m: load };
  // Start-ups alternate between the libraries, and both CPU runs go at the same time, so that
  // both see the same load from whatever else runs on the machine.
  const starts: Record<string, Array<Record<string, number> | { error: string }>> = { ink: [], blessed: [] };
  for (let i = 0; i < RUNS; i++) for (const lib of LIBS) starts[lib]!.push(run(lib, 'startup'));
  const cpu = await Promise.all(LIBS.map((lib) => runAsync(lib, 'cpu')));
  LIBS.forEach((lib, i) => {
    const bad = starts[lib]!.find((s) => 'error' in s);
    if (bad) {
      const why = (bad as { error: string }).error;
      out[lib] = { skipped: /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/.test(why) ? 'not installed (npm i --no-save ink@6 react@19)' : why };
      return;
    }
    const firsts = starts[lib]!.map((s) => (s as Record<string, number>).firstFrameMs!);
    const cpus = starts[lib]!.map((s) => (s as Record<string, number>).firstFrameCpuMs!);
    out[lib] = {
      firstFrameMsMedian: Math.round(median(firsts)), firstFrameMsMin: Math.round(Math.min(...firsts)), firstFrameMsMax: Math.round(Math.max(...firsts)),
      firstFrameCpuMsMedian: Math.round(median(cpus)), ...cpu[i],
    };
  });
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

await main();

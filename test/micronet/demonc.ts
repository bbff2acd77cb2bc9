// The demo's `0nc` step (test/micronet/demo.ts): one line each way between two nodes behind NATs.
// The listening side runs `0nc --boot-config BOOT` (it prints an invitation on stderr), the other
// `0nc INVITATION`; each gets its line on stdin (then EOF) and prints what the other sent.
// Bounded: each side is interrupted (SIGINT, which makes 0nc clean up) after NC_DEMO_TIMEOUT_MS.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WhNet } from '../e2e/whnet.js';

const NC = fileURLToPath(new URL('../../../bin/0nc.js', import.meta.url));
const NC_DEMO_TIMEOUT_MS = 90_000;

interface Side { out: string; err: string; code: number | null; child: ChildProcess }

function start(w: WhNet, node: string, args: string[], line: string): { side: Side; done: Promise<void> } {
  const child = w.net.spawn(w.nodes.get(node)!.host, process.execPath, [NC, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const side: Side = { out: '', err: '', code: null, child };
  child.stdout!.on('data', (d: Buffer) => { if (side.out.length < 10_000) side.out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { if (side.err.length < 50_000) side.err += d.toString(); });
  child.stdin!.end(`${line}\n`);
  const done = new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGINT'), NC_DEMO_TIMEOUT_MS);
    child.once('exit', (code) => { clearTimeout(t); side.code = code; resolve(); });
  });
  return { side, done };
}

const short = (inv: string) => (inv.length > 40 ? `${inv.slice(0, 32)}...(${inv.length} characters)` : inv);

/** Runs the exchange between `a` (listens) and `b` (joins), prints it; true if both lines arrived. */
export async function demoNc(w: WhNet, a: string, b: string): Promise<boolean> {
  const lineA = `hello from ${a}`, lineB = `hello from ${b}`;
  const t0 = Date.now();
  console.log(`${a}$ echo '${lineA}' | 0nc            # prints an invitation, waits`);
  const l = start(w, a, ['--boot-config', w.bootConfigFile], lineA);
  let inv = '';
  for (let i = 0; i < 600 && inv === '' && l.side.code === null; i++) {
    inv = /^(wh-invite-1:\S+)$/m.exec(l.side.err)?.[1] ?? '';
    if (inv === '') await new Promise((r) => setTimeout(r, 100));
  }
  if (inv === '') {
    l.side.child.kill('SIGINT');
    await l.done;
    console.log(`  no invitation: ${l.side.err.trim()}`);
    return false;
  }
  console.log(`  invitation after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${short(inv)}`);
  console.log(`${b}$ echo '${lineB}' | 0nc 'wh-invite-1:...'`);
  const j = start(w, b, [inv], lineB);
  await Promise.all([l.done, j.done]);
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  for (const [name, side] of [[a, l.side], [b, j.side]] as const) {
    console.log(`  ${name.padEnd(6)} printed: ${JSON.stringify(side.out.trim())}, exit ${side.code}`);
  }
  const ok = l.side.out === `${lineB}\n` && j.side.out === `${lineA}\n` && l.side.code === 0 && j.side.code === 0;
  if (!ok) console.log(`  0nc ${a} stderr:\n${l.side.err.replace(/^/gm, '    ')}\n  0nc ${b} stderr:\n${j.side.err.replace(/^/gm, '    ')}`);
  console.log(`  ${ok ? 'both lines arrived' : 'FAILED'}, both sides done ${s} s after the first 0nc started\n`);
  return ok;
}

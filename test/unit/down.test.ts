// `wh down` against a daemon that answers "down" but does not stop (a real ControlServer in a
// child process, test/unit/controlchild.ts, in a private control directory): wh down must
// not claim the node is down while that process still runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WH = join(ROOT, 'bin', 'wh.js');
const CHILD = fileURLToPath(new URL('./controlchild.js', import.meta.url));

test('wh down says "is down" only once the daemon is gone: a daemon that does not stop is terminated first', { timeout: 40_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-down-test-'));
  const iface = `whstuck${process.pid % 10000}`;
  const daemon = spawn(process.execPath, [CHILD, join(dir, `${iface}.sock`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let exitedAt: number | undefined;
  daemon.once('exit', () => { exitedAt = Date.now(); });
  try {
    await new Promise<void>((resolve, reject) => {
      daemon.stdout!.once('data', () => resolve());
      daemon.once('exit', (c) => reject(new Error(`control child exited ${c}`)));
    });
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string; outAt: number | undefined }>((resolve) => {
      const c = spawn(process.execPath, [WH, 'down', iface], { env: { ...process.env, WH_CONTROL_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      let outAt: number | undefined;
      c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; outAt ??= Date.now(); });
      c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      const guard = setTimeout(() => c.kill('SIGKILL'), 30_000);
      c.on('close', (code) => { clearTimeout(guard); resolve({ code, stdout, stderr, outAt }); });
    });
    if (/is down/.test(r.stdout)) {
      assert.ok(exitedAt !== undefined && r.outAt !== undefined && exitedAt <= r.outAt,
        `"${r.stdout.trim()}" printed while the daemon still ran (it ${exitedAt === undefined ? 'never exited' : `exited ${exitedAt - r.outAt!} ms later`})`);
    } else {
      assert.notEqual(r.code, 0, 'no "is down": a failure status');
    }
    assert.match(r.stderr, /did not finish within 10 s; stopping it/);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

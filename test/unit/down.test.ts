// `wh down` against a daemon that answers "down" but does not stop (a real ControlServer in a
// child process, test/unit/controlchild.ts, in a private control directory): wh down must
// not claim the node is down while that process still runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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

test('wh down terminates only the process serving its own socket file, not one bound to the same path in another mount namespace (a container)', { timeout: 40_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-down-test-'));
  const iface = `whns${process.pid % 10000}`;
  const file = join(dir, `${iface}.sock`);
  const ready = (p: ChildProcess) => new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`control child exited ${c}`)));
  });
  // The container: its own mount namespace with a private tmpfs over `dir`, a daemon of the
  // same name listening at the same path there (unshare execs node: the pid is node's).
  const other = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none "$1" && exec "$2" "$3" "$4"`, 'sh', dir, process.execPath, CHILD, file],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const stuck = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await ready(other);
    await ready(stuck);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [WH, 'down', iface], { env: { ...process.env, WH_CONTROL_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
      const guard = setTimeout(() => c.kill('SIGKILL'), 30_000);
      c.on('close', (code) => { clearTimeout(guard); resolve({ code, stderr }); });
    });
    assert.match(r.stderr, /did not finish within 10 s; stopping it/);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(stuck.exitCode !== null || stuck.signalCode !== null, 'the daemon serving our socket was terminated');
    assert.ok(other.exitCode === null && other.signalCode === null,
      `the process in the other mount namespace still runs (it ended: ${other.exitCode ?? other.signalCode})`);
  } finally {
    for (const p of [other, stuck]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

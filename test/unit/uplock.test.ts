// The per-interface lock of `wh up`/`wh down` (src/daemon/uplock.ts), against the real
// abstract Unix sockets: exclusive, freed by the kernel when its holder dies however it dies
// (SIGKILL), handed over to a forked daemon without ever being free, and a holder that is not
// root is named as such. Each test has its own WH_CONTROL_DIR (so its own lock names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { takeUpLock, UpLockBusy, type UpLock } from '../../src/daemon/uplock.js';

const UPLOCK_JS = fileURLToPath(new URL('../../src/daemon/uplock.js', import.meta.url));

function withDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'wh-uplock-test-'));
  const old = process.env['WH_CONTROL_DIR'];
  process.env['WH_CONTROL_DIR'] = dir;
  return { dir, done: () => { if (old === undefined) delete process.env['WH_CONTROL_DIR']; else process.env['WH_CONTROL_DIR'] = old; rmSync(dir, { recursive: true, force: true }); } };
}

async function busy(iface: string): Promise<UpLockBusy | undefined> {
  try {
    const l = await takeUpLock(iface);
    await l.release();
    return undefined;
  } catch (e) {
    if (e instanceof UpLockBusy) return e;
    throw e;
  }
}

/** A child process (argv prefix `pre`) that takes the lock of `iface` and says "held". */
function holder(dir: string, iface: string, pre: string[] = []): Promise<ChildProcess> {
  const js = join(dir, 'hold.mjs');
  writeFileSync(js, `import { takeUpLock } from ${JSON.stringify(UPLOCK_JS)};\nawait takeUpLock(${JSON.stringify(iface)});\nprocess.stdout.write('held\\n');\nsetInterval(() => {}, 1000);\n`);
  const argv = [...pre, process.execPath, js];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
  });
}

const gone = (c: ChildProcess) => new Promise<void>((r) => { if (c.exitCode !== null || c.signalCode !== null) r(); else c.once('exit', () => r()); });

test('the lock is exclusive, and free again once released', async () => {
  const { done } = withDir();
  try {
    const a = await takeUpLock('wg0');
    const e = await busy('wg0');
    assert.ok(e instanceof UpLockBusy, 'a second take fails while the first holds it');
    assert.match(e.message, /^wg0 is already up, starting or stopping/);
    assert.equal(await busy('wg1'), undefined, 'another interface has its own lock');
    await a.release();
    assert.equal(await busy('wg0'), undefined, 'free once released');
  } finally { done(); }
});

test('a holder killed with SIGKILL leaves no stale lock; while it lives, it is named', async () => {
  const { dir, done } = withDir();
  let child: ChildProcess | undefined;
  try {
    child = await holder(dir, 'wg0');
    const e = await busy('wg0');
    assert.ok(e instanceof UpLockBusy);
    assert.deepEqual(e.holders.map((h) => h.pid), [child.pid], 'the holder is found through /proc');
    assert.match(e.message, new RegExp(`\\(pid ${child.pid}\\)`));
    child.kill('SIGKILL');
    await gone(child);
    assert.equal(await busy('wg0'), undefined, 'the kernel freed the lock of the killed holder');
  } finally { child?.kill('SIGKILL'); done(); }
});

test('a lock handed to a forked child stays held after the parent lets go, until the child exits', async () => {
  const { dir, done } = withDir();
  let child: ChildProcess | undefined;
  try {
    const lock: UpLock = await takeUpLock('wg0');
    const js = join(dir, 'child.mjs');
    writeFileSync(js, `import { requestUpLock } from ${JSON.stringify(UPLOCK_JS)};\nawait requestUpLock('wg0', 5000);\nprocess.send({ type: 'got' });\nprocess.on('message', (m) => { if (m.type === 'exit') process.exit(0); });\n`);
    child = fork(js, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
    const c = child;
    await new Promise<void>((resolve, reject) => {
      c.on('message', (m: { type?: string }) => {
        if (m.type === 'want-up-lock') lock.handTo(c);
        if (m.type === 'got') resolve();
      });
      c.once('exit', (code) => reject(new Error(`the child exited (${code})`)));
    });
    await lock.release();
    assert.ok((await busy('wg0')) instanceof UpLockBusy, 'the child holds it');
    c.send({ type: 'exit' });
    await gone(c);
    assert.equal(await busy('wg0'), undefined, 'free once the child exited');
  } finally { child?.kill('SIGKILL'); done(); }
});

const canDrop = process.getuid?.() === 0 && ['/usr/bin/setpriv', '/bin/setpriv'].some((p) => existsSync(p));
test('a lock squatted by a user who is not root is refused, naming that process', { skip: canDrop ? false : 'needs root and setpriv' }, async () => {
  const { dir, done } = withDir();
  let child: ChildProcess | undefined;
  try {
    chmodSync(dir, 0o755); // the holder runs as nobody
    child = await holder(dir, 'wg0', ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']);
    const e = await busy('wg0');
    assert.ok(e instanceof UpLockBusy);
    assert.match(e.message, new RegExp(`held by pid ${child.pid} of uid 65534: not root, so not WireHub`));
  } finally { child?.kill('SIGKILL'); if (child) await gone(child); done(); }
});

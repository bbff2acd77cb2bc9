// Faults of the node's own process and data plane, end to end as root in micronet: real
// wireguard-go, nftables, ping.
//   - wireguard-go killed with SIGKILL: the daemon notices, says so in its log and in `wh show`,
//     recreates the interface with its peers, and the overlay pings again; when it cannot
//     recreate it, it gives up, cleans up and exits non-zero (for a supervisor to restart it).
//   - the log on a full filesystem: the daemon keeps running and reloads report the truth;
//     SIGTERM still cleans up.
//   - an uncaught exception in the daemon: cleanup runs, exit status is non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { WhNet, type WhNode } from './whnet.js';
import type { ShowResult } from '../../src/control/show.js';
import { assertNoTraces, processesMatching } from './traces.js';

const show = (w: WhNet, name: string): Promise<ShowResult> => w.show(name);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function wireguardGoPid(iface: string): number {
  const found = processesMatching((cmd) => /^(\S*\/)?wireguard-go -f /.test(cmd) && cmd.includes(iface));
  assert.equal(found.length, 1, `one wireguard-go for ${iface}: ${found.join('; ')}`);
  return Number(found[0]!.split(' ')[0]);
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

function exited(n: WhNode, ms: number): Promise<number | string | undefined> {
  const d = n.daemon!;
  if (d.exitCode !== null || d.signalCode !== null) return Promise.resolve(d.exitCode ?? d.signalCode ?? undefined);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    d.once('exit', (code, signal) => { clearTimeout(t); resolve(code ?? signal ?? undefined); });
  });
}

test('wireguard-go killed with SIGKILL: detected, logged, shown, interface and peers recreated', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('wgkill');
  try {
    await w.addPublicNode('boot', 'boot');
    for (const n of ['n1', 'n2']) await w.addPublicNode(n);
    w.writeConfigs(['n1', 'n2']);
    await w.up('boot');
    await w.up('n1');
    await w.up('n2');
    const n1 = w.nodes.get('n1')!, n2 = w.nodes.get('n2')!;
    assert.ok(await w.pingUntil('n1', n2.overlayIp!, 10_000) >= 0, 'n1 -> n2 before');

    const pid = wireguardGoPid(n1.iface);
    process.kill(pid, 'SIGKILL');
    const t0 = Date.now();
    await waitFor('the log says wireguard-go died', 5000, () => /data plane down.*SIGKILL/i.test(n1.log) ? true : undefined);
    const back = await w.pingUntil('n2', n1.overlayIp!, 10_000);
    assert.ok(back >= 0, `n2 -> n1: the overlay is back within 10 s of the kill (log:\n${n1.log.slice(-2000)})`);
    assert.ok(await w.pingUntil('n1', n2.overlayIp!, 5000) >= 0, 'n1 -> n2 after the restore');
    process.stderr.write(`# overlay back ${Date.now() - t0} ms after SIGKILL of wireguard-go\n`);
    assert.match(n1.log, /data plane .*recreated/i, 'the log says it was recreated');
    assert.notEqual(wireguardGoPid(n1.iface), pid, 'a new wireguard-go serves the interface');
    const s = await show(w, 'n1');
    assert.equal(s.dataPlane, 'up');
    assert.equal(s.dataPlaneRestarts, 1, 'wh show counts the restart');
    assert.match(s.dataPlaneError ?? '', /SIGKILL/, 'wh show says why');
    const p = s.peers.find((x) => x.key === n2.publicKey)!;
    assert.equal(p.path, 'direct');
    assert.equal(p.wgEndpoint, `${n2.host.ip}:62096`, 'the peer got its endpoint back');
    assert.ok(p.lastHandshake !== null, 'handshake after the restore');
    const text = await w.wh(n1, ['show', n1.iface]);
    assert.match(text.stdout, /data plane: up \(recreated 1 time; last down: .*SIGKILL/, text.stdout);
  } finally {
    await w.destroy();
  }
});

test('wireguard-go killed and cannot be restarted: the daemon says so, cleans up and exits non-zero', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('wgdead');
  try {
    await w.addPublicNode('boot', 'boot');
    for (const n of ['n1', 'n2']) await w.addPublicNode(n);
    w.writeConfigs(['n1', 'n2']);
    // A userspace implementation that works until a marker file exists (as if wireguard-go
    // had been uninstalled under the running node).
    const marker = path.join(w.dir, 'no-more-wireguard');
    const impl = path.join(w.dir, 'wg-impl');
    const real = execFileSync('sh', ['-c', 'command -v wireguard-go'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(impl, `#!/bin/sh\nif [ -e ${marker} ]; then echo "wireguard-go is gone" >&2; exit 1; fi\nexec ${real} "$@"\n`, { mode: 0o755 });
    await w.up('boot');
    await w.up('n1', 15_000, { env: { WG_USERSPACE_IMPLEMENTATION: impl } });
    await w.up('n2');
    const n1 = w.nodes.get('n1')!, n2 = w.nodes.get('n2')!;
    assert.ok(await w.pingUntil('n1', n2.overlayIp!, 10_000) >= 0, 'n1 -> n2 before');
    await waitFor('n1 shows n2 direct', 5000, async () => (await show(w, 'n1')).peers.some((p) => p.path === 'direct') ? true : undefined);

    fs.writeFileSync(marker, '');
    process.kill(wireguardGoPid(n1.iface), 'SIGKILL');
    const down = await waitFor('wh show reports the data plane down', 5000, async () => {
      const s = await show(w, 'n1');
      return s.dataPlane !== 'up' ? s : undefined;
    });
    for (const p of down.peers) assert.notEqual(p.path, 'direct', `no peer is shown direct while the data plane is down (${p.name})`);
    assert.equal(down.dataPlane, 'restarting');
    const text = await w.wh(n1, ['show', n1.iface]);
    if (text.code === 0) assert.match(text.stdout, /data plane: down, being recreated|data plane: down, given up/, text.stdout);
    const code = await exited(n1, 40_000);
    assert.equal(typeof code, 'number', `the daemon exited by itself (log:\n${n1.log.slice(-2000)})`);
    assert.notEqual(code, 0, 'with a non-zero status');
    assert.match(n1.log, /wireguard-go is gone/, "the implementation's error is in the log");
    assert.match(n1.log, /giving up/i);
    await assertNoTraces(w, 'n1', n1.iface);
  } finally {
    await w.destroy();
  }
});

/** Appends `chunk`s to `file` until the filesystem is full (ENOSPC). */
function fillFile(file: string, chunk: number): void {
  const fd = fs.openSync(file, 'a');
  try {
    for (let i = 0; i < 100_000; i++) fs.writeSync(fd, Buffer.alloc(chunk, 0x23));
    throw new Error('the small filesystem did not fill up');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/** A tmpfs of `size` mounted on a fresh directory. `fill(log)` fills it up, the last page of
 *  the log file `log` too (an append inside an allocated page needs no new space); `free()`
 *  frees it. */
function smallFs(size: string): { dir: string; fill(log: string): void; free(): void; umount(): void } {
  const dir = fs.mkdtempSync('/tmp/whfull-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill(log: string) {
      fillFile(filler, 4096);
      fillFile(log, 64);
    },
    free() { fs.rmSync(filler, { force: true }); },
    umount() {
      try { execFileSync('umount', [dir]); } catch { /* not mounted */ }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('log on a full filesystem: the daemon keeps running, reload tells the truth, SIGTERM cleans up', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('fulllog');
  const disk = smallFs('64k');
  try {
    await w.addPublicNode('boot', 'boot');
    for (const n of ['n1', 'n2', 'n3']) await w.addPublicNode(n);
    w.writeConfigs(['n1', 'n2']);
    const logFile = path.join(disk.dir, 'n1.log');
    await w.up('boot');
    await w.up('n1', 15_000, { args: ['--log-file', logFile], env: { WH_LOG_LEVEL: 'debug' } });
    await w.up('n2');
    const n1 = w.nodes.get('n1')!;
    assert.ok(await w.pingUntil('n1', w.nodes.get('n2')!.overlayIp!, 10_000) >= 0, 'n1 -> n2');
    disk.fill(logFile);

    // Things the daemon logs: a reload that adds a peer, the new peer appearing.
    w.writeConfigs(['n1', 'n2', 'n3']);
    const r = await w.wh(n1, ['reload', n1.iface]);
    assert.equal(r.code, 0, `reload with a full log disk: ${r.stderr}`);
    assert.match(r.stdout, /added: n3/);
    await w.up('n3');
    assert.ok(await w.pingUntil('n1', w.nodes.get('n3')!.overlayIp!, 10_000) >= 0, 'n1 -> n3 with a full log disk');
    await sleep(1000);
    assert.equal(n1.daemon!.exitCode, null, `the daemon is still running (stderr:\n${n1.log.slice(-2000)})`);
    const again = await w.wh(n1, ['reload', n1.iface]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /no change/, 'the first reload was applied, and only once');
    // An edit that reload refuses (this node's own address changed) changes nothing.
    const good = fs.readFileSync(w.configFile, 'utf8');
    fs.writeFileSync(w.configFile, good.replace(`trust n1 ${n1.overlayIp} `, 'trust n1 10.77.0.99 '));
    const refused = await w.wh(n1, ['reload', n1.iface]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused, running state kept: .*own overlay address changed/);
    const after = await show(w, 'n1');
    assert.equal(after.ipv4, n1.overlayIp, 'own address kept');
    assert.deepEqual(after.peers.map((p) => p.name).sort(), ['n2', 'n3'], 'peers kept');
    fs.writeFileSync(w.configFile, good);
    const back = await w.wh(n1, ['reload', n1.iface]);
    assert.match(back.stdout, /no change/, 'after a refused edit, a later reload behaves as before');

    // Space again: logging resumes and says how much was lost.
    disk.free();
    w.writeConfigs(['n1', 'n2']);
    const third = await w.wh(n1, ['reload', n1.iface]);
    assert.equal(third.code, 0, third.stderr);
    const text = fs.readFileSync(logFile, 'utf8');
    assert.match(text, /\d+ log lines? lost/, 'the log says lines were lost');
    assert.match(text, /reload: .*"removed":\["n3"\]/);

    // Full again, then SIGTERM: the daemon still cleans up everything and exits 0.
    disk.fill(logFile);
    n1.daemon!.kill('SIGTERM');
    assert.equal(await exited(n1, 15_000), 0, `clean exit on SIGTERM (stderr:\n${n1.log.slice(-2000)})`);
    await assertNoTraces(w, 'n1', n1.iface);
  } finally {
    await w.destroy();
    disk.umount();
  }
});

// Loaded into the daemon's process (not into the product): a bug that throws from a timer, and
// a stray process.exit() that skips the asynchronous cleanup.
const INJECTED = [
  { what: 'an uncaught exception', code: "setTimeout(() => { throw new Error('injected crash'); }, 3000);\n", log: /crash \(uncaught exception\): Error: injected crash/ },
  { what: 'a process.exit() from anywhere', code: 'setTimeout(() => process.exit(3), 3000);\n', log: /exit before the cleanup finished: removed synchronously: .*wireguard/ },
];

for (const inj of INJECTED) {
  test(`${inj.what} in the daemon: everything is removed and the exit status is non-zero`, { timeout: 60_000 }, async () => {
    const w = await WhNet.create('crash');
    try {
      await w.addPublicNode('boot', 'boot');
      for (const n of ['n1', 'n2']) await w.addPublicNode(n);
      w.writeConfigs(['n1', 'n2']);
      const crash = path.join(w.dir, 'crash.mjs');
      fs.writeFileSync(crash, inj.code);
      await w.up('boot');
      await w.up('n2');
      await w.up('n1', 15_000, { env: { NODE_OPTIONS: `--import=${crash}` } });
      const n1 = w.nodes.get('n1')!;
      assert.ok(await w.pingUntil('n1', w.nodes.get('n2')!.overlayIp!, 2500) >= 0, 'n1 -> n2 before the crash');
      const code = await exited(n1, 20_000);
      assert.equal(typeof code, 'number', 'the daemon exited');
      assert.notEqual(code, 0, 'non-zero status');
      await assertNoTraces(w, 'n1', n1.iface);
      assert.match(n1.log, inj.log);
    } finally {
      await w.destroy();
    }
  });
}

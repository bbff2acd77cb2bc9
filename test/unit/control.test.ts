// The daemon's control socket under abuse, against the real ControlServer in a child process
// (test/unit/controlchild.ts) on a unix socket in a temporary directory: many idle
// connections, large unterminated requests, a request trickled a byte at a time. The server
// must bound connections, bytes per request and time per request, and still answer `wh`.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callDaemon } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { CONTROL_MAX_CONNECTIONS, CONTROL_MAX_REQUEST, CONTROL_REQUEST_DEADLINE } from '../../src/params.js';

const CHILD = fileURLToPath(new URL('./controlchild.js', import.meta.url));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
function statusKb(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

/** Connects; resolves with the socket once connected, or undefined if refused. */
function connect(file: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => resolve(s));
    s.once('error', () => { s.destroy(); resolve(undefined); });
  });
}

const closed = (s: net.Socket) => new Promise<void>((r) => { if (s.destroyed || s.closed) r(); else s.once('close', () => r()); });

describe('control socket bounds', () => {
  let dir = '';
  let file = '';
  let child: ChildProcess;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wh-control-test-'));
    file = join(dir, 'wh-test.sock');
    process.env.WH_CONTROL_DIR = dir;
    child = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`control child exited ${c}`)));
    });
  });
  after(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => { const t = setTimeout(r, 3000); child.once('exit', () => { clearTimeout(t); r(undefined); }); });
    rmSync(dir, { recursive: true, force: true });
    delete process.env.WH_CONTROL_DIR;
  });

  test('a request gets its answer', async () => {
    assert.deepEqual(await callDaemon('wh-test', { cmd: 'show' }), { echo: 'show' });
  });

  test('3000 idle connections: the daemon holds a bounded number of descriptors, and drops them by the deadline', async () => {
    const pid = child.pid!;
    const base = fdCount(pid);
    const socks: net.Socket[] = [];
    for (let i = 0; i < 3000; i += 100) {
      const batch = await Promise.all(Array.from({ length: 100 }, () => connect(file)));
      for (const s of batch) if (s) { s.on('error', () => {}); socks.push(s); }
    }
    await sleep(300);
    const held = fdCount(pid) - base;
    const t0 = Date.now();
    try {
      assert.ok(held <= CONTROL_MAX_CONNECTIONS + 2, `the daemon holds ${held} more descriptors with 3000 idle connections (limit ${CONTROL_MAX_CONNECTIONS})`);
      const open = socks.filter((s) => !s.destroyed);
      await Promise.race([Promise.all(open.map(closed)), sleep(CONTROL_REQUEST_DEADLINE + 2000)]);
      const still = socks.filter((s) => !s.destroyed && !s.closed).length;
      assert.equal(still, 0, `${still} idle connections still open ${Date.now() - t0} ms later (deadline ${CONTROL_REQUEST_DEADLINE} ms)`);
    } finally {
      for (const s of socks) s.destroy();
    }
    await sleep(200);
    assert.deepEqual(await callDaemon('wh-test', { cmd: 'show' }), { echo: 'show' }, 'answers once the idle connections are gone');
  });

  test('300 connections each sending 1 MiB without a newline: the daemon\'s memory stays bounded', async () => {
    const pid = child.pid!;
    const before = statusKb(pid, 'VmRSS');
    const chunk = Buffer.alloc(1 << 20, 0x61);
    const socks = await Promise.all(Array.from({ length: 300 }, () => connect(file)));
    await Promise.all(socks.map((s) => s && new Promise<void>((r) => {
      s.on('error', () => r());
      s.write(chunk, () => r());
      s.once('close', () => r());
      setTimeout(r, 3000);
    })));
    await sleep(300);
    const peak = statusKb(pid, 'VmHWM');
    for (const s of socks) s?.destroy();
    const grew = (peak - before) / 1024;
    assert.ok(grew < 64, `the daemon's peak memory grew by ${grew.toFixed(0)} MiB (from ${(before / 1024).toFixed(0)} MiB)`);
    await sleep(200);
    assert.deepEqual(await callDaemon('wh-test', { cmd: 'show' }), { echo: 'show' });
  });

  test('a request over the size limit is answered "request too large" at once', async () => {
    const s = (await connect(file))!;
    let answer = '';
    s.setEncoding('utf8').on('data', (d: string) => { answer += d; });
    s.on('error', () => {});
    s.write('{"cmd":"show","pad":"' + 'x'.repeat(CONTROL_MAX_REQUEST + 10));
    await Promise.race([closed(s), sleep(2000)]);
    s.destroy();
    assert.match(answer, /"error":"request too large"/);
  });

  test('a request trickled a byte at a time is cut off at the deadline', async () => {
    const s = (await connect(file))!;
    s.on('error', () => {});
    const t0 = Date.now();
    s.write('{');
    const drip = setInterval(() => { if (!s.destroyed) s.write(' '); }, 100);
    await Promise.race([closed(s), sleep(CONTROL_REQUEST_DEADLINE + 3000)]);
    clearInterval(drip);
    const open = !s.destroyed && !s.closed;
    s.destroy();
    assert.ok(!open, `still open after ${Date.now() - t0} ms of one byte every 100 ms (deadline ${CONTROL_REQUEST_DEADLINE} ms)`);
    assert.ok(Date.now() - t0 < CONTROL_REQUEST_DEADLINE + 1000);
  });
});

test('closing the server (the daemon stopping) does not wait for idle or answered connections to end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-control-close-'));
  const file = join(dir, 'wh-close.sock');
  // A virtual clock that never moves: the per-connection deadlines cannot end them here.
  const server = await ControlServer.listen(file, async (req) => ({ echo: req.cmd }), new VirtualClock());
  const idle = (await connect(file))!;
  const answered = (await connect(file))!;
  for (const s of [idle, answered]) s.on('error', () => {});
  try {
    let answer = '';
    answered.setEncoding('utf8').on('data', (d: string) => { answer += d; });
    answered.write('{"cmd":"show"}\n');
    for (let i = 0; i < 100 && !answer.includes('\n'); i++) await sleep(10);
    assert.match(answer, /"echo":"show"/, 'answered; the client keeps the connection open');
    const t0 = Date.now();
    const done = await Promise.race([server.close().then(() => true), sleep(3000).then(() => false)]);
    assert.ok(done, `close() still waiting ${Date.now() - t0} ms later for an idle and an answered connection`);
    assert.ok(!readdirSync(dir).includes('wh-close.sock'), 'the socket file is removed');
  } finally {
    idle.destroy();
    answered.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

// The daemon's own entry (src/cli/daemonmain.ts): `wh up ... --foreground` runs `wh up` without
// loading the rest of the CLI, and says exactly what the full CLI says about the same command
// line; anything it does not parse itself goes to the full CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { parseDaemonArgv } from '../../src/cli/daemonmain.js';
import { daemonExecArgv, isDaemonArgv } from '../../src/util/heap.js';
import { DAEMON_V8_POOL_SIZE } from '../../src/params.js';
import { ROOT, runWh, WH, type WhRun } from './runwh.js';

const argv = (...a: string[]) => ['/usr/bin/node', '/x/bin/wh.js', ...a];

test('parseDaemonArgv takes the plain form of wh up --foreground', () => {
  assert.deepEqual(parseDaemonArgv(argv('up', 'net', '--foreground')), { config: 'net', words: [] });
  assert.deepEqual(parseDaemonArgv(argv('up', './a.conf', 'private-key', 'k', '--foreground', '--log-file', '/l')),
    { config: './a.conf', words: ['private-key', 'k'], logFile: '/l' });
  assert.deepEqual(parseDaemonArgv(argv('up', '--log-file=/l', '--foreground', 'net', 'listen-port', '7')),
    { config: 'net', words: ['listen-port', '7'], logFile: '/l' });
});

test('parseDaemonArgv leaves everything else to the full CLI', () => {
  for (const a of [['up', 'net'], ['show', '--foreground'], ['up', '--foreground'], ['up', 'net', '--foreground', '--help'],
    ['up', 'net', '--foreground', '-h'], ['up', 'net', '--foreground', '--'], ['up', 'net', '--foreground', '--log-file'],
    ['up', 'net', '--foreground', '--log-file', '--x'], ['up', 'net', '--foreground', '--log-file='], ['up', 'net', '--foreground', '--bogus']]) {
    assert.equal(parseDaemonArgv(argv(...a)), undefined, a.join(' '));
  }
  assert.equal(isDaemonArgv(argv('up', 'net', '--foreground')), true);
  assert.equal(isDaemonArgv(argv('up', 'net')), false);
  assert.equal(isDaemonArgv(argv('show', '--foreground')), false);
});

/** The full CLI's answer to `wh ARGS` (its main(), not bin/wh.js), with the module URLs loaded. */
function run(args: string[], full: boolean): Promise<WhRun & { loaded: string[] }> {
  // A resolve hook that lists every module the process loads, on stderr.
  const hook = `data:text/javascript,import fs from 'node:fs';export async function resolve(s,c,n){const r=await n(s,c);fs.writeSync(2,'LOADED '+r.url+'\\n');return r}`;
  const code = `const { main } = await import(${JSON.stringify(new URL('../../src/cli/wh.js', import.meta.url).href)}); await main(['node', 'wh', ...process.argv.slice(1)]);`;
  const nodeArgs = full ? ['--no-warnings', `--experimental-loader=${hook}`, '--input-type=module', '-e', code, ...args] : ['--no-warnings', `--experimental-loader=${hook}`, WH, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WH_CONFIG_DIR: '/nonexistent-wh-config' } });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`wh ${args.join(' ')}: timed out`)); }, 20_000);
    child.on('close', (code) => {
      clearTimeout(guard);
      const lines = stderr.split('\n');
      resolve({ code, stdout, stderr: lines.filter((l) => !l.startsWith('LOADED ')).join('\n'), loaded: lines.filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7)) });
    });
  });
}

test("a daemon's process loads neither commander nor the other commands, and fails as the full CLI does", async () => {
  const cases = [
    ['up', '/nonexistent-wh/net.conf', '--foreground'],
    ['up', '/nonexistent-wh/net.conf', 'listen-port', '0', '--foreground'],
    ['up', '/nonexistent-wh/net.conf', 'colour', 'red', '--foreground', '--log-file', '/nonexistent-wh/log'],
    ['up', 'net', '--foreground'],
  ];
  const runs = await Promise.all(cases.map(async (args) => ({ args, daemon: await run(args, false), full: await run(args, true) })));
  for (const { args, daemon, full } of runs) {
    assert.equal(daemon.code, full.code, args.join(' '));
    assert.notEqual(daemon.code, 0, args.join(' '));
    assert.equal(daemon.stderr, full.stderr, args.join(' '));
    assert.equal(daemon.stdout, full.stdout, args.join(' '));
    assert.ok(daemon.loaded.some((u) => u.endsWith('/cli/daemonmain.js')), 'the daemon entry ran');
    assert.ok(!daemon.loaded.some((u) => /\/node_modules\/commander\//.test(u)), `commander loaded: ${args.join(' ')}`);
    assert.deepEqual(daemon.loaded.filter((u) => /\/cli\/commands\//.test(u)).map((u) => u.replace(/.*\/cli\/commands\//, '')), ['up.js']);
    assert.ok(full.loaded.some((u) => /\/node_modules\/commander\//.test(u)), 'the hook sees what the full CLI loads');
  }
});

test('wh up --foreground --help still prints the help of the full CLI', async () => {
  const r = await runWh(['up', 'net', '--foreground', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: wh up NAME\|CONFIG/);
});

test("a detached wh up gives the daemon it forks its own Node options and the daemon's pool size", () => {
  assert.deepEqual(daemonExecArgv([]), [`--v8-pool-size=${DAEMON_V8_POOL_SIZE}`]);
  assert.deepEqual(daemonExecArgv(['--enable-source-maps', '--v8-pool-size=8']), ['--enable-source-maps', `--v8-pool-size=${DAEMON_V8_POOL_SIZE}`]);
});

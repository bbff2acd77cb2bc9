// The `wh` command line, run as a user would (node bin/wh.js ...), compared with `wg` where it
// applies. Runs the commands concurrently: each start costs ~100 ms.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { isKeyText, parseKey, publicFromSecret } from '../../src/crypto/keys.js';
import { workbit } from '../../src/crypto/workbit.js';
import { formatCount, formatDuration, formatProgress } from '../../src/cli/commands/genkey.js';

// dist/test/unit/cli.test.js -> repository root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const WH = join(ROOT, 'bin', 'wh.js');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function wh(args: string[], opts: { input?: string; killAfterMs?: number; killSignal?: NodeJS.Signals } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WH, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`wh ${args.join(' ')}: timed out; stderr: ${stderr}`)); }, 15000);
    if (opts.killAfterMs !== undefined) setTimeout(() => child.kill(opts.killSignal ?? 'SIGINT'), opts.killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => { clearTimeout(guard); resolve({ code, signal, stdout, stderr }); });
    child.stdin.on('error', () => {}); // the command may exit before reading everything
    child.stdin.end(opts.input ?? '');
  });
}

function wgPath(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, 'wg'))) return join(dir, 'wg');
  }
  assert.fail('`wg` not found: these tests compare against the real WireGuard tools; install wireguard-tools (apt-get install wireguard-tools)');
}

const wgPubkey = (sk: string) => execFileSync(wgPath(), ['pubkey'], { input: sk, encoding: 'utf8' });
const KEY_LINE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\n$/;

function assertClamped(keyText: string): void {
  const sk = parseKey(keyText);
  assert.equal(sk[0]! & 7, 0, 'low 3 bits clear');
  assert.equal(sk[31]! & 0xc0, 0x40, 'bit 255 clear, bit 254 set');
}

/** A usage or input error: non-zero exit, `wh: ...` or commander's message, nothing on stdout. */
function assertFails(r: Run, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
}

describe('wh CLI', { concurrency: true }, () => {
  test('--help lists the commands with one-line descriptions', async () => {
    const r = await wh(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const cmd of ['genkey', 'pubkey', 'workbit', 'check']) {
      assert.match(r.stdout, new RegExp(`^  ${cmd}\\b[^\\n]*?\\s{2,}\\S`, 'm'), `${cmd} is listed with a description`);
    }
    for (const cmd of ['genkey', 'pubkey', 'workbit']) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`  ${cmd} `))!;
      assert.ok(line.length <= 80, `one line: ${line}`);
    }
  });

  test('unknown command: non-zero exit and a clear message', async () => {
    const r = await wh(['frobnicate']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test('genkey prints a fresh clamped key, and wg pubkey agrees with wh pubkey on it', async () => {
    const [a, b] = await Promise.all([wh(['genkey']), wh(['genkey'])]);
    for (const r of [a, b]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, KEY_LINE);
      assertClamped(r.stdout);
    }
    assert.notEqual(a.stdout, b.stdout);
    // wh genkey | wg pubkey  ==  wh genkey | wh pubkey
    const viaWh = await wh(['pubkey'], { input: a.stdout });
    assert.equal(viaWh.code, 0, viaWh.stderr);
    assert.match(viaWh.stdout, KEY_LINE);
    assert.equal(viaWh.stdout, wgPubkey(a.stdout));
  });

  test('pubkey prints exactly what wg pubkey prints for wg genkey keys', async () => {
    const wg = wgPath();
    const keys = Array.from({ length: 4 }, () => execFileSync(wg, ['genkey'], { encoding: 'utf8' }));
    const inputs = [keys[0]!, `  \n\t${keys[1]!.trim()}  \r\n\n`, keys[2]!.trim(), keys[3]!];
    const runs = await Promise.all(inputs.map((input) => wh(['pubkey'], { input })));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, wgPubkey(keys[i]!), `key ${i}`);
    });
  });

  test('pubkey rejects bad input with exit 1 and a `wh:` message', async () => {
    const bad = ['', 'abc\n', 'not a key at all, not a key at all, not a key!\n', `${'A'.repeat(43)}B\n`, `${'A'.repeat(43)}=\n${'A'.repeat(43)}=\n`];
    const runs = await Promise.all(bad.map((input) => wh(['pubkey'], { input })));
    for (const r of runs) {
      assertFails(r, 1, /^wh: the private key on standard input is not a WireGuard key \(expected 44 characters of standard base64, or 43 of URL-safe base64, got .*\)\n$/);
    }
  });

  test('workbit prints the workbit (namespace "" given explicitly: the default is "public")', async () => {
    // Vectors checked with Python's hashlib.blake2b (see workbit.test.ts).
    const cases: Array<[string[], string, string]> = [
      [['--namespace', 'test'], 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=\n', '19\n'],
      [['--namespace='], 'oaIcxOAOKsuNx6r5c5VxxlERMOzf1iipDMnjNKzh5yU=', '14\n'],
      [['--namespace', ''], ' oaIcxOAOKsuNx6r5c5VxxlERMOzf1iipDMnjNKzh5yU=\n\n', '14\n'],
      [['--namespace=ünï-net'], 'RCESmbJk2XdHf+60Ur2AyG561AIB/7lbZ6/jCS4XySw=\n', '11\n'],
      [['--namespace', 'test'], '+VaLoKVqltxBdmno9Nu20kUYjR+COg/Z6fJfjwqJs18=\n', '7\n'],
      [['--namespace', ''], '+VaLoKVqltxBdmno9Nu20kUYjR+COg/Z6fJfjwqJs18=\n', '0\n'],
    ];
    const runs = await Promise.all(cases.map(([args, input]) => wh(['workbit', ...args], { input })));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, cases[i]![2], `case ${i}`);
    });
    assertFails(await wh(['workbit'], { input: 'xyz\n' }), 1, /^wh: the public key on standard input is not a WireGuard key/);
  });

  test('genkey --workbit 6 --namespace test: the key has workbit >= 6 (checked via the library)', async () => {
    const sodium = await sodiumReady();
    const runs = await Promise.all([
      wh(['genkey', '--workbit', '6', '--namespace', 'test']),
      wh(['genkey', '--workbit', '10', '--namespace', 'test', '--threads', '2']), // on worker threads
      wh(['genkey', '--workbit=0']),
    ]);
    const targets: Array<[number, string]> = [[6, 'test'], [10, 'test'], [0, '']];
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'no progress output when stderr is not a terminal');
      assert.match(r.stdout, KEY_LINE);
      assertClamped(r.stdout);
      const [target, ns] = targets[i]!;
      const w = workbit(sodium, publicFromSecret(sodium, parseKey(r.stdout)), ns);
      assert.ok(w >= target, `workbit ${w} >= ${target}`);
    });
  });

  test('genkey rejects bad arguments with a clear message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--workbit', 'abc'], /^wh: --workbit must be an integer from 0 to 256, got "abc"\nusage: wh genkey /],
      [['--workbit', '300'], /^wh: --workbit must be an integer from 0 to 256, got "300"\nusage: wh genkey /],
      [['--workbit', '257'], /--workbit must be an integer from 0 to 256/],
      [['--workbit=-1'], /--workbit must be an integer from 0 to 256, got "-1"/],
      [['--workbit', '1.5'], /--workbit must be an integer from 0 to 256/],
      [['--workbit', ''], /--workbit must be an integer from 0 to 256/],
      [['--workbit', '4', '--threads', '0'], /^wh: --threads must be an integer from 1 to 1024, got "0"\nusage: wh genkey /],
      [['--workbit', '4', '--threads', 'many'], /--threads must be an integer/],
      [['--workbit'], /argument missing/],
      [['--bogus'], /unknown option '--bogus'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => wh(['genkey', ...args])));
    runs.forEach((r, i) => {
      assert.notEqual(r.code, 0, `genkey ${cases[i]![0].join(' ')} fails`);
      assertFails(r, r.code!, cases[i]![1]);
    });
  });

  test('progress line formatting', () => {
    const p = { workbit: 20, tries: 123456, seconds: 4.2, rate: 29394, expectedTries: 2 ** 20, expectedRemainingSeconds: 2 ** 20 / 29394, threads: 2 };
    assert.equal(formatProgress(p), 'workbit >= 20: 123k tries, 4.2s, 29.4k/s; expect ~2^20 tries, ~36s more');
    assert.equal(formatProgress({ ...p, tries: 0, rate: 0, expectedRemainingSeconds: NaN }), 'workbit >= 20: starting 2 threads…');
    assert.deepEqual([formatCount(950), formatCount(12345), formatCount(4.56e6), formatCount(NaN)], ['950', '12.3k', '4.56M', '?']);
    assert.deepEqual([formatDuration(4.54), formatDuration(45), formatDuration(720), formatDuration(3 * 3600), formatDuration(2 ** 60 / 20000)], ['4.5s', '45s', '12m', '3.0h', '1.83My']);
  });
});

// CPU-heavy (endless searches on all cores): run one at a time, after the concurrent tests.
describe('wh genkey --workbit: stopping a search', () => {
  test('Ctrl-C on a terminal: progress on one line, cleared, workers end, exit 130, no key', async () => {
    assert.ok(existsSync('/usr/bin/script'), 'this test needs `script` (util-linux / bsdutils) to give wh a terminal');
    // `script` runs wh on a pseudo-terminal; once progress shows, type Ctrl-C into it.
    const t0 = Date.now();
    const r = await new Promise<{ code: number | null; out: string; sentAt: number }>((resolve, reject) => {
      const cmd = `'${process.execPath}' '${WH}' genkey --workbit 60 --threads 2`;
      const child = spawn('/usr/bin/script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '', sentAt = -1;
      const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no progress or no exit; output: ${JSON.stringify(out)}`)); }, 10000);
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (sentAt < 0 && out.includes(' tries, ')) { sentAt = Date.now(); child.stdin.write('\x03'); }
      });
      child.on('error', reject);
      child.on('close', (code) => { clearTimeout(guard); child.stdin.destroy(); resolve({ code, out, sentAt }); });
    });
    assert.ok(r.sentAt > 0, 'progress was shown');
    assert.equal(r.code, 130, `exit code; output: ${JSON.stringify(r.out)}`);
    assert.ok(Date.now() - r.sentAt < 3000, 'exits promptly after Ctrl-C');
    assert.ok(Date.now() - t0 < 12000);
    const out = r.out;
    assert.match(out, /^\rworkbit >= 60: starting 2 threads…\x1b\[K/);
    assert.match(out, /\rworkbit >= 60: [0-9.]+k tries, [0-9.]+s, [0-9.]+k\/s; expect ~2\^60 tries, ~[0-9.]+[kM]?y more\x1b\[K/);
    assert.match(out, /\r\x1b\[Kwh: interrupted \(SIGINT\); no key was written\r?\n$/, 'line cleared before the message');
    assert.ok(!out.slice(0, out.indexOf('wh: interrupted')).includes('\n'), 'progress stays on one line');
    assert.doesNotMatch(out, /[A-Za-z0-9+/]{43}=/, 'no key printed');
  });

  test('SIGTERM without a terminal: no progress output, exit 143, no key', async () => {
    const r = await wh(['genkey', '--workbit', '60'], { killAfterMs: 2000, killSignal: 'SIGTERM' });
    assertFails(r, 143, /^wh: interrupted \(SIGTERM\); no key was written\n$/);
  });
});

test('the wh launcher exists (tests run against the build)', () => {
  assert.ok(existsSync(WH), WH);
  assert.ok(isKeyText('m5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM='));
});

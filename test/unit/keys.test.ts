// WireGuard keys: parsing, clamping, and public keys compared with the real `wg` (wireguard-tools).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sodiumReady } from '../../src/crypto/sodium.js';
import {
  clampSecret, generateSecret, isKeyText, keyToBase64, KeyError, parseKey, publicFromSecret,
} from '../../src/crypto/keys.js';

/** Path of the `wg` binary; fails (never skips) when wireguard-tools is missing. */
function wgPath(): string {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, 'wg'))) return join(dir, 'wg');
  }
  assert.fail('`wg` not found: these tests compare against the real WireGuard tools; install wireguard-tools (apt-get install wireguard-tools)');
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

function isClamped(sk: Uint8Array): boolean {
  return (sk[0]! & 7) === 0 && (sk[31]! & 0x80) === 0 && (sk[31]! & 0x40) !== 0;
}

test('RFC 7748 X25519 test vector (Alice)', async () => {
  const sodium = await sodiumReady();
  const sk = new Uint8Array(Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'));
  assert.equal(Buffer.from(publicFromSecret(sodium, sk)).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
});

test('public keys of 50 `wg genkey` keys equal `wg pubkey`', async () => {
  const sodium = await sodiumReady();
  const wg = wgPath();
  // One shell for all 100 wg invocations: "<private> <public>" per line.
  const out = execFileSync('sh', ['-c', 'for i in $(seq 50); do k=$("$0" genkey) && p=$(printf "%s\\n" "$k" | "$0" pubkey) && echo "$k $p" || exit 1; done', wg], { encoding: 'utf8' });
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 50);
  const seen = new Set<string>();
  for (const line of lines) {
    const [skText, pkText] = line.split(' ');
    assert.ok(skText !== undefined && pkText !== undefined, line);
    assert.ok(isKeyText(skText) && isKeyText(pkText), line);
    const sk = parseKey(skText);
    assert.ok(isClamped(sk), `wg genkey output is clamped: ${skText}`);
    assert.equal(keyToBase64(publicFromSecret(sodium, sk)), pkText, `public key of ${skText}`);
    seen.add(skText);
  }
  assert.equal(seen.size, 50, 'wg genkey keys are distinct');
});

test('unclamped and extreme private keys give the same public key as `wg pubkey`', async () => {
  const sodium = await sodiumReady();
  const wg = wgPath();
  const keys = [new Uint8Array(32), new Uint8Array(32).fill(0xff), ...Array.from({ length: 8 }, () => new Uint8Array(randomBytes(32)))];
  for (const sk of keys) {
    const expected = execFileSync(wg, ['pubkey'], { input: b64(sk) + '\n', encoding: 'utf8' }).trim();
    assert.equal(keyToBase64(publicFromSecret(sodium, sk)), expected, `public key of ${b64(sk)}`);
    // Clamping first does not change the public key (X25519 clamps anyway).
    assert.equal(keyToBase64(publicFromSecret(sodium, clampSecret(new Uint8Array(sk)))), expected);
  }
});

test('generateSecret: clamped like wg genkey, fresh each time, accepted by wg pubkey', async () => {
  const sodium = await sodiumReady();
  const wg = wgPath();
  const a = generateSecret(sodium);
  const b = generateSecret(sodium);
  assert.equal(a.length, 32);
  assert.ok(isClamped(a) && isClamped(b));
  assert.notDeepEqual(a, b);
  const expected = execFileSync(wg, ['pubkey'], { input: keyToBase64(a) + '\n', encoding: 'utf8' }).trim();
  assert.equal(keyToBase64(publicFromSecret(sodium, a)), expected);
});

test('clampSecret clears bits 0-2 and 255, sets bit 254, and nothing else', () => {
  const ones = clampSecret(new Uint8Array(32).fill(0xff));
  assert.equal(ones[0], 0xf8);
  assert.equal(ones[31], 0x7f);
  assert.ok(ones.subarray(1, 31).every((x) => x === 0xff));
  const zeros = clampSecret(new Uint8Array(32));
  assert.equal(zeros[31], 0x40);
  assert.ok(zeros.subarray(0, 31).every((x) => x === 0));
});

test('parseKey accepts 44-character standard base64 with surrounding whitespace', () => {
  const sk = new Uint8Array(randomBytes(32));
  const text = b64(sk);
  assert.equal(text.length, 44);
  assert.deepEqual(parseKey(text), sk);
  assert.deepEqual(parseKey(`  \t${text}\r\n\n`), sk);
  assert.equal(keyToBase64(parseKey(text)), text);
});

test('parseKey rejects what is not a WireGuard key, with a clear reason', () => {
  const good = b64(new Uint8Array(32).fill(7));
  const bad = [
    '', '   \n', 'abc', good.slice(0, 42), good + 'A', good.slice(0, 43) + 'A', // lengths
    good.slice(0, 42) + 'B=', good.slice(0, 42) + 'B', // non-canonical last character (low bits set)
    '-' + good.slice(1, 41) + '/' + good.slice(42), '_' + good.slice(1, 41) + '+' + good.slice(42, 43), // mixed alphabets
    // (the unpadded and the URL-safe forms are keys: contact.test.ts)
    good.replace(/^./, ' '), `${good}\n${good}`, // inner whitespace, two keys
    Buffer.alloc(32, 7).toString('hex'),
    b64(new Uint8Array(31)), b64(new Uint8Array(33)),
  ];
  for (const s of bad) {
    assert.throws(() => parseKey(s, 'private key'), (err: unknown) => {
      assert.ok(err instanceof KeyError, `KeyError for ${JSON.stringify(s)}`);
      assert.match(err.message, /^private key is not a WireGuard key \(expected 44 characters of standard base64/);
      return true;
    });
  }
});

test('keyToBase64 rejects wrong lengths and round-trips', () => {
  assert.throws(() => keyToBase64(new Uint8Array(31)), KeyError);
  assert.throws(() => keyToBase64(new Uint8Array(33)), KeyError);
  for (let i = 0; i < 20; i++) {
    const k = new Uint8Array(randomBytes(32));
    assert.deepEqual(fromB64(keyToBase64(k)), k);
    assert.ok(isKeyText(keyToBase64(k)));
  }
});

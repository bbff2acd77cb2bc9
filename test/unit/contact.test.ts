// First contact (issue 9): the original README's tutorial must work verbatim. Its network file
// names nodes `node_a`/`node_b`, its keys may be in the original's URL-safe unpadded form, its
// keys come from a plain `wh genkey`, and `wh genkey CONFIG` takes the file's proof of work.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfig } from '../../src/config/parse.js';
import { keyToBase64, parseKey, publicFromSecret } from '../../src/crypto/keys.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { workbit } from '../../src/crypto/workbit.js';

import { ROOT, runWh, type WhRun as Run } from './runwh.js';

const wh = (args: string[], input = '') => runWh(args, { input });
const sodium = await sodiumReady();
const dir = mkdtempSync(join(tmpdir(), 'wh-contact-'));
after(() => rmSync(dir, { recursive: true, force: true }));


/** The original's key form: URL-safe base64, no padding. */
const urlSafe = (b64: string): string => b64.replace(/=$/, '').replace(/\+/g, '-').replace(/\//g, '_');
/** A deterministic key whose standard form has both '+' and '/' (so the URL-safe form differs). */
function keyWithSpecials(): string {
  for (let i = 0; ; i++) {
    const k = keyToBase64(sodium.crypto_generichash(32, new Uint8Array([i, 7]), null));
    if (k.includes('+') && k.includes('/')) return k;
  }
}
const errorsOf = (text: string): string => {
  try { parseConfig(text, 'tutorial', sodium); return ''; } catch (e) { if (e instanceof ConfigError) return e.message; throw e; }
};

describe('first contact: the original tutorial, verbatim', () => {
  test('the tutorial file (trust node_a / node_b, no workbit or namespace line) is accepted; names keep their "_"', () => {
    const [ka, kb, kboot] = [keyWithSpecials(), keyToBase64(sodium.crypto_generichash(32, new Uint8Array([1]), null)), keyToBase64(sodium.crypto_generichash(32, new Uint8Array([2]), null))];
    const text = `name tutorial\nsubnet 10.0.42.0/24\nboot ${kboot} 192.0.2.1\ntrust node_a ${ka}\ntrust node_b ${kb}\n`;
    assert.equal(errorsOf(text), '');
    const cfg = parseConfig(text, 'tutorial', sodium);
    assert.deepEqual(cfg.peers.map((p) => p.hostname), ['node_a', 'node_b']);
    assert.equal(cfg.namespace, 'public', 'the proof of work is measured in the public DHT\'s namespace');
    assert.equal(cfg.workbit, 0);
    // '_' is a peer-name character only: hosts that get resolved keep the DNS rules.
    assert.match(errorsOf(`name t\nboot ${kboot} boot_node.example\n`), /invalid boot address: bad host in "boot_node.example": hostname "boot_node.example" contains "_"/);
    assert.match(errorsOf(`name t\nsubnet 10.0.42.0/24\ntrust node_a ${ka} node_a.example:1\n`), /invalid endpoint: bad host/);
    // Still refused in peer names: other punctuation, '-' at a label's edge, duplicates (case-insensitively).
    assert.match(errorsOf(`name t\nsubnet 10.0.42.0/24\ntrust node*a ${ka}\n`), /hostname "node\*a" contains "\*" \(allowed: letters, digits, '-', '_' and '.'\)/);
    assert.match(errorsOf(`name t\nsubnet 10.0.42.0/24\ntrust -node_a ${ka}\n`), /label starting or ending with '-'/);
    assert.match(errorsOf(`name t\nsubnet 10.0.42.0/24\ntrust node_a ${ka}\ntrust NODE_A ${kb}\n`), /hostname "NODE_A" is already used on line 3/);
  });

  test('keys in the original URL-safe unpadded form are read in network files and printed in the standard form', () => {
    const k = keyWithSpecials();
    const u = urlSafe(k);
    assert.equal(u.length, 43);
    assert.notEqual(u, k.slice(0, 43));
    assert.deepEqual(parseKey(u), parseKey(k));
    assert.deepEqual(parseKey(u + '='), parseKey(k), 'padded URL-safe too');
    const cfg = parseConfig(`name tutorial\nsubnet 10.0.42.0/24\nboot ${u} 192.0.2.1\ntrust node_a ${u}\n`, 'tutorial', sodium);
    assert.equal(cfg.peers[0]!.keyB64, k);
    assert.equal(cfg.boots[0]!.keyB64, k);
    // Not keys: mixed alphabets, a wrong length, a last character with stray bits.
    assert.throws(() => parseKey(u.replace('-', '+').replace('_', '_')), /not a WireGuard key/);
    assert.throws(() => parseKey(u.slice(0, 42)), /not a WireGuard key \(expected 44 characters of standard base64, or 43 of URL-safe base64/);
    assert.throws(() => parseKey(u.slice(0, 42) + 'B'), /not a WireGuard key/);
  });

  test('wh pubkey and wh workbit read URL-safe keys and print the standard form', async () => {
    const skStd = (await wh(['genkey', '--workbit', '0'])).stdout.trim();
    const skUrl = urlSafe(skStd);
    const [a, b] = await Promise.all([wh(['pubkey'], skStd + '\n'), wh(['pubkey'], skUrl + '\n')]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stdout, a.stdout);
    assert.equal(b.stdout, keyToBase64(publicFromSecret(sodium, parseKey(skStd))) + '\n');
    const [w1, w2] = await Promise.all([wh(['workbit'], a.stdout), wh(['workbit'], urlSafe(a.stdout.trim()))]);
    assert.equal(w2.code, 0, w2.stderr);
    assert.equal(w2.stdout, w1.stdout);
  });
});

describe('first contact: plain keys meet the public DHT', () => {
  test('a plain `wh genkey` key has workbit >= 8 in namespace "public" (what public boot nodes ask)', async () => {
    const runs = await Promise.all([wh(['genkey']), wh(['genkey']), wh(['genkey'])]);
    for (const r of runs) {
      assert.equal(r.code, 0, r.stderr);
      const pk = publicFromSecret(sodium, parseKey(r.stdout));
      const w = workbit(sodium, pk, 'public');
      assert.ok(w >= 8, `workbit in "public" is ${w}, expected >= 8`);
      // and `wh workbit` measures in "public" by default
      const wb = await wh(['workbit'], keyToBase64(pk));
      assert.equal(wb.stdout, `${w}\n`);
    }
  });

  test('`wh genkey CONFIG` searches the namespace and workbit of that file (at least 8)', async () => {
    const strict = join(dir, 'strict.conf');
    writeFileSync(strict, 'name strict\nnamespace zz-top\nworkbit 10\n');
    const plain = join(dir, 'tutorial.conf');
    writeFileSync(plain, 'name tutorial\nsubnet 10.0.42.0/24\n');
    const bad = join(dir, 'bad.conf');
    writeFileSync(bad, 'name tutorial\nworkbit lots\n');
    const [s, p, o, b, m] = await Promise.all([
      wh(['genkey', strict]), wh(['genkey', plain]), wh(['genkey', strict, '--workbit', '3']),
      wh(['genkey', bad]), wh(['genkey', join(dir, 'missing.conf')]),
    ]);
    for (const r of [s, p, o]) assert.equal(r.code, 0, r.stderr);
    const wOf = (r: Run, ns: string): number => workbit(sodium, publicFromSecret(sodium, parseKey(r.stdout)), ns);
    assert.ok(wOf(s, 'zz-top') >= 10, `strict: ${wOf(s, 'zz-top')} >= 10 in "zz-top"`);
    assert.ok(wOf(p, 'public') >= 8, `tutorial: ${wOf(p, 'public')} >= 8 in "public"`);
    assert.ok(wOf(o, 'zz-top') >= 3, 'an option overrides the file');
    assert.equal(b.code, 1);
    assert.equal(b.stdout, '', 'no key when the file is bad');
    assert.match(b.stderr, /bad\.conf:2: invalid workbit "lots"/);
    assert.equal(m.code, 1);
    assert.equal(m.stdout, '');
    assert.match(m.stderr, /missing\.conf: cannot read config file/);
  });
});

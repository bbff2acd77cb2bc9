// Workbit: leadingZeroBits for every value 0..256, workbit() against a bit-by-bit reference and
// against vectors computed with an independent BLAKE2b (Python's hashlib), and the key search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sodiumReady, type Sodium } from '../../src/crypto/sodium.js';
import { generateSecret, parseKey, publicFromSecret } from '../../src/crypto/keys.js';
import { leadingZeroBits, MAX_WORKBIT, workbit } from '../../src/crypto/workbit.js';
import { BATCH_TRIES, KeySearchCore, searchKey } from '../../src/crypto/keysearch.js';

/** Reference: walk the bits one by one, most significant bit of byte 0 first. */
function refLeadingZeroBits(bytes: Uint8Array): number {
  let n = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) return n;
      n++;
    }
  }
  return n;
}

function refWorkbit(sodium: Sodium, pk: Uint8Array, namespace: string): number {
  const input = Buffer.concat([Buffer.from(pk), Buffer.from(namespace, 'utf8')]);
  return refLeadingZeroBits(sodium.crypto_generichash(32, input, null));
}

/** 32 bytes: n zero bits, then (if n < 256) a one bit, then random bits. */
function crafted(n: number): Uint8Array {
  const out = new Uint8Array(randomBytes(32));
  for (let i = 0; i < 256; i++) {
    const byte = i >> 3, mask = 0x80 >> (i & 7);
    if (i < n) out[byte]! &= ~mask;
    else if (i === n) out[byte]! |= mask;
  }
  return out;
}

test('leadingZeroBits: every n in 0..256 (n zero bits, a one, random bits)', () => {
  for (let n = 0; n <= 256; n++) {
    for (let rep = 0; rep < 16; rep++) {
      const bytes = crafted(n);
      assert.equal(refLeadingZeroBits(bytes), n, 'crafted input is right');
      assert.equal(leadingZeroBits(bytes), n, `n=${n} bytes=${Buffer.from(bytes).toString('hex')}`);
    }
  }
});

test('leadingZeroBits: extremes and other lengths', () => {
  assert.equal(leadingZeroBits(new Uint8Array(32)), 256);
  assert.equal(leadingZeroBits(new Uint8Array(32).fill(0xff)), 0);
  assert.equal(leadingZeroBits(new Uint8Array(0)), 0);
  assert.equal(leadingZeroBits(new Uint8Array(64)), 512);
  assert.equal(leadingZeroBits(Uint8Array.of(0, 0, 0, 0, 0, 1)), 47); // past 32 bits
  assert.equal(leadingZeroBits(Uint8Array.of(0, 0, 0, 0, 0x80)), 32);
  for (let b = 0; b < 256; b++) assert.equal(leadingZeroBits(Uint8Array.of(b, 0xff)), refLeadingZeroBits(Uint8Array.of(b, 0xff)));
});

test('workbit equals the bit-by-bit reference on random keys and namespaces', async () => {
  const sodium = await sodiumReady();
  const namespaces = ['', 'wirehub', 'test', 'ünï-net', 'x'.repeat(200)];
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const pk = new Uint8Array(randomBytes(32));
    const ns = namespaces[i % namespaces.length]!;
    const w = workbit(sodium, pk, ns);
    assert.equal(w, refWorkbit(sodium, pk, ns));
    seen.add(w);
  }
  assert.ok(seen.has(0) && seen.has(1) && seen.has(4), `saw a range of workbits: ${[...seen].sort((a, b) => a - b).join(',')}`);
});

// [public key, namespace, workbit] computed with Python: hashlib.blake2b(pk + ns.encode(), digest_size=32).
const VECTORS: Array<[string, string, number]> = [
  ['m5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=', 'test', 19],
  ['oaIcxOAOKsuNx6r5c5VxxlERMOzf1iipDMnjNKzh5yU=', '', 14],
  ['RCESmbJk2XdHf+60Ur2AyG561AIB/7lbZ6/jCS4XySw=', 'ünï-net', 11],
  ['+VaLoKVqltxBdmno9Nu20kUYjR+COg/Z6fJfjwqJs18=', '', 0],
  ['+VaLoKVqltxBdmno9Nu20kUYjR+COg/Z6fJfjwqJs18=', 'wirehub', 0],
  ['+VaLoKVqltxBdmno9Nu20kUYjR+COg/Z6fJfjwqJs18=', 'test', 7],
  ['Da7RqfvpjbO+cYQhFQjhmtOzylS8PwlDFrOK90voQUk=', 'wirehub', 2],
  ['Da7RqfvpjbO+cYQhFQjhmtOzylS8PwlDFrOK90voQUk=', 'ünï-net', 1],
  ['Teh4WaWLbsPKZIIHrlufPGCmvqnZ+kEIUnjluiHnLCE=', '', 1],
  ['Teh4WaWLbsPKZIIHrlufPGCmvqnZ+kEIUnjluiHnLCE=', 'test', 0],
];

test('workbit matches vectors from an independent BLAKE2b implementation', async () => {
  const sodium = await sodiumReady();
  for (const [pk, ns, expected] of VECTORS) {
    assert.equal(workbit(sodium, parseKey(pk), ns), expected, `${pk} ${JSON.stringify(ns)}`);
  }
  // The first two come from these private keys (public keys checked against `wg pubkey`).
  assert.equal(Buffer.from(publicFromSecret(sodium, parseKey('GOkctVW7kxnQ1jwWjep2Ov1oDIqdse7R8l6o+Rpvzlo='))).toString('base64'), VECTORS[0]![0]);
  assert.equal(Buffer.from(publicFromSecret(sodium, parseKey('2M7eeYi30VZXLE01O0FPTnqSnegjbhvvjE4mshY921Q='))).toString('base64'), VECTORS[1]![0]);
});

function isClamped(sk: Uint8Array): boolean {
  return (sk[0]! & 7) === 0 && (sk[31]! & 0x80) === 0 && (sk[31]! & 0x40) !== 0;
}

test('KeySearchCore: hits meet the target, are clamped, and take ~2^N tries', async () => {
  const sodium = await sodiumReady();
  const core = new KeySearchCore(sodium, 'test');
  try {
    // Never hits above 256: a full batch, no key.
    assert.deepEqual(core.batch(MAX_WORKBIT + 1), { tries: BATCH_TRIES });
    // Target 0: the first candidate.
    const r0 = core.batch(0);
    assert.equal(r0.tries, 1);
    assert.ok(r0.secret && r0.public && isClamped(r0.secret));
    // Target 4, 300 times: every hit is right, and the mean number of tries is near 16
    // (geometric with p = 1/16: standard error of the mean over 300 runs ≈ 0.9).
    let total = 0;
    for (let i = 0; i < 300; i++) {
      let tries = 0;
      for (;;) {
        const r = core.batch(4);
        tries += r.tries;
        if (r.secret && r.public) {
          assert.ok(isClamped(r.secret));
          assert.deepEqual(publicFromSecret(sodium, r.secret), r.public);
          assert.ok(refWorkbit(sodium, r.public, 'test') >= 4);
          break;
        }
      }
      total += tries;
    }
    const mean = total / 300;
    assert.ok(mean > 11 && mean < 22, `mean tries for workbit 4: ${mean}`);
  } finally {
    core.dispose();
  }
});

test('searchKey: inline and on worker threads, result checked independently', async () => {
  const sodium = await sodiumReady();
  const cases: Array<{ workbit: number; namespace: string; threads?: number; inline?: boolean }> = [
    { workbit: 0, namespace: '' },
    { workbit: 6, namespace: 'test' },
    { workbit: 8, namespace: 'ünï-net', inline: false, threads: 2 },
    { workbit: 10, namespace: 'wirehub', threads: 1 },
    { workbit: 11, namespace: '' },
  ];
  for (const c of cases) {
    const r = await searchKey(c);
    assert.ok(isClamped(r.secret));
    assert.deepEqual(publicFromSecret(sodium, r.secret), r.public);
    const w = refWorkbit(sodium, r.public, c.namespace);
    assert.ok(w >= c.workbit, `workbit ${w} >= ${c.workbit} (${JSON.stringify(c)})`);
    assert.ok(r.tries >= 1 && r.seconds >= 0, JSON.stringify({ tries: r.tries, seconds: r.seconds }));
  }
});

test('searchKey: progress reports and abort terminate the workers promptly', async () => {
  const reports: number[] = [];
  const ac = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ac.abort(new Error('stop!')), 700);
  await assert.rejects(
    searchKey({ workbit: 60, threads: 2, signal: ac.signal, progressMs: 100, onProgress: (p) => {
      assert.equal(p.expectedTries, 2 ** 60);
      assert.equal(p.threads, 2);
      reports.push(p.tries);
    } }),
    /stop!/,
  );
  assert.ok(performance.now() - t0 < 3000, 'aborted promptly');
  assert.ok(reports.length >= 3, `progress reports: ${reports.join(',')}`);
  assert.ok(reports.at(-1)! > 0, 'tries counted');
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i]! >= reports[i - 1]!);
  // Already aborted: rejects without searching.
  await assert.rejects(searchKey({ workbit: 60, signal: AbortSignal.abort(new Error('pre')) }), /pre/);
});

test('searchKey validates its arguments', async () => {
  for (const workbit of [-1, 257, 1.5, NaN, Infinity]) {
    await assert.rejects(searchKey({ workbit }), RangeError, `workbit ${workbit}`);
  }
  for (const threads of [0, -2, 1.5]) {
    await assert.rejects(searchKey({ workbit: 12, threads }), RangeError, `threads ${threads}`);
  }
  // generateSecret still works alongside (sanity: the module is not left in a broken state).
  assert.equal(generateSecret(await sodiumReady()).length, 32);
});

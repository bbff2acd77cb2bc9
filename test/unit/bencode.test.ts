// The fast canonical bencode (src/proto/bencode.ts) against the `bencode` package, which stays
// the definition: decode + re-encode to the same bytes accepts, anything else refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bencode from 'bencode';
import { decodeCanonical, encodeDict } from '../../src/proto/bencode.js';
import { encodeBody, type Message } from '../../src/proto/messages.js';

// The package's own decode moves back on a negative length and can loop for ever (`l-3:`, see the
// last test); the reference refuses those (no canonical body has one), and only while it runs.
type Decode = { buffer: () => unknown; position: number; data: Uint8Array };
const pkgDecode = bencode.decode as unknown as Decode;
const pkgBuffer = pkgDecode.buffer;
function guardedBuffer(): unknown {
  if (pkgDecode.data[pkgDecode.position] === 0x2d) throw new Error('negative length');
  return pkgBuffer();
}

function reference(b: Uint8Array): unknown {
  pkgDecode.buffer = guardedBuffer;
  try {
    const v: unknown = bencode.decode(b);
    if (v === null) return undefined;
    return Buffer.from(bencode.encode(v)).equals(Buffer.from(b)) ? v : undefined;
  } catch {
    return undefined;
  } finally {
    pkgDecode.buffer = pkgBuffer;
  }
}

/** The spec's further rules (PROTOCOL.md section 7.1) on a value the package accepted: ASCII
 *  keys other than __proto__, integers within +-2^53, at most 16 levels of nesting. */
function specOk(v: unknown, depth = 0): boolean {
  if (typeof v === 'number') return Math.abs(v) <= 2 ** 53;
  if (v instanceof Uint8Array) return true;
  if (depth >= 16) return false;
  if (Array.isArray(v)) return v.every((x) => specOk(x, depth + 1));
  return Object.entries(v as object).every(([k, x]) => /^[\x00-\x7f]*$/.test(k) && k !== '__proto__' && specOk(x, depth + 1));
}

/** What decodeCanonical must answer for bytes the package can be asked about. */
function expected(b: Uint8Array): unknown {
  const v = reference(b);
  return v !== undefined && specOk(v) ? v : undefined;
}

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' },
    fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(0, -1, 2 ** 52, -(2 ** 52), 2 ** 53 + 2, 1e16),
    fc.uint8Array({ maxLength: 40 }), fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 't', 'v', 'x', 'é', '__proto__', '1', '10', ''), fc.string({ maxLength: 4 })), tie('v'), { maxKeys: 5 })),
})).v;

// Bytes that are mostly bencode: valid encodings, then some bytes flipped, cut or added.
const almost = fc.tuple(value, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'add', 'none')), { maxLength: 3 }))
  .map(([v, edits]) => {
    let b: number[] = Array.from(bencode.encode(v as object));
    for (const [at, byte, how] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (how === 'set' && b.length > 0) b[i] = [0x64, 0x65, 0x69, 0x6c, 0x3a, 0x30, 0x2d, byte][byte % 8]!;
      else if (how === 'cut') b = b.slice(0, i);
      else if (how === 'add') b.splice(i, 0, byte);
    }
    return new Uint8Array(b);
  });

test('decoding accepts exactly the bodies of section 7.1: what the package accepts within the spec rules, with the same value', () => {
  fc.assert(fc.property(almost, (b) => {
    const ours = decodeCanonical(b);
    // Whatever is accepted is canonical: the package's encode gives back the same bytes.
    if (ours !== undefined) assert.deepEqual(Buffer.from(bencode.encode(ours as object)), Buffer.from(b));
    assert.deepEqual(ours, expected(b));
  }), { numRuns: 20000 });
  for (const s of ['', 'de', 'd1:ai1ee', 'd1:bi1e1:ai2ee', 'd1:ai1e1:ai2ee', 'i-0e', 'i03e', '01:a', 'l', 'd1:a', 'i9007199254740993e', 'd9:__proto__de1:ai1ee']) {
    const b = new TextEncoder().encode(s);
    assert.deepEqual(decodeCanonical(b), expected(b), JSON.stringify(s));
  }
});

test('encoding a flat dictionary gives the package\'s bytes', () => {
  const flat = fc.dictionary(fc.oneof(fc.constantFrom('a', 'p', 't', 'v', 'x', 'é'), fc.string({ maxLength: 3 })),
    fc.oneof(fc.integer(), fc.uint8Array({ maxLength: 30 }), fc.string({ maxLength: 8 }), fc.constant(undefined)), { maxKeys: 6 });
  fc.assert(fc.property(flat, (d) => {
    assert.deepEqual(Buffer.from(encodeDict(d)), Buffer.from(bencode.encode(d)));
  }), { numRuns: 5000 });
});

test('padded bodies are those the package\'s encode made, for every pad size', () => {
  // The former encodeBody: encode, then try pad lengths downwards until the body fits.
  const old = (d: Record<string, unknown>, padTo: number): Uint8Array => {
    const plain = bencode.encode(d);
    if (plain.length >= padTo) return plain;
    for (let n = padTo - plain.length - 4; n >= 0; n--) {
      const padded = bencode.encode({ ...d, p: new Uint8Array(n) });
      if (padded.length <= padTo) return padded;
    }
    return plain;
  };
  const x = new Uint8Array(8).fill(3), k = new Uint8Array(32).fill(4);
  const msgs: [Message, Record<string, unknown>][] = [
    [{ t: 'ping', x }, { v: 1, t: 'ping', x }],
    [{ t: 'find', x, k }, { v: 1, t: 'find', x, k }],
    [{ t: 'relay-ok', x, l: 30, p: 4000 }, { v: 1, t: 'relay-ok', x, l: 30, p: 4000 }],
  ];
  for (const [m, d] of msgs) {
    for (let padTo = 0; padTo < 1300; padTo++) assert.deepEqual(Buffer.from(encodeBody(m, padTo)), Buffer.from(old(d, padTo)), `${m.t} to ${padTo}`);
  }
});

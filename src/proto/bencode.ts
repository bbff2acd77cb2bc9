// Canonical bencode for message bodies (docs/PROTOCOL.md section 7.1), read in one pass:
//
// - decodeCanonical() accepts exactly the bodies of the spec: dictionaries with ASCII keys in
//   strictly increasing byte order (never `__proto__`), byte strings and integers in their only
//   canonical form (integers within +-2^53), lists, at most MAX_DEPTH deep, and nothing after the
//   end. Everything else is refused here. It does not fall back to the `bencode` package: given
//   a negative string length ("l-3:e") the package's decode moves its position backwards and
//   loops until the heap is exhausted, so a 5-byte body sealed by any DHT member crashed a node
//   (test/unit/hostilebody.test.ts). For every body it accepts, the package's encode gives back
//   the same bytes (test/unit/bencode.test.ts).
// - encodeDict() writes a flat dictionary (the form of every body) in one buffer, byte for byte
//   as the package's encode does; other values are left to the package (its encoder is safe).
import bencode from 'bencode';

const D = 0x64, L = 0x6c, I = 0x69, E = 0x65, COLON = 0x3a, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39;
const MAX_DEPTH = 16;
const MAX_INT_DIGITS = 16; // 2^53 has 16 digits; longer integers are out of the spec's range
const MAX_LEN_DIGITS = 7;
const VIEW_ABOVE = 64;

/** Not a body of the spec: refused. */
const REFUSED = Symbol('refused');
type Value = number | Uint8Array | Value[] | { [k: string]: Value };

/** The decoded value when `b` is canonical bencode, undefined when it is not (or is empty). */
export function decodeCanonical(b: Uint8Array): unknown {
  const r = new Reader(b);
  const v = r.value(0);
  return v !== REFUSED && r.pos === b.length ? v : undefined;
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  value(depth: number): Value | typeof REFUSED {
    const c = this.b[this.pos];
    if (c === D) return depth < MAX_DEPTH ? this.dict(depth) : REFUSED;
    if (c === L) return depth < MAX_DEPTH ? this.list(depth) : REFUSED;
    if (c === I) return this.int();
    return this.bytes();
  }

  private dict(depth: number): Value | typeof REFUSED {
    const b = this.b;
    this.pos++;
    const out: { [k: string]: Value } = {};
    let prev: string | undefined;
    while (b[this.pos] !== E) {
      if (this.pos >= b.length) return REFUSED;
      const len = this.length();
      if (len === undefined || this.pos + len > b.length) return REFUSED;
      let key = '';
      for (let i = this.pos; i < this.pos + len; i++) {
        const ch = b[i]!;
        if (ch > 0x7f) return REFUSED; // field names are ASCII (section 7.1)
        key += String.fromCharCode(ch);
      }
      this.pos += len;
      if ((prev !== undefined && prev >= key) || key === '__proto__') return REFUSED; // keys strictly increase

      prev = key;
      const v = this.value(depth + 1);
      if (v === REFUSED) return REFUSED;
      out[key] = v;
    }
    this.pos++;
    return out;
  }

  private list(depth: number): Value | typeof REFUSED {
    const b = this.b;
    this.pos++;
    const out: Value[] = [];
    while (b[this.pos] !== E) {
      if (this.pos >= b.length) return REFUSED;
      const v = this.value(depth + 1);
      if (v === REFUSED) return REFUSED;
      out.push(v);
    }
    this.pos++;
    return out;
  }

  private int(): Value | typeof REFUSED {
    const b = this.b;
    let i = this.pos + 1;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) n = n * 10 + (b[i++]! - ZERO);
    const digits = i - first;
    if (b[i] !== E || digits === 0 || digits > MAX_INT_DIGITS) return REFUSED;
    if (b[first] === ZERO && (digits > 1 || negative)) return REFUSED; // leading zero, "-0"
    // Up to 15 digits the sum is exact; 16 digits must be at most 2^53 and exact as written.
    if (digits === MAX_INT_DIGITS && (n > 2 ** 53 || String(n) !== Buffer.from(b.subarray(first, i)).toString('latin1'))) return REFUSED;
    this.pos = i + 1;
    return negative ? -n : n;
  }

  private bytes(): Value | typeof REFUSED {
    const len = this.length();
    if (len === undefined || this.pos + len > this.b.length) return REFUSED;
    // Long strings (a `p` pad, `n` records: read and dropped) are views of the body, not copies.
    const out = len > VIEW_ABOVE ? this.b.subarray(this.pos, this.pos + len) : this.b.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** A canonical length and its colon; undefined when not one. */
  private length(): number | undefined {
    const b = this.b;
    let i = this.pos, n = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) n = n * 10 + (b[i++]! - ZERO);
    const digits = i - this.pos;
    if (b[i] !== COLON || digits === 0 || digits > MAX_LEN_DIGITS || (b[this.pos] === ZERO && digits > 1)) return undefined;
    this.pos = i + 1;
    return n;
  }
}

/** Digits of a non-negative integer in decimal. */
function digits(n: number): number {
  let c = 1;
  while (n >= 10) { n = Math.floor(n / 10); c++; }
  return c;
}

/** Writes a non-negative integer in decimal at `o`; returns the position after it. */
function writeUint(out: Uint8Array, o: number, n: number): number {
  const end = o + digits(n);
  for (let i = end - 1; i >= o; i--) { out[i] = ZERO + (n % 10); n = Math.floor(n / 10); }
  return end;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function isKey(k: string): boolean {
  if (k.length === 0) return false;
  for (let i = 0; i < k.length; i++) { const c = k.charCodeAt(i); if (c < 0x21 || c > 0x7e) return false; }
  return true;
}

/** The keys of `d` in byte order: insertion sort (a body has a handful of keys; Array sort
 *  allocated its work arrays on each of the millions of calls of a simulated network). */
function sortedKeys(d: Record<string, unknown>): string[] {
  const keys = Object.keys(d);
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) { keys[j + 1] = keys[j]!; j--; }
    keys[j + 1] = k;
  }
  return keys;
}

/** Size of encodeDict(d) without encoding it; -1 when encodeDict would leave it to the package. */
export function dictSize(d: Record<string, unknown>, keys: readonly string[] = Object.keys(d)): number {
  let size = 2;
  for (const k of keys) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    let len: number;
    if (v instanceof Uint8Array) len = digits(v.length) + 1 + v.length;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) len = (v < 0 ? 1 + digits(-v) : digits(v)) + 2;
    else if (typeof v === 'string') { const n = isAscii(v) ? v.length : Buffer.byteLength(v, 'utf8'); len = digits(n) + 1 + n; }
    else return -1;
    if (!isKey(k)) return -1;
    size += digits(k.length) + 1 + k.length + len;
  }
  return size;
}

/** Bencodes a flat dictionary of integers, strings and byte strings (undefined and null values
 *  are left out, as the package does); any other value is encoded by the package. Written in
 *  one pass into one buffer (no per-field strings or parts). */
export function encodeDict(d: Record<string, unknown>): Uint8Array {
  const keys = sortedKeys(d);
  const size = dictSize(d, keys);
  if (size < 0) return bencode.encode(d);
  const out = new Uint8Array(size);
  out[0] = D;
  let o = 1;
  for (const k of keys) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    o = writeUint(out, o, k.length);
    out[o++] = COLON;
    for (let i = 0; i < k.length; i++) out[o++] = k.charCodeAt(i);
    if (v instanceof Uint8Array) {
      o = writeUint(out, o, v.length);
      out[o++] = COLON;
      out.set(v, o);
      o += v.length;
    } else if (typeof v === 'number') {
      out[o++] = I;
      if (v < 0) { out[o++] = MINUS; o = writeUint(out, o, -v); } else o = writeUint(out, o, v);
      out[o++] = E;
    } else {
      const s = v as string;
      if (isAscii(s)) {
        o = writeUint(out, o, s.length);
        out[o++] = COLON;
        for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
      } else {
        const b = Buffer.from(s, 'utf8');
        o = writeUint(out, o, b.length);
        out[o++] = COLON;
        out.set(b, o);
        o += b.length;
      }
    }
  }
  out[o] = E;
  return out;
}

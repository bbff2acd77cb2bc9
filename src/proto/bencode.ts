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

const encoder = new TextEncoder();

/** Bencodes a flat dictionary of integers, strings and byte strings (undefined and null values
 *  are left out, as the package does); any other value is encoded by the package. */
export function encodeDict(d: Record<string, unknown>): Uint8Array {
  const keys = Object.keys(d).sort();
  const parts: (Uint8Array | string)[] = [];
  let size = 2;
  for (const k of keys) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    let part: Uint8Array | string;
    if (v instanceof Uint8Array) part = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) part = `i${v}e`;
    else if (typeof v === 'string') part = encoder.encode(v);
    else return bencode.encode(d);
    if (!/^[\x21-\x7e]+$/.test(k)) return bencode.encode(d);
    parts.push(k, part);
    size += `${k.length}:`.length + k.length + (typeof part === 'string' ? part.length : `${part.length}:`.length + part.length);
  }
  const out = new Uint8Array(size);
  out[0] = D;
  let o = 1;
  const ascii = (s: string): void => {
    for (let i = 0; i < s.length; i++) out[o++] = s.charCodeAt(i);
  };
  for (let i = 0; i < parts.length; i += 2) {
    const k = parts[i] as string, v = parts[i + 1]!;
    ascii(`${k.length}:`);
    ascii(k);
    if (typeof v === 'string') ascii(v);
    else {
      ascii(`${v.length}:`);
      out.set(v, o);
      o += v.length;
    }
  }
  out[o] = E;
  return out;
}

// Canonical bencode for message bodies, fast. Every DHT datagram is a bencoded dictionary, and
// the `bencode` package's decode + the re-encode that proves a body canonical (messages.ts) were
// a quarter of a simulated node's CPU (bench/dht.ts). So:
//
// - decodeCanonical() parses in one pass the bodies it can vouch for: dictionaries with printable
//   ASCII keys in strictly increasing order, byte strings and integers (at most 15 digits) in
//   their only canonical form, lists, at most MAX_DEPTH deep, and nothing after the end. For these
//   the package's decode gives the same value and its encode gives back the same bytes, so the
//   answer is the same. Anything else (unusual or malformed) is left to the package's decode and
//   the re-encode check, which stay the one definition of what is accepted.
// - encodeDict() writes a flat dictionary (the form of every body) in one buffer, byte for byte
//   as the package's encode does; other values are left to the package.
import bencode from 'bencode';

const D = 0x64, L = 0x6c, I = 0x69, E = 0x65, COLON = 0x3a, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39;
const MAX_DEPTH = 16;
const MAX_INT_DIGITS = 15; // below 2^53: the number is exact and prints back as written
const MAX_LEN_DIGITS = 7;
const VIEW_ABOVE = 64;

/** Not vouched for: let the package decide. */
const UNSURE = Symbol('unsure');
type Value = number | Uint8Array | Value[] | { [k: string]: Value };

/** The decoded value when `b` is canonical bencode, undefined when it is not (or is empty). */
export function decodeCanonical(b: Uint8Array): unknown {
  const r = new Reader(b);
  const v = r.value(0);
  if (v !== UNSURE && r.pos === b.length) return v;
  return decodeByPackage(b);
}

function decodeByPackage(b: Uint8Array): unknown {
  if (!wellFormed(b)) return undefined;
  try {
    const value: unknown = bencode.decode(b);
    if (value === null) return undefined;
    const again = bencode.encode(value);
    return again.length === b.length && Buffer.from(again.buffer, again.byteOffset, again.length).equals(b) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `b` is one bencoded value whose every length and integer is written canonically
 * and ends within `b`: the tokens only, iteratively (no recursion, so any nesting). The package
 * must never see anything else: it reads a length of "-3" as -3 and moves back (`l-3:` loops
 * for ever), and nothing that fails here can re-encode to the same bytes anyway.
 */
function wellFormed(b: Uint8Array): boolean {
  let i = 0, open = 0;
  do {
    const c = b[i];
    if (c === D || c === L) open++;
    else if (c === E) {
      if (open === 0) return false;
      open--;
    }
    if (c === D || c === L || c === E) {
      i++;
      continue;
    }
    const int = c === I;
    if (int) i++;
    const negative = int && b[i] === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) n = n * 10 + (b[i++]! - ZERO);
    const digits = i - first;
    if (digits === 0 || (b[first] === ZERO && (digits > 1 || negative))) return false;
    if (b[i++] !== (int ? E : COLON)) return false;
    if (!int) {
      if (digits > MAX_LEN_DIGITS || i + n > b.length) return false;
      i += n;
    }
  } while (open > 0 && i < b.length);
  return open === 0 && i === b.length;
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  value(depth: number): Value | typeof UNSURE {
    const c = this.b[this.pos];
    if (c === D) return depth < MAX_DEPTH ? this.dict(depth) : UNSURE;
    if (c === L) return depth < MAX_DEPTH ? this.list(depth) : UNSURE;
    if (c === I) return this.int();
    return this.bytes();
  }

  private dict(depth: number): Value | typeof UNSURE {
    const b = this.b;
    this.pos++;
    const out: { [k: string]: Value } = {};
    let prev: string | undefined;
    while (b[this.pos] !== E) {
      if (this.pos >= b.length) return UNSURE;
      const len = this.length();
      if (len === undefined || len === 0 || this.pos + len > b.length) return UNSURE;
      let key = '';
      for (let i = this.pos; i < this.pos + len; i++) {
        const ch = b[i]!;
        if (ch < 0x21 || ch > 0x7e) return UNSURE;
        key += String.fromCharCode(ch);
      }
      this.pos += len;
      if ((prev !== undefined && prev >= key) || key === '__proto__') return UNSURE; // keys strictly increase

      prev = key;
      const v = this.value(depth + 1);
      if (v === UNSURE) return UNSURE;
      out[key] = v;
    }
    this.pos++;
    return out;
  }

  private list(depth: number): Value | typeof UNSURE {
    const b = this.b;
    this.pos++;
    const out: Value[] = [];
    while (b[this.pos] !== E) {
      if (this.pos >= b.length) return UNSURE;
      const v = this.value(depth + 1);
      if (v === UNSURE) return UNSURE;
      out.push(v);
    }
    this.pos++;
    return out;
  }

  private int(): Value | typeof UNSURE {
    const b = this.b;
    let i = this.pos + 1;
    const negative = b[i] === MINUS;
    if (negative) i++;
    const first = i;
    let n = 0;
    while (i < b.length && b[i]! >= ZERO && b[i]! <= NINE) n = n * 10 + (b[i++]! - ZERO);
    const digits = i - first;
    if (b[i] !== E || digits === 0 || digits > MAX_INT_DIGITS) return UNSURE;
    if (b[first] === ZERO && (digits > 1 || negative)) return UNSURE; // leading zero, "-0"
    this.pos = i + 1;
    return negative ? -n : n;
  }

  private bytes(): Value | typeof UNSURE {
    const len = this.length();
    if (len === undefined || this.pos + len > this.b.length) return UNSURE;
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

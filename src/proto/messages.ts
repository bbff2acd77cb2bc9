// Message bodies (docs/PROTOCOL.md, "Messages"): canonical bencoded dictionaries inside a sealed
// packet. Every body has `v` (body version, 1) and `t` (type name); requests and their answers
// carry `x`, an 8-byte transaction id chosen by the requester. Unknown fields are ignored;
// unknown types, wrong field types and sizes out of bounds are rejected with a reason.
// decodeBody() never throws.
import bencode from 'bencode';
import { decodeCanonical, dictSize, encodeDict } from './bencode.js';
import { decodeCompactAddr, encodeCompactAddr, writeCompactAddr, type Addr } from './addr.js';
import { ALIAS_CHUNK, ALIAS_MAX_PARTS } from '../params.js';

export const BODY_VERSION = 1;
export const TXID_BYTES = 8;
export const KEY_BYTES = 32;
/** Largest relayed payload per message (a WireGuard packet or a fragment of one). */
export const MAX_RELAY_DATA = 1280;
export const MAX_ERROR_TEXT = 128;
export const MAX_FRAGMENTS = 4;
/** Largest sealed introduction (`i` of punch-req and punch-notify): a sealed frame (68 bytes of
 *  header and tag) around an `intro` body (56 bytes, 67 with an IPv4 `a`, 80 with IPv6). */
export const MAX_INTRO = 200;

/** A node as a `nodes` answer describes it. */
export interface NodeRecord {
  key: Uint8Array;
  addr: Addr;
  /** Declared directly reachable (public address or port mapping); verify before trusting. */
  direct: boolean;
  /** A relay through which the node can be reached, when it is behind a NAT. */
  relay?: Uint8Array;
}

export type Message =
  | { t: 'ping'; x: Uint8Array }
  | { t: 'pong'; x: Uint8Array; a: Addr; f: number }
  | { t: 'find'; x: Uint8Array; k: Uint8Array }
  | { t: 'nodes'; x: Uint8Array; n: NodeRecord[] }
  | { t: 'punch-req'; x: Uint8Array; k: Uint8Array; a?: Addr; i?: Uint8Array }
  | { t: 'punch-ok'; x: Uint8Array; a: Addr; e?: Addr }
  | { t: 'punch-notify'; x: Uint8Array; k: Uint8Array; a: Addr; i?: Uint8Array }
  | { t: 'punch'; x: Uint8Array }
  | { t: 'punch-ack'; x: Uint8Array; a: Addr }
  | { t: 'relay-open'; x: Uint8Array; k: Uint8Array }
  | { t: 'relay-ok'; x: Uint8Array; l: number; p?: number }
  | { t: 'relay-bind'; x: Uint8Array; k: Uint8Array }
  | { t: 'relay-close'; x: Uint8Array; k: Uint8Array }
  | { t: 'reach'; x: Uint8Array; k: Uint8Array; a: Addr }
  | { t: 'reach-ok'; x: Uint8Array; r: number }
  | { t: 'relay-bound'; x: Uint8Array; a: Addr; r: number }
  | { t: 'relay'; k: Uint8Array; d: Uint8Array; g?: number; i?: number; c?: number }
  | { t: 'relayed'; k: Uint8Array; d: Uint8Array; g?: number; i?: number; c?: number }
  | { t: 'alias'; x: Uint8Array; k: Uint8Array; m: Uint8Array; i?: number }
  | { t: 'alias-ok'; x: Uint8Array; c: number; i: number; d: Uint8Array }
  | { t: 'ack'; x: Uint8Array }
  | { t: 'error'; x: Uint8Array; c: number; m?: string };

export type MessageType = Message['t'];
export type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;

/** Pong flags (`f`). */
export const PONG_DIRECT = 1; // the responder believes it is directly reachable

/** Error codes (`c` of `error`). */
export const ERR_REFUSED = 1;   // not allowed (e.g. relay for a key that did not ask)
export const ERR_UNKNOWN = 2;   // target key unknown to the responder
export const ERR_BUSY = 3;      // rate or capacity limit reached

export type BodyReject = 'bencode' | 'body' | 'body-version' | 'unknown-type';
export type DecodeResult = { ok: true; msg: Message } | { ok: false; reason: BodyReject };

// ---- node records: flags(1) key(32) addr(6|18) [relay(32)] -----------------------------------
const REC_IPV6 = 1, REC_DIRECT = 2, REC_RELAY = 4;

export function recordSize(r: NodeRecord): number {
  return 1 + KEY_BYTES + (r.addr.host.includes(':') ? 18 : 6) + (r.relay ? KEY_BYTES : 0);
}

export function encodeRecords(records: readonly NodeRecord[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + recordSize(r), 0));
  let o = 0;
  for (const r of records) {
    const flags = o++;
    out.set(r.key, o); o += KEY_BYTES;
    const alen = writeCompactAddr(r.addr, out, o); o += alen;
    out[flags] = (alen === 18 ? REC_IPV6 : 0) | (r.direct ? REC_DIRECT : 0) | (r.relay ? REC_RELAY : 0);
    if (r.relay) { out.set(r.relay, o); o += KEY_BYTES; }
  }
  return out;
}

/** Undefined when the byte string is not an exact sequence of valid records. */
export function decodeRecords(b: Uint8Array): NodeRecord[] | undefined {
  const out: NodeRecord[] = [];
  // One copy of the records, the keys views into it: one ArrayBuffer per answer, not one per key.
  b = b.slice();
  let o = 0;
  while (o < b.length) {
    const flags = b[o++]!;
    const alen = flags & REC_IPV6 ? 18 : 6;
    const need = KEY_BYTES + alen + (flags & REC_RELAY ? KEY_BYTES : 0);
    if (o + need > b.length) return undefined;
    const key = b.subarray(o, o + KEY_BYTES); o += KEY_BYTES;
    const addr = decodeCompactAddr(b.subarray(o, o + alen)); o += alen;
    if (addr === undefined) return undefined;
    const rec: NodeRecord = { key, addr, direct: (flags & REC_DIRECT) !== 0 };
    if (flags & REC_RELAY) { rec.relay = b.slice(o, o + KEY_BYTES); o += KEY_BYTES; }
    out.push(rec);
  }
  return out;
}

// ---- encoding -------------------------------------------------------------------------------------
/** Bencodes a message; `pad` adds a `p` field of zero bytes so the body reaches `padTo` bytes. */
export function encodeBody(msg: Message, padTo = 0): Uint8Array {
  const d: Record<string, unknown> = { v: BODY_VERSION, t: msg.t };
  for (const k of Object.keys(msg)) {
    const val = (msg as Record<string, unknown>)[k];
    if (k === 't' || val === undefined) continue;
    if (k === 'n' && msg.t === 'nodes') d.n = encodeRecords(msg.n);
    else if ((k === 'a' || k === 'e') && typeof val === 'object' && !(val instanceof Uint8Array)) d[k] = encodeCompactAddr(val as Addr);
    else d[k] = val;
  }
  // Sizes first, so that a padded body is encoded once.
  const sizeOf = (x: Record<string, unknown>): number => { const n = dictSize(x); return n >= 0 ? n : encodeDict(x).length; };
  const plain = padTo > 0 ? sizeOf(d) : 0;
  if (plain >= padTo) return encodeDict(d);
  // "1:p" + "<len>:" + bytes; the largest pad length that keeps the body within padTo bytes
  // (exactly padTo, but where the length's digits jump).
  const base = d.p === undefined ? plain : sizeOf({ ...d, p: undefined }); // the pad replaces any `p`
  for (let n = padTo - plain - 4; n >= 0; n--) {
    if (base + 3 + String(n).length + 1 + n <= padTo) {
      d.p = new Uint8Array(n);
      return encodeDict(d);
    }
  }
  return encodeDict(d);
}

// ---- decoding ---------------------------------------------------------------------------------------
type Dict = Record<string, unknown>;

const isBytes = (v: unknown, len?: number): v is Uint8Array =>
  v instanceof Uint8Array && (len === undefined || v.length === len);
const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

class Invalid extends Error {}
const need = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Invalid();
  return v;
};
const bytes = (d: Dict, k: string, len?: number): Uint8Array => {
  const v = d[k];
  if (!isBytes(v, len)) throw new Invalid();
  return v;
};
const optBytes = (d: Dict, k: string, max: number): Uint8Array | undefined => {
  const v = d[k];
  if (v === undefined) return undefined;
  if (!isBytes(v) || v.length > max) throw new Invalid();
  return v;
};
const int = (d: Dict, k: string, min: number, max: number): number => {
  const v = d[k];
  if (!isInt(v, min, max)) throw new Invalid();
  return v;
};
const optInt = (d: Dict, k: string, min: number, max: number): number | undefined =>
  d[k] === undefined ? undefined : int(d, k, min, max);
const addr = (d: Dict, k: string): Addr => need(decodeCompactAddr(bytes(d, k)));
const optAddr = (d: Dict, k: string): Addr | undefined => (d[k] === undefined ? undefined : addr(d, k));
const txid = (d: Dict): Uint8Array => bytes(d, 'x', TXID_BYTES);
const key = (d: Dict, k = 'k'): Uint8Array => bytes(d, k, KEY_BYTES);

function fragments(d: Dict): { g?: number; i?: number; c?: number } {
  const g = optInt(d, 'g', 0, 0xffffffff), i = optInt(d, 'i', 0, MAX_FRAGMENTS - 1), c = optInt(d, 'c', 1, MAX_FRAGMENTS);
  const present = [g, i, c].filter((v) => v !== undefined).length;
  if (present !== 0 && present !== 3) throw new Invalid();
  if (i !== undefined && c !== undefined && i >= c) throw new Invalid();
  return present === 0 ? {} : { g: g!, i: i!, c: c! };
}

/** The one typed parse switch: a dictionary in, a typed message out (or Invalid thrown). */
function parseFields(t: string, d: Dict): Message | undefined {
  switch (t) {
    case 'ping': return { t, x: txid(d) };
    case 'pong': return { t, x: txid(d), a: addr(d, 'a'), f: optInt(d, 'f', 0, 0xff) ?? 0 };
    case 'find': return { t, x: txid(d), k: key(d) };
    case 'nodes': return { t, x: txid(d), n: need(decodeRecords(bytes(d, 'n'))) };
    case 'punch-req': { const a = optAddr(d, 'a'), i = optBytes(d, 'i', MAX_INTRO); return { t, x: txid(d), k: key(d), ...(a ? { a } : {}), ...(i ? { i } : {}) }; }
    case 'punch-ok': { const e = optAddr(d, 'e'); return { t, x: txid(d), a: addr(d, 'a'), ...(e ? { e } : {}) }; }
    case 'punch-notify': { const i = optBytes(d, 'i', MAX_INTRO); return { t, x: txid(d), k: key(d), a: addr(d, 'a'), ...(i ? { i } : {}) }; }
    case 'punch': return { t, x: txid(d) };
    case 'punch-ack': return { t, x: txid(d), a: addr(d, 'a') };
    case 'relay-open': return { t, x: txid(d), k: key(d) };
    case 'relay-ok': { const p = optInt(d, 'p', 1, 65535); return { t, x: txid(d), l: int(d, 'l', 1, 86400), ...(p !== undefined ? { p } : {}) }; }
    case 'relay-bind': return { t, x: txid(d), k: key(d) };
    case 'relay-close': return { t, x: txid(d), k: key(d) };
    case 'reach': return { t, x: txid(d), k: key(d), a: addr(d, 'a') };
    case 'reach-ok': return { t, x: txid(d), r: int(d, 'r', 0, 1) };
    case 'relay-bound': return { t, x: txid(d), a: addr(d, 'a'), r: int(d, 'r', 0, 1) };
    case 'relay':
    case 'relayed': {
      const data = bytes(d, 'd');
      if (data.length === 0 || data.length > MAX_RELAY_DATA) throw new Invalid();
      return { t, k: key(d), d: data, ...fragments(d) };
    }
    case 'alias': { const i = optInt(d, 'i', 0, ALIAS_MAX_PARTS - 1); return { t, x: txid(d), k: key(d), m: bytes(d, 'm', 32), ...(i !== undefined ? { i } : {}) }; }
    case 'alias-ok': {
      const c = int(d, 'c', 1, ALIAS_MAX_PARTS), i = int(d, 'i', 0, ALIAS_MAX_PARTS - 1), data = bytes(d, 'd');
      if (i >= c || data.length === 0 || data.length > ALIAS_CHUNK) throw new Invalid();
      return { t, x: txid(d), c, i, d: data };
    }
    case 'ack': return { t, x: txid(d) };
    case 'error': {
      const m = optBytes(d, 'm', MAX_ERROR_TEXT);
      return { t, x: txid(d), c: int(d, 'c', 0, 0xffff), ...(m ? { m: Buffer.from(m).toString('utf8') } : {}) };
    }
    default: return undefined;
  }
}

/** A canonical bencoded dictionary with a valid `v` and `t`, or why not. */
function decodeDict(body: Uint8Array): Dict | BodyReject {
  // Canonical form only: re-encoding must give the same bytes back. This rejects trailing
  // data, unsorted or duplicate keys, non-canonical integers and anything bencode tolerates.
  const value = decodeCanonical(body);
  if (value === undefined) return 'bencode';
  if (typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || Object.getPrototypeOf(value) !== Object.prototype) {
    return 'body';
  }
  const d = value as Dict;
  if (!isInt(d.v, 1, 0xffff) || !isBytes(d.t) || d.t.length > 32) return 'body';
  if (d.v !== BODY_VERSION) return 'body-version';
  return d;
}

export function decodeBody(body: Uint8Array): DecodeResult {
  const d = decodeDict(body);
  if (typeof d === 'string') return { ok: false, reason: d };
  try {
    const msg = parseFields(Buffer.from(d.t as Uint8Array).toString('latin1'), d);
    return msg === undefined ? { ok: false, reason: 'unknown-type' } : { ok: true, msg };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: 'body' };
    return { ok: false, reason: 'body' };
  }
}

// ---- introductions: the body sealed inside punch-req/punch-notify `i` ----------------------------
// Not a message: it travels only as the sealed frame in `i` (an initiator seals it to the
// target's key), so a target can check that the initiator itself asked, through which
// rendezvous, and with which address of its own. Sent on its own, it decodes as 'unknown-type'.
export interface Intro {
  /** The rendezvous the initiator asked (the intro is good through this node only). */
  r: Uint8Array;
  /** The initiator's own address to probe (its port mapping), when it holds one. */
  a?: Addr;
}

export function encodeIntro(intro: Intro): Uint8Array {
  return bencode.encode({ v: BODY_VERSION, t: 'intro', r: intro.r, ...(intro.a ? { a: encodeCompactAddr(intro.a) } : {}) });
}

/** Never throws. */
export function decodeIntro(body: Uint8Array): { ok: true; intro: Intro } | { ok: false; reason: BodyReject } {
  const d = decodeDict(body);
  if (typeof d === 'string') return { ok: false, reason: d };
  if (Buffer.from(d.t as Uint8Array).toString('latin1') !== 'intro') return { ok: false, reason: 'unknown-type' };
  try {
    const a = optAddr(d, 'a');
    return { ok: true, intro: { r: key(d, 'r'), ...(a ? { a } : {}) } };
  } catch {
    return { ok: false, reason: 'body' };
  }
}

export function isRequest(t: MessageType): boolean {
  return t === 'ping' || t === 'find' || t === 'punch-req' || t === 'punch-notify' || t === 'punch' || t === 'relay-open' || t === 'relay-bind' || t === 'relay-close' || t === 'reach' || t === 'alias';
}

export function isResponse(t: MessageType): boolean {
  return t === 'pong' || t === 'nodes' || t === 'punch-ok' || t === 'punch-ack' || t === 'relay-ok' || t === 'relay-bound' || t === 'reach-ok' || t === 'alias-ok' || t === 'ack' || t === 'error';
}

// ---- relay data: the binary body of frame kind 2 -------------------------------------------------
// `relay` and `relayed` carry WireGuard datagrams, many thousands per second through a relay, so
// they skip bencode (measured: encode + decode of a 726-byte fragment cost 30 µs of the 48 µs a
// relay spent per fragment). Byte by byte:
//   0   1   type: 1 = relay (to the relay: forward to `key`), 2 = relayed (from the relay: `key` sent it)
//   1   32  key
//   33  4   packet id g, unsigned big-endian (fragments of one datagram share it)
//   37  1   fragment index i (0 .. c-1)
//   38  1   fragment count c (1 .. MAX_FRAGMENTS; 1 = a whole datagram)
//   39  n   data, 1 .. MAX_RELAY_DATA bytes
export const RELAY_HEADER_BYTES = 39;
const RELAY_TYPE = 1, RELAYED_TYPE = 2;

export type RelayMessage = Extract<Message, { t: 'relay' | 'relayed' }>;

export function isRelayMessage(m: Message): m is RelayMessage {
  return m.t === 'relay' || m.t === 'relayed';
}

export function encodeRelayBody(m: RelayMessage): Uint8Array {
  const out = new Uint8Array(RELAY_HEADER_BYTES + m.d.length);
  out[0] = m.t === 'relay' ? RELAY_TYPE : RELAYED_TYPE;
  out.set(m.k, 1);
  new DataView(out.buffer).setUint32(33, m.g ?? 0);
  out[37] = m.i ?? 0;
  out[38] = m.c ?? 1;
  out.set(m.d, RELAY_HEADER_BYTES);
  return out;
}

/** Never throws. A whole datagram (c = 1) decodes without g/i/c, as from a bencoded body. */
export function decodeRelayBody(b: Uint8Array): DecodeResult {
  if (b.length <= RELAY_HEADER_BYTES || b.length > RELAY_HEADER_BYTES + MAX_RELAY_DATA) return { ok: false, reason: 'body' };
  const type = b[0], i = b[37]!, c = b[38]!;
  if ((type !== RELAY_TYPE && type !== RELAYED_TYPE) || c < 1 || c > MAX_FRAGMENTS || i >= c) return { ok: false, reason: 'body' };
  const t = type === RELAY_TYPE ? 'relay' : 'relayed';
  const k = b.slice(1, 33), d = b.subarray(RELAY_HEADER_BYTES);
  if (c === 1) return { ok: true, msg: { t, k, d } };
  return { ok: true, msg: { t, k, d, g: new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(33), i, c } };
}

// The WebSocket transport's messages (docs/PROTOCOL.md section 12, src/proto/wsframe.ts) against
// test/vectors/ws.json: the encodings, and every malformed message dropped with its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeWsFrame, encodeWsFrame, WS_DATAGRAM, WS_FROM, WS_TO } from '../../src/proto/wsframe.js';
import { MAX_PACKET, WS_MAX_MESSAGE } from '../../src/params.js';

interface Vectors {
  datagram: string; datagram_message: string; key_a: string; key_b: string; wg_datagram: string;
  to_message: string; from_message: string;
  bad: { hex: string; why: string }[];
  oversize: { fill: string; length: number; why: string }[];
  largest: { fill: string; length: number }[];
}
const v = JSON.parse(readFileSync(new URL('../../../test/vectors/ws.json', import.meta.url), 'utf8')) as Vectors;
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const filled = (fill: string, n: number): Uint8Array => new Uint8Array(n).fill(parseInt(fill, 16));

test('ws.json: the three message types encode and decode as the vectors say', () => {
  assert.equal(hex(encodeWsFrame({ type: WS_DATAGRAM, data: h(v.datagram) })), v.datagram_message);
  assert.equal(hex(encodeWsFrame({ type: WS_TO, key: h(v.key_b), data: h(v.wg_datagram) })), v.to_message);
  assert.equal(hex(encodeWsFrame({ type: WS_FROM, key: h(v.key_a), data: h(v.wg_datagram) })), v.from_message);
  const d = decodeWsFrame(h(v.datagram_message));
  assert.ok(d.ok && d.frame.type === WS_DATAGRAM);
  assert.equal(hex(d.frame.data), v.datagram);
  for (const [m, key] of [[v.to_message, v.key_b], [v.from_message, v.key_a]] as const) {
    const r = decodeWsFrame(h(m));
    assert.ok(r.ok && r.frame.type !== WS_DATAGRAM);
    assert.equal(hex(r.frame.key), key);
    assert.equal(hex(r.frame.data), v.wg_datagram);
  }
});

test('ws.json: malformed and oversize messages are dropped with their reason', () => {
  for (const b of v.bad) assert.deepEqual(decodeWsFrame(h(b.hex)), { ok: false, why: b.why }, b.hex);
  for (const o of v.oversize) assert.deepEqual(decodeWsFrame(filled(o.fill, o.length)), { ok: false, why: o.why });
  for (const l of v.largest) assert.ok(decodeWsFrame(filled(l.fill, l.length)).ok, `${l.length} bytes`);
  assert.equal(Math.max(...v.largest.map((l) => l.length)), WS_MAX_MESSAGE);
});

test('encodeWsFrame refuses what no receiver accepts', () => {
  assert.throws(() => encodeWsFrame({ type: WS_DATAGRAM, data: new Uint8Array(0) }));
  assert.throws(() => encodeWsFrame({ type: WS_DATAGRAM, data: new Uint8Array(MAX_PACKET + 1) }));
  assert.throws(() => encodeWsFrame({ type: WS_TO, key: new Uint8Array(31), data: new Uint8Array(1) }));
});

test('decoding random bytes never throws', () => {
  for (let i = 0; i < 2000; i++) {
    const m = new Uint8Array(Math.floor(Math.random() * 1600)).map(() => Math.floor(Math.random() * 256));
    decodeWsFrame(m);
  }
});

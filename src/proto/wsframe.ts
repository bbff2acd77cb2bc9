// The frames of the WebSocket transport (docs/PROTOCOL.md section 12): one binary WebSocket
// message is a type byte and its payload. Pure; decoding never throws (malformed input is a
// reason the caller counts).
import { MAX_PACKET, WS_MAX_MESSAGE } from '../params.js';

/** A datagram exchanged with the node at the other end of the connection. */
export const WS_DATAGRAM = 0x01;
/** Client to server: a datagram for the node whose key follows (relayed; defined, not used yet). */
export const WS_TO = 0x02;
/** Server to client: a datagram from the node whose key follows (relayed; defined, not used yet). */
export const WS_FROM = 0x03;
export const WS_KEY_BYTES = 32;

export type WsFrame =
  | { type: typeof WS_DATAGRAM; data: Uint8Array }
  | { type: typeof WS_TO | typeof WS_FROM; key: Uint8Array; data: Uint8Array };

export type WsDecode = { ok: true; frame: WsFrame } | { ok: false; why: 'ws-empty' | 'ws-oversize' | 'ws-type' | 'ws-short' };

export function encodeWsFrame(f: WsFrame): Uint8Array {
  if (f.data.length === 0 || f.data.length > MAX_PACKET) throw new Error(`datagram of ${f.data.length} bytes`);
  if (f.type === WS_DATAGRAM) {
    const out = new Uint8Array(1 + f.data.length);
    out[0] = WS_DATAGRAM;
    out.set(f.data, 1);
    return out;
  }
  if (f.key.length !== WS_KEY_BYTES) throw new Error('a key tag is 32 bytes');
  const out = new Uint8Array(1 + WS_KEY_BYTES + f.data.length);
  out[0] = f.type;
  out.set(f.key, 1);
  out.set(f.data, 1 + WS_KEY_BYTES);
  return out;
}

/** Reads one message (views into `m`, no copy). */
export function decodeWsFrame(m: Uint8Array): WsDecode {
  if (m.length === 0) return { ok: false, why: 'ws-empty' };
  if (m.length > WS_MAX_MESSAGE) return { ok: false, why: 'ws-oversize' };
  const type = m[0]!;
  if (type === WS_DATAGRAM) {
    if (m.length < 2 || m.length > 1 + MAX_PACKET) return { ok: false, why: m.length < 2 ? 'ws-short' : 'ws-oversize' };
    return { ok: true, frame: { type, data: m.subarray(1) } };
  }
  if (type === WS_TO || type === WS_FROM) {
    if (m.length < 2 + WS_KEY_BYTES) return { ok: false, why: 'ws-short' };
    return { ok: true, frame: { type, key: m.subarray(1, 1 + WS_KEY_BYTES), data: m.subarray(1 + WS_KEY_BYTES) } };
  }
  return { ok: false, why: 'ws-type' };
}

// What a relay forwards: only datagrams shaped like WireGuard messages (pure). The same rules
// as the kernel path's (src/firewall/relayforward.ts): a type byte 1..4, three zero bytes, and
// the type's length: handshake initiation 148 bytes, response 92, cookie reply 64, transport
// data at least 32 bytes with (length - 16) a multiple of 16 (a 16-byte header and a 16-byte
// tag around plaintext padded to 16 bytes), or any length from 32 + RELAY_WG_MIN_MTU on (the
// padding stops at the sender's tunnel MTU, which the relay does not know). Besides WireGuard, one
// other payload: a whole sealed DHT frame (kind 1), which is how an invitation's joiner that can
// only be relayed talks to its inviter (docs/PROTOCOL.md "Joining through a relay").
import { MAX_FRAGMENTS, MAX_RELAY_DATA } from '../proto/messages.js';
import { FRAME_VERSION, KIND_SEALED, MAGIC, MIN_PACKET } from '../proto/packet.js';
import { RELAY_WG_MIN_MTU } from '../params.js';
import type { Fragment } from './fragment.js';

export const WG_INITIATION = 148;
export const WG_RESPONSE = 92;
export const WG_COOKIE = 64;
export const WG_TRANSPORT_MIN = 32;

function header(p: Uint8Array): number | undefined {
  if (p.length < 4 || p[1] !== 0 || p[2] !== 0 || p[3] !== 0) return undefined;
  const t = p[0]!;
  return t >= 1 && t <= 4 ? t : undefined;
}

/** True when `p` is shaped like a WireGuard message. */
export function isWireGuardShaped(p: Uint8Array): boolean {
  switch (header(p)) {
    case 1: return p.length === WG_INITIATION;
    case 2: return p.length === WG_RESPONSE;
    case 3: return p.length === WG_COOKIE;
    case 4: return p.length >= WG_TRANSPORT_MIN && ((p.length - 16) % 16 === 0 || p.length >= WG_TRANSPORT_MIN + RELAY_WG_MIN_MTU);
    default: return false;
  }
}

/** True when `p` is shaped like a sealed DHT frame (kind 1) that fits one relay data field: its
 *  clear header's magic, version and kind (the relay cannot open it: it is sealed to the other
 *  member). */
export function isSealedFrameShaped(p: Uint8Array): boolean {
  return p.length >= MIN_PACKET && p.length <= MAX_RELAY_DATA && p[0] === MAGIC && p[1] === FRAME_VERSION && p[2] === KIND_SEALED;
}

/**
 * What a relay can check of one `relay` fragment without reassembling it: a whole datagram
 * (no g/i/c) must be WireGuard-shaped or a whole sealed DHT frame; only transport data is ever large enough to be split,
 * so the first fragment of a split datagram starts with a type-4 header; the count is 2..
 * MAX_FRAGMENTS. (The total length of a split datagram is checked by the receiving member,
 * whose WireGuard drops what it cannot authenticate; docs/PROTOCOL.md Appendix B.)
 */
export function fragmentShapeOk(f: Fragment): boolean {
  if (f.c === undefined) return isWireGuardShaped(f.d) || isSealedFrameShaped(f.d);
  if (f.c < 2 || f.c > MAX_FRAGMENTS || f.i === undefined || f.i >= f.c) return false;
  return f.i !== 0 || header(f.d) === 4;
}

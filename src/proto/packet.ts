// The outer frame of every daemon datagram (docs/PROTOCOL.md, "Packet"). Byte by byte:
//
//   offset size  field
//   0      1     magic 0xF7 — WireGuard messages start with 1..4 then three zero bytes, so a
//                daemon packet is never taken for WireGuard's and the shared port can steer
//                on this byte alone (nftables matches @th,64,8 == 0xf7)
//   1      1     frame version, 1
//   2      1     kind: 1 = sealed message (bencoded body), 2 = sealed relay data (binary body,
//                see messages.ts "relay data"); the AEAD covers the kind (it is in the header)
//   3      1     flags: 0, or FLAG_COOKIE (1) when a 16-byte cookie MAC follows the tag (below);
//                any other value is rejected (the other bits are for a future version)
//   4      32    sender's static public key (Curve25519, as WireGuard's)
//   36     8     epoch, unsigned big-endian: fixed while the sender runs, larger after a restart
//   44     8     counter, unsigned big-endian: +1 for every packet the sender sends in the epoch
//   52     n+16  XChaCha20-Poly1305 ciphertext of the bencoded body, with its 16-byte tag
//
//   end-16 16    only with FLAG_COOKIE: BLAKE2b-128(key = cookie, everything before it), the
//                proof of the source address a receiver under load asks for (cookie.ts)
//
// AEAD key: the sender→receiver direction key (see channel.ts); nonce: epoch || counter ||
// 8 zero bytes; associated data: bytes 0..51. The whole datagram is at most MAX_PACKET bytes.
// Kind 3 is the unsealed cookie reply (cookie.ts); parseHeader rejects it as 'kind'.
import { MAX_PACKET } from '../params.js';

export const MAGIC = 0xf7;
export const FRAME_VERSION = 1;
export const KIND_SEALED = 1;
export const KIND_RELAY = 2;
export const KIND_COOKIE = 3;
export type FrameKind = typeof KIND_SEALED | typeof KIND_RELAY;
export const FLAG_COOKIE = 1;
export const COOKIE_MAC_BYTES = 16;
export const HEADER_BYTES = 52;
export const TAG_BYTES = 16;
export const MIN_PACKET = HEADER_BYTES + TAG_BYTES + 2; // smallest body: "de"
export const MAX_BODY = MAX_PACKET - HEADER_BYTES - TAG_BYTES;

export interface Header {
  kind: FrameKind;
  sender: Uint8Array;
  epoch: bigint;
  counter: bigint;
  /** The cookie MAC (FLAG_COOKIE), else undefined. */
  mac: Uint8Array | undefined;
  /** End of the sealed part (header, ciphertext and tag): the datagram's length less the MAC. */
  sealedEnd: number;
}

export type FrameReject = 'short' | 'oversize' | 'magic' | 'frame-version' | 'kind' | 'reserved';

/** Reads the clear header; never throws. */
export function parseHeader(p: Uint8Array): Header | FrameReject {
  if (p.length > MAX_PACKET) return 'oversize';
  if (p.length < 1 || p[0] !== MAGIC) return 'magic';
  if (p.length < MIN_PACKET) return 'short';
  if (p[1] !== FRAME_VERSION) return 'frame-version';
  if (p[2] !== KIND_SEALED && p[2] !== KIND_RELAY) return 'kind';
  if (p[3] !== 0 && p[3] !== FLAG_COOKIE) return 'reserved';
  const withMac = p[3] === FLAG_COOKIE;
  if (withMac && p.length < MIN_PACKET + COOKIE_MAC_BYTES) return 'short';
  const sealedEnd = withMac ? p.length - COOKIE_MAC_BYTES : p.length;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return {
    kind: p[2] as FrameKind, sender: p.subarray(4, 36), epoch: dv.getBigUint64(36), counter: dv.getBigUint64(44),
    mac: withMac ? p.subarray(sealedEnd) : undefined, sealedEnd,
  };
}

export function writeHeader(out: Uint8Array, sender: Uint8Array, epoch: bigint, counter: bigint, kind: FrameKind = KIND_SEALED, flags = 0): void {
  out[0] = MAGIC;
  out[1] = FRAME_VERSION;
  out[2] = kind;
  out[3] = flags;
  out.set(sender, 4);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setBigUint64(36, epoch);
  dv.setBigUint64(44, counter);
}

export function nonceFor(epoch: bigint, counter: bigint): Uint8Array {
  const n = new Uint8Array(24);
  const dv = new DataView(n.buffer);
  dv.setBigUint64(0, epoch);
  dv.setBigUint64(8, counter);
  return n;
}

/** True when a datagram could be a WireGuard message (type 1..4, then three zero bytes). */
export function looksLikeWireGuard(p: Uint8Array): boolean {
  return p.length >= 4 && p[0]! >= 1 && p[0]! <= 4 && p[1] === 0 && p[2] === 0 && p[3] === 0;
}

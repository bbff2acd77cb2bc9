// Proof of work on a node's public key (see docs/PROTOCOL.md, "Workbit").
//   workbit(pk, namespace) = number of leading zero bits of BLAKE2b-256(pk || UTF-8(namespace))
// counted from the most significant bit of byte 0; 0..256.
import type { Sodium } from './sodium.js';

export const MAX_WORKBIT = 256;

/** Leading zero bits of a byte string, most significant bit of byte 0 first. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) { n += 8; continue; }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

export function workbitInput(pk: Uint8Array, namespace: string): Uint8Array {
  const ns = Buffer.from(namespace, 'utf8');
  const buf = new Uint8Array(pk.length + ns.length);
  buf.set(pk, 0);
  buf.set(ns, pk.length);
  return buf;
}

export function workbit(sodium: Sodium, pk: Uint8Array, namespace: string): number {
  return leadingZeroBits(sodium.crypto_generichash(32, workbitInput(pk, namespace), null));
}

// Kademlia IDs are the nodes' 32-byte public keys; distance is their XOR, compared as a
// 256-bit big-endian number.
export const ID_BYTES = 32;
export const ID_BITS = 256;

export function toHex(id: Uint8Array): string {
  // A Buffer view of the same bytes: Buffer.from(id) would copy them first (a simulated network
  // makes tens of millions of these strings).
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Length of the common prefix of a and b in bits (256 when equal). */
export function commonPrefixBits(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return ID_BITS;
}

/** Negative when a is closer to target than b, positive when farther, 0 when equal. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const da = a[i]! ^ target[i]!, db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

export function equalIds(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A random ID whose common prefix with `self` is exactly `bits` long (bits < 256). */
export function randomIdInBucket(self: Uint8Array, bits: number, random: (n: number) => Uint8Array): Uint8Array {
  const id = random(ID_BYTES);
  for (let i = 0; i < bits; i++) setBit(id, i, getBit(self, i));
  setBit(id, bits, 1 - getBit(self, bits));
  return id;
}

function getBit(b: Uint8Array, i: number): number {
  return (b[i >> 3]! >> (7 - (i & 7))) & 1;
}

function setBit(b: Uint8Array, i: number, v: number): void {
  const mask = 1 << (7 - (i & 7));
  b[i >> 3] = v ? b[i >> 3]! | mask : b[i >> 3]! & ~mask;
}

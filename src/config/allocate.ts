// Deterministic overlay address allocation (docs/CONFIG.md, "Overlay address allocation").
//
// Every node computes the same table from the same file:
//   - explicit addresses are taken first;
//   - the remaining trusted peers are processed in ascending order of their raw 32-byte key;
//   - for counter = 0, 1, ..., 255:
//       h = BLAKE2b-256("wirehub-ip" || key || counter)
//       index = (first 8 bytes of h, big-endian) mod R
//       where R = size of the subnet (IPv4) or min(2^64, size of the subnet) (IPv6);
//     candidate = network + index; it is taken unless it is the network address, the IPv4
//     broadcast address, or already taken;
//   - if all 256 candidates collide (only plausible in nearly full subnets) the next free
//     address after the last candidate is used, scanning upward and wrapping within R.
import type { Sodium } from '../crypto/sodium.js';
import { type Cidr, cidrSize, isReservedAddress } from '../util/ip.js';

export const ALLOC_CONTEXT = 'wirehub-ip';
export const MAX_COUNTER = 255;

const CONTEXT_BYTES = new TextEncoder().encode(ALLOC_CONTEXT);

/** Number of addresses, from the network address up, that allocation draws from. */
export function allocationRange(c: Cidr): bigint {
  const size = cidrSize(c);
  if (c.family === 6 && size > 1n << 64n) return 1n << 64n;
  return size;
}

/** First 8 bytes of BLAKE2b-256("wirehub-ip" || key || counter) as a big-endian unsigned integer. */
export function allocationHash(sodium: Sodium, key: Uint8Array, counter: number): bigint {
  const input = new Uint8Array(CONTEXT_BYTES.length + key.length + 1);
  input.set(CONTEXT_BYTES, 0);
  input.set(key, CONTEXT_BYTES.length);
  input[input.length - 1] = counter;
  const h = sodium.crypto_generichash(32, input, null);
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(h[i]!);
  return v;
}

/**
 * How many addresses allocation can still hand out in `c`, given the explicitly assigned
 * addresses in `taken` (addresses outside the allocation range or reserved are ignored).
 */
export function allocationCapacity(c: Cidr, taken: Iterable<bigint>): bigint {
  const range = allocationRange(c);
  let reserved = 0n;
  for (const v of new Set([c.network, c.network + range - 1n])) if (isReservedAddress(c, v)) reserved++;
  let used = 0n;
  for (const v of new Set(taken)) {
    const idx = v - c.network;
    if (idx >= 0n && idx < range && !isReservedAddress(c, v)) used++;
  }
  return range - reserved - used;
}

export class AllocationError extends Error {}

/**
 * Allocates one address in `c` for each key of `keys`. `taken` holds addresses already in use
 * (explicit ones) and receives the new ones. Returns the addresses in the order of `keys`;
 * the result does not depend on that order. Throws AllocationError when the subnet is full.
 */
export function allocateAddresses(sodium: Sodium, c: Cidr, keys: readonly Uint8Array[], taken: Set<bigint>): bigint[] {
  const capacity = allocationCapacity(c, taken);
  if (BigInt(keys.length) > capacity) {
    throw new AllocationError(`room for ${capacity} allocated address${capacity === 1n ? '' : 'es'}, but ${keys.length} trusted peer${keys.length === 1 ? '' : 's'} need${keys.length === 1 ? 's' : ''} one`);
  }
  const range = allocationRange(c);
  const free = (v: bigint): boolean => !taken.has(v) && !isReservedAddress(c, v);
  const order = keys.map((_, i) => i).sort((a, b) => Buffer.compare(keys[a]!, keys[b]!));
  const out = new Array<bigint>(keys.length);
  for (const i of order) {
    const key = keys[i]!;
    let chosen: bigint | undefined;
    let last = 0n;
    for (let counter = 0; counter <= MAX_COUNTER && chosen === undefined; counter++) {
      last = allocationHash(sodium, key, counter) % range;
      if (free(c.network + last)) chosen = c.network + last;
    }
    for (let step = 1n; chosen === undefined && step <= range; step++) {
      const v = c.network + ((last + step) % range);
      if (free(v)) chosen = v;
    }
    if (chosen === undefined) throw new AllocationError('subnet is full'); // unreachable: capacity was checked
    taken.add(chosen);
    out[i] = chosen;
  }
  return out;
}

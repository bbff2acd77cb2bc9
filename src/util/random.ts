// Cryptographically secure random bytes, drawn from a pooled buffer: transaction ids and
// similar small values are needed per packet, and one system call each is measurably slow.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

export function randomBytes(n: number): Uint8Array {
  if (n > POOL_BYTES) return randomFillSync(new Uint8Array(n));
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.slice(offset, offset + n);
  pool.fill(0, offset, offset + n); // never hand the same bytes out twice
  offset += n;
  return out;
}

// WireGuard keys: Curve25519, 32 bytes, written as standard base64 (44 characters ending in '=').
// `wg genkey` draws 32 random bytes and clamps them; `wg pubkey` is X25519 with the base point.
import type { Sodium } from './sodium.js';

export const KEY_BYTES = 32;
const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export class KeyError extends Error {}

/** Parses a base64 WireGuard key; throws KeyError with a reason when it is not one. */
export function parseKey(text: string, what = 'key'): Uint8Array {
  const s = text.trim();
  if (!B64_KEY.test(s)) {
    throw new KeyError(`${what} is not a WireGuard key (expected 44 characters of standard base64, got ${s.length === 0 ? 'nothing' : JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s)})`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export function isKeyText(text: string): boolean {
  return B64_KEY.test(text);
}

export function keyToBase64(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) throw new KeyError(`key must be ${KEY_BYTES} bytes, got ${key.length}`);
  return Buffer.from(key).toString('base64');
}

/** Clamps a Curve25519 secret in place, exactly as `wg genkey` does. */
export function clampSecret(sk: Uint8Array): Uint8Array {
  sk[0] = sk[0]! & 248;
  sk[31] = (sk[31]! & 127) | 64;
  return sk;
}

export function generateSecret(sodium: Sodium): Uint8Array {
  return clampSecret(sodium.randombytes_buf(KEY_BYTES));
}

export function publicFromSecret(sodium: Sodium, sk: Uint8Array): Uint8Array {
  return sodium.crypto_scalarmult_base(sk);
}

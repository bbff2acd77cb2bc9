// WireGuard keys: Curve25519, 32 bytes, written as standard base64 (44 characters ending in '=').
// `wg genkey` draws 32 random bytes and clamps them; `wg pubkey` is X25519 with the base point.
// Also read (never written): the original WireHub's form, URL-safe base64 ('-' and '_' for '+'
// and '/') without the padding '=', 43 characters. Either alphabet, padded or not, but not both
// alphabets in one key. Whatever form is read, keys are printed in the standard form.
import type { Sodium } from './sodium.js';

export const KEY_BYTES = 32;
const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const B64_KEY_UNPADDED = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]$/;
const B64URL_KEY = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=?$/;

/** What a key error says is expected. */
export const KEY_FORMS = '44 characters of standard base64, or 43 of URL-safe base64';

/** The standard base64 text of a key written in any accepted form, or undefined. */
function standardForm(s: string): string | undefined {
  if (B64_KEY.test(s)) return s;
  if (B64_KEY_UNPADDED.test(s)) return s + '=';
  if (B64URL_KEY.test(s)) return s.replace(/=$/, '').replace(/-/g, '+').replace(/_/g, '/') + '=';
  return undefined;
}

export class KeyError extends Error {}

/** Parses a base64 WireGuard key; throws KeyError with a reason when it is not one. */
export function parseKey(text: string, what = 'key'): Uint8Array {
  const s = text.trim();
  const std = standardForm(s);
  if (std === undefined) {
    // Described, never quoted: what was meant as a key may be a private key with a typo.
    const n = [...s].length;
    throw new KeyError(`${what} is not a WireGuard key (expected ${KEY_FORMS}, got ${n === 0 ? 'nothing' : `${n} character${n === 1 ? '' : 's'}`})`);
  }
  return new Uint8Array(Buffer.from(std, 'base64'));
}

/** True when `text` (no surrounding whitespace) is a key in one of the accepted forms. */
export function isKeyText(text: string): boolean {
  return standardForm(text) !== undefined;
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

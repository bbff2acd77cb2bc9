// XChaCha20-Poly1305 (IETF variant, as libsodium's crypto_aead_xchacha20poly1305_ietf_*) on
// Node's crypto (OpenSSL), so the daemon loads no WebAssembly module for it (README,
// "Dependencies": measured with bench/crypto.ts).
//
// XChaCha20-Poly1305 = HChaCha20(key, nonce[0..16]) as the subkey, then the IETF
// ChaCha20-Poly1305 AEAD with the nonce 0x00000000 || nonce[16..24]; the output is the
// ciphertext followed by the 16-byte Poly1305 tag (draft-irtf-cfrg-xchacha, section 2).
// OpenSSL has no HChaCha20, but its raw 'chacha20' cipher takes a 16-byte IV that fills the
// four state words HChaCha20 puts its nonce in (block counter, then nonce). Its first keystream
// block is the 20 rounds of that state plus the state itself; HChaCha20 is the same rounds
// without the addition, taking words 0-3 and 12-15. So the subkey is the keystream's words
// 0-3 minus the constants and 12-15 minus the nonce's words.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const XCHACHA_KEY_BYTES = 32;
export const XCHACHA_NONCE_BYTES = 24;
export const XCHACHA_TAG_BYTES = 16;

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]; // "expand 32-byte k"
const ZERO_BLOCK = Buffer.alloc(64);

/** HChaCha20(key, nonce16): the 32-byte subkey. */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Buffer {
  const ks = createCipheriv('chacha20', key, nonce16).update(ZERO_BLOCK);
  const n = Buffer.from(nonce16.buffer, nonce16.byteOffset, 16);
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 4; i++) {
    out.writeUInt32LE((ks.readUInt32LE(4 * i) - SIGMA[i]!) >>> 0, 4 * i);
    out.writeUInt32LE((ks.readUInt32LE(48 + 4 * i) - n.readUInt32LE(4 * i)) >>> 0, 16 + 4 * i);
  }
  return out;
}

function check(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== XCHACHA_KEY_BYTES) throw new RangeError(`XChaCha20-Poly1305 key must be ${XCHACHA_KEY_BYTES} bytes, got ${key.length}`);
  if (nonce.length !== XCHACHA_NONCE_BYTES) throw new RangeError(`XChaCha20-Poly1305 nonce must be ${XCHACHA_NONCE_BYTES} bytes, got ${nonce.length}`);
}

/** The IETF nonce under the subkey: four zero bytes, then the last 8 bytes of the 24. */
function ietfNonce(nonce: Uint8Array): Buffer {
  const n = Buffer.alloc(12);
  n.set(nonce.subarray(16, 24), 4);
  return n;
}

/** Seals `msg` with additional data `ad`: ciphertext || tag (msg.length + 16 bytes). */
export function xchachaSeal(msg: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  check(key, nonce);
  const c = createCipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), ietfNonce(nonce), { authTagLength: XCHACHA_TAG_BYTES });
  if (ad !== null) c.setAAD(ad, { plaintextLength: msg.length });
  const out = new Uint8Array(msg.length + XCHACHA_TAG_BYTES);
  out.set(c.update(msg), 0);
  c.final();
  out.set(c.getAuthTag(), msg.length);
  return out;
}

/** Opens what xchachaSeal made; throws when the tag does not verify (nothing is returned). */
export function xchachaOpen(sealed: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  check(key, nonce);
  if (sealed.length < XCHACHA_TAG_BYTES) throw new Error('ciphertext cannot be decrypted using that key');
  const n = sealed.length - XCHACHA_TAG_BYTES;
  const d = createDecipheriv('chacha20-poly1305', hchacha20(key, nonce.subarray(0, 16)), ietfNonce(nonce), { authTagLength: XCHACHA_TAG_BYTES });
  d.setAuthTag(sealed.subarray(n));
  if (ad !== null) d.setAAD(ad, { plaintextLength: n });
  const body = d.update(sealed.subarray(0, n));
  d.final(); // throws on a wrong tag, before the body leaves this function
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

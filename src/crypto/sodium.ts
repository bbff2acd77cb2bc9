// The libsodium functions WireHub uses, with libsodium's names and calling conventions, on
// Node's crypto (OpenSSL) and @noble/hashes instead of libsodium's WebAssembly module: loading
// that module cost each daemon about 10 MiB of resident memory (its wasm heap, code and
// wrapper), measured in README, "Dependencies". Same bytes as libsodium for every call
// (test/unit/sodiumcompat.test.ts compares them; test/vectors/ hold the wire format).
// libsodium-wrappers itself is loaded only by the key search (src/crypto/keysearch.ts), whose
// hot loop is faster there.
//
// Every user awaits `sodiumReady()` once at start-up and then calls the module synchronously.
import { createPrivateKey, createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import { X25519 } from './x25519.js';
import { xchachaOpen, xchachaSeal } from './xchacha.js';

export interface Sodium {
  /** X25519 with the base point: the public key of a (clamped or not) secret. */
  crypto_scalarmult_base(secret: Uint8Array): Uint8Array;
  /** X25519; throws for a peer key that gives the all-zero secret, as libsodium does. */
  crypto_scalarmult(secret: Uint8Array, peer: Uint8Array): Uint8Array;
  /** BLAKE2b with an output of `outlen` bytes (16..64), keyed when `key` is given. */
  crypto_generichash(outlen: number, msg: Uint8Array, key: Uint8Array | null): Uint8Array;
  crypto_aead_xchacha20poly1305_ietf_encrypt(msg: Uint8Array, ad: Uint8Array | null, nsec: null, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  /** Throws when the tag does not verify. */
  crypto_aead_xchacha20poly1305_ietf_decrypt(nsec: null, sealed: Uint8Array, ad: Uint8Array | null, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  randombytes_buf(n: number): Uint8Array;
  /** Constant-time equality of two byte strings of the same length. */
  memcmp(a: Uint8Array, b: Uint8Array): boolean;
}

/** PKCS#8 DER prefix of an X25519 private key (RFC 8410); the 32 secret bytes follow. */
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function publicKey(secret: Uint8Array): Uint8Array {
  if (secret.length !== 32) throw new RangeError(`X25519 secret must be 32 bytes, got ${secret.length}`);
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secret]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url'));
}

const sodium: Sodium = {
  crypto_scalarmult_base: publicKey,
  crypto_scalarmult(secret, peer) {
    const shared = new X25519(secret, publicKey(secret)).shared(peer);
    if (shared === undefined) throw new Error('invalid peer key: no shared secret');
    return shared;
  },
  crypto_generichash(outlen, msg, key) {
    if (!Number.isInteger(outlen) || outlen < 16 || outlen > 64) throw new RangeError(`BLAKE2b output must be 16 to 64 bytes, got ${outlen}`);
    return blake2b(msg, key === null ? { dkLen: outlen } : { dkLen: outlen, key });
  },
  crypto_aead_xchacha20poly1305_ietf_encrypt: (msg, ad, _nsec, nonce, key) => xchachaSeal(msg, ad, nonce, key),
  crypto_aead_xchacha20poly1305_ietf_decrypt: (_nsec, sealed, ad, nonce, key) => xchachaOpen(sealed, ad, nonce, key),
  randombytes_buf: (n) => new Uint8Array(randomBytes(n)),
  memcmp: (a, b) => a.length === b.length && timingSafeEqual(a, b),
};

const ready = Promise.resolve(sodium);

export function sodiumReady(): Promise<Sodium> {
  return ready;
}

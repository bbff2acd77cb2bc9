// src/crypto/sodium.ts (node:crypto, @noble/hashes) against libsodium itself: the same bytes for
// every function WireHub calls, on random and edge-case inputs, and the same refusals.
import test from 'node:test';
import assert from 'node:assert/strict';
import lib from 'libsodium-wrappers';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { hchacha20 } from '../../src/crypto/xchacha.js';

await lib.ready;
const ours = await sodiumReady();

function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32; };
}
const rnd = seededRandom(7);
const bytes = (n: number) => new Uint8Array(n).map(() => Math.floor(rnd() * 256));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('crypto_scalarmult_base: libsodium\'s public keys, clamped or not', () => {
  for (let i = 0; i < 200; i++) {
    const sk = bytes(32);
    assert.equal(hex(ours.crypto_scalarmult_base(sk)), hex(lib.crypto_scalarmult_base(sk)));
  }
  assert.throws(() => ours.crypto_scalarmult_base(bytes(31)), RangeError);
});

test('crypto_scalarmult: libsodium\'s shared secrets; a low-order peer key throws in both', () => {
  for (let i = 0; i < 50; i++) {
    const sk = bytes(32), peer = lib.crypto_scalarmult_base(bytes(32));
    assert.equal(hex(ours.crypto_scalarmult(sk, peer)), hex(lib.crypto_scalarmult(sk, peer)));
  }
  const zero = new Uint8Array(32);
  assert.throws(() => lib.crypto_scalarmult(bytes(32), zero));
  assert.throws(() => ours.crypto_scalarmult(bytes(32), zero));
});

test('crypto_generichash: libsodium\'s BLAKE2b for every output length, keyed and not', () => {
  for (let outlen = 16; outlen <= 64; outlen++) {
    for (const len of [0, 1, 63, 64, 65, 127, 128, 129, 300, 1500]) {
      const msg = bytes(len);
      const key = outlen % 3 === 0 ? null : bytes(outlen % 2 === 0 ? 32 : 16 + (len % 49));
      assert.equal(hex(ours.crypto_generichash(outlen, msg, key)), hex(lib.crypto_generichash(outlen, msg, key)), `outlen ${outlen}, ${len} bytes, key ${key?.length ?? 'none'}`);
    }
  }
  assert.throws(() => ours.crypto_generichash(15, bytes(1), null), RangeError);
  assert.throws(() => ours.crypto_generichash(65, bytes(1), null), RangeError);
});

test('HChaCha20 from OpenSSL\'s ChaCha20 keystream: the test vector of draft-irtf-cfrg-xchacha, 2.2.1', () => {
  const key = new Uint8Array(32).map((_, i) => i);
  const nonce = Buffer.from('000000090000004a0000000031415927', 'hex');
  assert.equal(hex(hchacha20(key, nonce)), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

test('XChaCha20-Poly1305: the same sealed bytes; each opens the other\'s; any flipped bit or wrong key fails', () => {
  for (const len of [0, 1, 15, 16, 17, 63, 64, 65, 200, 1400]) {
    for (const adLen of [-1, 0, 1, 58, 100]) {
      const msg = bytes(len), ad = adLen < 0 ? null : bytes(adLen), nonce = bytes(24), key = bytes(32);
      const sealed = ours.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad, null, nonce, key);
      assert.equal(hex(sealed), hex(lib.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad, null, nonce, key)), `${len} bytes, ad ${adLen}`);
      const opened = ours.crypto_aead_xchacha20poly1305_ietf_decrypt(null, lib.crypto_aead_xchacha20poly1305_ietf_encrypt(msg, ad, null, nonce, key), ad, nonce, key);
      assert.equal(hex(opened), hex(msg));
      assert.equal(Object.getPrototypeOf(opened), Uint8Array.prototype);
      const bit = Math.floor(rnd() * sealed.length * 8);
      const bad = sealed.slice(); bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => ours.crypto_aead_xchacha20poly1305_ietf_decrypt(null, bad, ad, nonce, key));
      assert.throws(() => ours.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, bytes(32)));
      if (ad !== null && ad.length > 0) {
        const badAd = ad.slice(); badAd[0]! ^= 0x80;
        assert.throws(() => ours.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, badAd, nonce, key));
      }
    }
  }
  assert.throws(() => ours.crypto_aead_xchacha20poly1305_ietf_decrypt(null, bytes(15), null, bytes(24), bytes(32)));
  assert.throws(() => ours.crypto_aead_xchacha20poly1305_ietf_encrypt(bytes(1), null, null, bytes(12), bytes(32)), RangeError);
});

test('memcmp and randombytes_buf', () => {
  const a = bytes(16);
  assert.equal(ours.memcmp(a, a.slice()), true);
  const b = a.slice(); b[15]! ^= 1;
  assert.equal(ours.memcmp(a, b), false);
  assert.equal(ours.memcmp(a, a.subarray(0, 15)), false);
  const r = ours.randombytes_buf(32);
  assert.equal(r.length, 32);
  assert.notEqual(hex(r), hex(ours.randombytes_buf(32)));
});

// X25519 shared secrets through Node's crypto (OpenSSL) instead of libsodium's wasm: measured
// here 45-60 µs per peer key against 105-135 µs, and a DHT node computes one per peer
// (bench/dht.ts: two million in a network of 10 000 nodes). Same function: RFC 7748 X25519,
// the scalar clamped, the peer's top bit ignored, and an all-zero result (a low-order peer key)
// refused, as libsodium's crypto_scalarmult refuses it (test/unit/proto.test.ts compares them).
// Peer keys are imported as JWK: the DER import took 85-100 µs by itself.
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';

export class X25519 {
  private readonly secret: KeyObject;

  constructor(secret: Uint8Array, publicKey: Uint8Array) {
    this.secret = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(secret), x: b64url(publicKey) }, format: 'jwk' });
  }

  /** The shared secret with `peer` (32 bytes), or undefined for a key that gives none. */
  shared(peer: Uint8Array): Uint8Array | undefined {
    if (peer.length !== 32) return undefined;
    try {
      const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(peer) }, format: 'jwk' });
      return new Uint8Array(diffieHellman({ privateKey: this.secret, publicKey: pub }));
    } catch {
      return undefined; // low-order point: the result would be all zeros
    }
  }
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

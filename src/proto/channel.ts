// The secure channel: seals bodies to a peer's static key and opens what peers sealed to ours.
// Pure computation (no sockets, no clock); one instance per node.
//
// Keys. For local secret a (public A) and peer public B:
//   s      = X25519(a, B)                        computed once per peer, then cached
//   k(A→B) = BLAKE2b-256(key = s, "wirehub/1 dir" || A || B)   sealing key, our direction
//   k(B→A) = BLAKE2b-256(key = s, "wirehub/1 dir" || B || A)   opening key, theirs
// Direction keys differ, so our counter space and theirs can never produce the same nonce.
//
// Opening order (cheapest check first, so junk costs little; docs/PROTOCOL.md 5.6):
//   frame header → not our own key → cached state? (a peer's: replay window pre-check; or an
//   unverified key's, kept although its packets failed) → for a new key only: workbit, then the
//   caller's admission (budget, cookie: 5.7), then X25519 → AEAD → replay window update.
import type { Sodium } from '../crypto/sodium.js';
import { workbit as computeWorkbit } from '../crypto/workbit.js';
import { X25519 } from '../crypto/x25519.js';
import { MAX_PEER_STATES, MAX_UNVERIFIED_KEYS } from '../params.js';
import { cookieMac } from './cookie.js';
import {
  COOKIE_MAC_BYTES, FLAG_COOKIE, HEADER_BYTES, KIND_SEALED, MAX_BODY, parseHeader, TAG_BYTES, writeHeader,
  type FrameKind, type FrameReject, type Header,
} from './packet.js';
import { PeerSlots } from './peerslots.js';

export type OpenReject = FrameReject | 'workbit' | 'self' | 'replay' | 'bad-key' | 'auth' | 'busy';

export type OpenResult =
  | { ok: true; kind: FrameKind; sender: Uint8Array; senderHex: string; body: Uint8Array; /** it carried a cookie MAC */ cookie: boolean }
  | { ok: false; reason: OpenReject };

/** Asked before deriving keys for a sender we hold no state for: 'known' (derive, and cache as
 *  a peer at once), 'derive' (derive; cache apart until a packet authenticates), 'refuse'. */
export type Admit = (header: Header, senderHex: string) => 'known' | 'derive' | 'refuse';

export interface ChannelOptions {
  secret: Uint8Array;
  workbit: number;
  namespace: string;
  /** Defaults to the wall clock in microseconds at creation (grows across restarts). */
  epoch?: bigint;
  maxPeers?: number;
  maxUnverified?: number;
}

const DIR_LABEL = new TextEncoder().encode('wirehub/1 dir');

/** The nonce of (epoch, counter), in one buffer reused by every call (libsodium copies it in
 *  at once; two allocations less per datagram). Same bytes as packet.ts nonceFor(). */
const NONCE = new Uint8Array(24);
const NONCE_VIEW = new DataView(NONCE.buffer);
function nonce(epoch: bigint, counter: bigint): Uint8Array {
  NONCE_VIEW.setBigUint64(0, epoch);
  NONCE_VIEW.setBigUint64(8, counter);
  return NONCE;
}

/** Hex of a key, through a Buffer view of its bytes (Buffer.from(key) would copy them first). */
function hexOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
}

export function defaultEpoch(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}

export class SecureChannel {
  readonly publicKey: Uint8Array;
  readonly publicHex: string;
  readonly epoch: bigint;
  private counter = 0n;
  /** X25519 computations so far (a packet that raised it was paid for with one). */
  derivations = 0;
  /** Slot (in `slots`) of each peer's state, by key hex; Map order is the LRU order. */
  private readonly peers = new Map<string, number>();
  /** Derived state of keys none of whose packets authenticated yet (LRU, MAX_UNVERIFIED_KEYS). */
  private readonly unverified = new Map<string, number>();
  private readonly maxPeers: number;
  private readonly maxUnverified: number;
  private readonly slots = new PeerSlots();
  private readonly x25519: X25519;

  constructor(readonly sodium: Sodium, private readonly opts: ChannelOptions) {
    this.publicKey = sodium.crypto_scalarmult_base(opts.secret);
    this.publicHex = hexOf(this.publicKey);
    this.x25519 = new X25519(opts.secret, this.publicKey);
    this.epoch = opts.epoch ?? defaultEpoch();
    this.maxPeers = opts.maxPeers ?? MAX_PEER_STATES;
    this.maxUnverified = opts.maxUnverified ?? MAX_UNVERIFIED_KEYS;
  }

  get workbit(): number {
    return this.opts.workbit;
  }

  /** The namespace the proof of work is measured in. */
  get namespace(): string {
    return this.opts.namespace;
  }

  /** True when `key` meets the network's proof of work. */
  acceptsKey(key: Uint8Array): boolean {
    return this.opts.workbit === 0 || computeWorkbit(this.sodium, key, this.opts.namespace) >= this.opts.workbit;
  }

  /** Seals a body for `peer`; with a cookie (cookie.ts), sets FLAG_COOKIE and appends its MAC.
   *  Throws only on programming errors (oversized body, bad key). */
  seal(peer: Uint8Array, body: Uint8Array, kind: FrameKind = KIND_SEALED, cookie?: Uint8Array): Uint8Array {
    const macBytes = cookie === undefined ? 0 : COOKIE_MAC_BYTES;
    if (body.length > MAX_BODY - macBytes) throw new Error(`body of ${body.length} bytes exceeds ${MAX_BODY - macBytes}`);
    const state = this.state(peer, hexOf(peer));
    if (state === undefined) throw new Error('cannot derive a key with this peer key');
    const counter = this.counter++;
    const sealedEnd = HEADER_BYTES + body.length + TAG_BYTES;
    const out = new Uint8Array(sealedEnd + macBytes);
    writeHeader(out, this.publicKey, this.epoch, counter, kind, cookie === undefined ? 0 : FLAG_COOKIE);
    const header = out.subarray(0, HEADER_BYTES);
    const ct = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(body, header, null, nonce(this.epoch, counter), this.slots.tx(state));
    out.set(ct, HEADER_BYTES);
    if (cookie !== undefined) out.set(cookieMac(this.sodium, cookie, out.subarray(0, sealedEnd)), sealedEnd);
    return out;
  }

  /** Opens a datagram. Never throws: every failure is a reason. `admit` is asked before an
   *  X25519 for a key we hold no state for (docs/PROTOCOL.md 5.7); without it, all are admitted. */
  open(packet: Uint8Array, admit?: Admit): OpenResult {
    const h = parseHeader(packet);
    if (typeof h === 'string') return { ok: false, reason: h};
    const senderHex = hexOf(h.sender);
    if (senderHex === this.publicHex) return { ok: false, reason: 'self'};
    let state = this.peers.get(senderHex);
    if (state !== undefined) {
      if (!this.slots.workbitOk(state)) return { ok: false, reason: 'workbit' };
      if (!this.slots.check(state, h.epoch, h.counter)) return { ok: false, reason: 'replay' };
    } else {
      // A key that failed before keeps its derived state: it costs an AEAD failure, no X25519.
      state = this.unverified.get(senderHex);
      if (state === undefined) {
        if (!this.acceptsKey(h.sender)) return { ok: false, reason: 'workbit' };
        const verdict = admit?.(h, senderHex) ?? 'derive';
        if (verdict === 'refuse') return { ok: false, reason: 'busy' };
        state = this.derive(h.sender, true);
        if (state === undefined) return { ok: false, reason: 'bad-key' };
        // A known key's state is the real peer's whatever this packet is; other new keys are
        // cached apart, so forged keys cannot push real peers out of the cache.
        if (verdict === 'known') this.remember(this.peers, this.maxPeers, senderHex, state);
        else this.remember(this.unverified, this.maxUnverified, senderHex, state);
      }
    }
    // libsodium-wrappers reports a failed AEAD by throwing an Error; capturing its stack trace
    // cost more than the AEAD itself (bench/dos.ts: half of the node's time under a flood), and
    // it is never read, so none is captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let body: Uint8Array;
    try {
      body = this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null, packet.subarray(HEADER_BYTES, h.sealedEnd), packet.subarray(0, HEADER_BYTES), nonce(h.epoch, h.counter), this.slots.rx(state));
    } catch {
      return { ok: false, reason: 'auth' };
    } finally {
      Error.stackTraceLimit = limit;
    }
    if (!this.slots.check(state, h.epoch, h.counter)) return { ok: false, reason: 'replay' };
    this.slots.accept(state, h.epoch, h.counter);
    this.unverified.delete(senderHex);
    this.remember(this.peers, this.maxPeers, senderHex, state); // (re)insert at the back: LRU order
    return { ok: true, kind: h.kind, sender: new Uint8Array(h.sender), senderHex, body, cookie: h.mac !== undefined };
  }

  /** Number of peers with cached keys. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** A key we send to: we chose to talk to it, so its state joins the peers (LRU). */
  private state(peer: Uint8Array, hex: string): number | undefined {
    const cached = this.peers.get(hex) ?? this.unverified.get(hex) ?? this.derive(peer, this.acceptsKey(peer));
    if (cached !== undefined) {
      this.unverified.delete(hex);
      this.remember(this.peers, this.maxPeers, hex, cached);
    }
    return cached;
  }

  private remember(map: Map<string, number>, max: number, hex: string, slot: number): void {
    map.delete(hex); // Map order is our LRU order: (re)insert at the back
    if (map.size >= max) {
      const oldest = map.entries().next().value;
      if (oldest !== undefined) {
        map.delete(oldest[0]);
        this.slots.release(oldest[1]); // a state is in one map at a time: nothing else holds it
      }
    }
    map.set(hex, slot);
  }

  private derive(peer: Uint8Array, workbitOk: boolean): number | undefined {
    this.derivations++;
    const shared = this.x25519.shared(peer); // undefined for a low-order point (all-zero secret)
    if (shared === undefined) return undefined;
    const dirKey = (a: Uint8Array, b: Uint8Array): Uint8Array => {
      const msg = new Uint8Array(DIR_LABEL.length + 64);
      msg.set(DIR_LABEL, 0);
      msg.set(a, DIR_LABEL.length);
      msg.set(b, DIR_LABEL.length + 32);
      return this.sodium.crypto_generichash(32, msg, shared);
    };
    return this.slots.alloc(dirKey(this.publicKey, peer), dirKey(peer, this.publicKey), workbitOk);
  }
}

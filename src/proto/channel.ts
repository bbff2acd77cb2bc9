// The secure channel: seals bodies to a peer's static key and opens what peers sealed to ours.
// Pure computation (no sockets, no clock); one instance per node.
//
// Keys. For local secret a (public A) and peer public B:
//   s      = X25519(a, B)                        computed once per peer, then cached
//   k(A→B) = BLAKE2b-256(key = s, "wirehub/1 dir" || A || B)   sealing key, our direction
//   k(B→A) = BLAKE2b-256(key = s, "wirehub/1 dir" || B || A)   opening key, theirs
// Direction keys differ, so our counter space and theirs can never produce the same nonce.
//
// Opening order (cheapest check first, so junk costs little):
//   frame header → sender's workbit → not our own key → replay window pre-check →
//   key derivation (cached) → AEAD → replay window update.
import type { Sodium } from '../crypto/sodium.js';
import { workbit as computeWorkbit } from '../crypto/workbit.js';
import { MAX_PEER_STATES } from '../params.js';
import { HEADER_BYTES, KIND_SEALED, MAX_BODY, nonceFor, parseHeader, TAG_BYTES, writeHeader, type FrameKind, type FrameReject } from './packet.js';
import { ReplayWindow } from './replay.js';

export type OpenReject = FrameReject | 'workbit' | 'self' | 'replay' | 'bad-key' | 'auth';

export type OpenResult =
  | { ok: true; kind: FrameKind; sender: Uint8Array; senderHex: string; body: Uint8Array }
  | { ok: false; reason: OpenReject };

interface PeerState {
  tx: Uint8Array;
  rx: Uint8Array;
  window: ReplayWindow;
}

export interface ChannelOptions {
  secret: Uint8Array;
  workbit: number;
  namespace: string;
  /** Defaults to the wall clock in microseconds at creation (grows across restarts). */
  epoch?: bigint;
  maxPeers?: number;
}

const DIR_LABEL = new TextEncoder().encode('wirehub/1 dir');

export function defaultEpoch(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
}

export class SecureChannel {
  readonly publicKey: Uint8Array;
  readonly publicHex: string;
  readonly epoch: bigint;
  private counter = 0n;
  private readonly peers = new Map<string, PeerState>();
  private readonly maxPeers: number;
  private readonly secret: Uint8Array;

  constructor(private readonly sodium: Sodium, private readonly opts: ChannelOptions) {
    this.secret = opts.secret;
    this.publicKey = sodium.crypto_scalarmult_base(opts.secret);
    this.publicHex = Buffer.from(this.publicKey).toString('hex');
    this.epoch = opts.epoch ?? defaultEpoch();
    this.maxPeers = opts.maxPeers ?? MAX_PEER_STATES;
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

  /** Seals a body for `peer`. Throws only on programming errors (oversized body, bad key). */
  seal(peer: Uint8Array, body: Uint8Array, kind: FrameKind = KIND_SEALED): Uint8Array {
    if (body.length > MAX_BODY) throw new Error(`body of ${body.length} bytes exceeds ${MAX_BODY}`);
    const state = this.state(peer, Buffer.from(peer).toString('hex'));
    if (state === undefined) throw new Error('cannot derive a key with this peer key');
    const counter = this.counter++;
    const out = new Uint8Array(HEADER_BYTES + body.length + TAG_BYTES);
    writeHeader(out, this.publicKey, this.epoch, counter, kind);
    const header = out.subarray(0, HEADER_BYTES);
    const ct = this.sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(body, header, null, nonceFor(this.epoch, counter), state.tx);
    out.set(ct, HEADER_BYTES);
    return out;
  }

  /** Opens a datagram. Never throws: every failure is a reason. */
  open(packet: Uint8Array): OpenResult {
    const h = parseHeader(packet);
    if (typeof h === 'string') return { ok: false, reason: h };
    if (!this.acceptsKey(h.sender)) return { ok: false, reason: 'workbit' };
    const senderHex = Buffer.from(h.sender).toString('hex');
    if (senderHex === this.publicHex) return { ok: false, reason: 'self' };
    const known = this.peers.get(senderHex);
    if (known !== undefined && !known.window.check(h.epoch, h.counter)) return { ok: false, reason: 'replay' };
    // A new sender's keys are derived but cached only once a packet of theirs authenticates,
    // so forged packets from random keys cannot push real peers out of the cache.
    const state = known ?? this.derive(h.sender);
    if (state === undefined) return { ok: false, reason: 'bad-key' };
    let body: Uint8Array;
    try {
      body = this.sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null, packet.subarray(HEADER_BYTES), packet.subarray(0, HEADER_BYTES), nonceFor(h.epoch, h.counter), state.rx);
    } catch {
      return { ok: false, reason: 'auth' };
    }
    if (!state.window.check(h.epoch, h.counter)) return { ok: false, reason: 'replay' };
    state.window.accept(h.epoch, h.counter);
    this.remember(senderHex, state); // (re)insert at the back: Map order is our LRU order
    return { ok: true, kind: h.kind, sender: new Uint8Array(h.sender), senderHex, body };
  }

  /** Number of peers with cached keys. */
  get peerCount(): number {
    return this.peers.size;
  }

  private state(peer: Uint8Array, hex: string): PeerState | undefined {
    const cached = this.peers.get(hex);
    if (cached !== undefined) {
      this.peers.delete(hex); // move to the back: Map order is our LRU order
      this.peers.set(hex, cached);
      return cached;
    }
    const fresh = this.derive(peer);
    if (fresh !== undefined) this.remember(hex, fresh);
    return fresh;
  }

  private remember(hex: string, state: PeerState): void {
    this.peers.delete(hex);
    if (this.peers.size >= this.maxPeers) {
      const oldest = this.peers.keys().next().value;
      if (oldest !== undefined) this.peers.delete(oldest);
    }
    this.peers.set(hex, state);
  }

  private derive(peer: Uint8Array): PeerState | undefined {
    let shared: Uint8Array;
    try {
      shared = this.sodium.crypto_scalarmult(this.secret, peer);
    } catch {
      return undefined; // low-order point: libsodium refuses an all-zero shared secret
    }
    const dirKey = (a: Uint8Array, b: Uint8Array): Uint8Array => {
      const msg = new Uint8Array(DIR_LABEL.length + 64);
      msg.set(DIR_LABEL, 0);
      msg.set(a, DIR_LABEL.length);
      msg.set(b, DIR_LABEL.length + 32);
      return this.sodium.crypto_generichash(32, msg, shared);
    };
    return { tx: dirKey(this.publicKey, peer), rx: dirKey(peer, this.publicKey), window: new ReplayWindow() };
  }
}

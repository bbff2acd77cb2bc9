// Stateless cookies: a receiver under load asks a new sender to prove its source address before
// it spends an X25519 on the sender's key (the idea of WireGuard's cookie reply and mac2;
// docs/PROTOCOL.md section 5.7). Nothing is stored per sender:
//
//   cookie = BLAKE2b-128(key = R, "wirehub/1 cookie" || sender key (32) || compact source address)
//   mac    = BLAKE2b-128(key = cookie, datagram bytes before the mac)      (the FLAG_COOKIE trailer)
//
// R is a random 32-byte secret replaced every COOKIE_ROTATE ms (the previous one is still
// accepted, so a cookie lives from COOKIE_ROTATE to twice that). The cookie reply that carries a cookie to the sender (68 bytes, never sealed):
//
//   offset size  field
//   0      1     magic 0xF7
//   1      1     frame version, 1
//   2      1     kind 3 (KIND_COOKIE)
//   3      1     flags, 0
//   4      32    the replying node's public key
//   36     8     epoch of the datagram being answered (copied from its header)
//   44     8     counter of the datagram being answered (copied from its header)
//   52     16    cookie
//
// Only a sender that receives at the source address sees the cookie; a spoofer never does.
import type { Sodium } from '../crypto/sodium.js';
import type { Clock } from '../util/clock.js';
import { encodeCompactAddr, type Addr } from './addr.js';
import { COOKIE_MAC_BYTES, FRAME_VERSION, HEADER_BYTES, KIND_COOKIE, MAGIC } from './packet.js';
import { COOKIE_ROTATE } from '../params.js';

export const COOKIE_BYTES = 16;
export const COOKIE_REPLY_BYTES = HEADER_BYTES + COOKIE_BYTES; // 68
export const COOKIE_SECRET_BYTES = 32;
const COOKIE_LABEL = new TextEncoder().encode('wirehub/1 cookie'); // 16 bytes

export interface CookieReply {
  responder: Uint8Array;
  epoch: bigint;
  counter: bigint;
  cookie: Uint8Array;
}

/** The cookie for `sender` at `from` under `secret`. */
export function makeCookie(sodium: Sodium, secret: Uint8Array, sender: Uint8Array, from: Addr): Uint8Array {
  const addr = encodeCompactAddr(from);
  const msg = new Uint8Array(COOKIE_LABEL.length + 32 + addr.length);
  msg.set(COOKIE_LABEL, 0);
  msg.set(sender, COOKIE_LABEL.length);
  msg.set(addr, COOKIE_LABEL.length + 32);
  return sodium.crypto_generichash(COOKIE_BYTES, msg, secret);
}

/** The trailer MAC of a datagram (`sealed` = all of it before the trailer). */
export function cookieMac(sodium: Sodium, cookie: Uint8Array, sealed: Uint8Array): Uint8Array {
  return sodium.crypto_generichash(COOKIE_MAC_BYTES, sealed, cookie);
}

export function writeCookieReply(r: CookieReply): Uint8Array {
  const out = new Uint8Array(COOKIE_REPLY_BYTES);
  out.set([MAGIC, FRAME_VERSION, KIND_COOKIE, 0], 0);
  out.set(r.responder, 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(36, r.epoch);
  dv.setBigUint64(44, r.counter);
  out.set(r.cookie, HEADER_BYTES);
  return out;
}

/** True when a datagram claims to be a cookie reply (it is then never opened as sealed). */
export function isCookieReply(p: Uint8Array): boolean {
  return p.length >= 3 && p[0] === MAGIC && p[2] === KIND_COOKIE;
}

export function parseCookieReply(p: Uint8Array): CookieReply | undefined {
  if (p.length !== COOKIE_REPLY_BYTES || p[0] !== MAGIC || p[1] !== FRAME_VERSION || p[2] !== KIND_COOKIE || p[3] !== 0) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  return { responder: p.slice(4, 36), epoch: dv.getBigUint64(36), counter: dv.getBigUint64(44), cookie: p.slice(HEADER_BYTES) };
}

/** The receiver's side: the rotating secret, cookies to hand out, and the check of trailers. */
export class CookieJar {
  private current: Uint8Array;
  private previous: Uint8Array;
  private period: number;

  constructor(private readonly sodium: Sodium, private readonly clock: Clock, private readonly random: (n: number) => Uint8Array) {
    this.current = random(COOKIE_SECRET_BYTES);
    this.previous = random(COOKIE_SECRET_BYTES); // nothing was handed out under it
    this.period = Math.floor(clock.now() / COOKIE_ROTATE);
  }

  /** The cookie to send to `sender` at `from`, under the current secret. */
  cookieFor(sender: Uint8Array, from: Addr): Uint8Array {
    this.rotate();
    return makeCookie(this.sodium, this.current, sender, from);
  }

  /** True when `mac` is the trailer of `sealed` under a cookie of ours for (sender, from). */
  check(sender: Uint8Array, from: Addr, sealed: Uint8Array, mac: Uint8Array): boolean {
    this.rotate();
    for (const secret of [this.current, this.previous]) {
      const expected = cookieMac(this.sodium, makeCookie(this.sodium, secret, sender, from), sealed);
      if (this.sodium.memcmp(expected, mac)) return true;
    }
    return false;
  }

  /** Secrets belong to periods of COOKIE_ROTATE ms: the current period's and the one before are
   *  accepted, so a cookie lives from COOKIE_ROTATE to 2 × COOKIE_ROTATE. */
  private rotate(): void {
    const period = Math.floor(this.clock.now() / COOKIE_ROTATE);
    if (period === this.period) return;
    this.previous = period === this.period + 1 ? this.current : this.random(COOKIE_SECRET_BYTES);
    this.current = this.random(COOKIE_SECRET_BYTES);
    this.period = period;
  }
}

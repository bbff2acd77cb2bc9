// Sealed introductions for hole punching (docs/PROTOCOL.md, `punch-req` and `punch-notify`).
// The initiator A seals, to the target B's static key with the ordinary secure channel, a short
// body naming the rendezvous R it asks and, when it holds one, its own mapped address; R copies
// the sealed bytes into its punch-notify. B acts on a punch-notify only when the introduction
// opens under the key that the notify names (so that key itself asked: a rendezvous cannot
// speak for it), names the rendezvous it came through, and the key is one B trusts; B's replay
// window refuses an introduction it opened before. Anyone else's punch-notify, for any key,
// trusted or not, gets the same `ack` and nothing more: nothing a third party sees depends on
// whom B trusts. Pure computation: no clock, no socket.
import type { SecureChannel } from '../proto/channel.js';
import type { Addr } from '../proto/addr.js';
import { KIND_SEALED, parseHeader } from '../proto/packet.js';
import { decodeIntro, encodeIntro, type Intro } from '../proto/messages.js';
import { PING_PAD_TO, PUNCH_NOTIFY_BUDGET, PUNCH_NOTIFY_PROBES } from '../params.js';

/** The introduction A (`channel`) gives rendezvous `via` for `target`; undefined for a key no
 *  key can be derived with. */
export function sealIntro(channel: SecureChannel, target: Uint8Array, via: Uint8Array, own?: Addr): Uint8Array | undefined {
  try {
    return channel.seal(target, encodeIntro({ r: via, ...(own ? { a: own } : {}) }));
  } catch {
    return undefined;
  }
}

export type IntroVerdict = { ok: true; intro: Intro } | { ok: false; reason: string };

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a).equals(b);

/**
 * Checks the introduction `frame` of a punch-notify that rendezvous `via` sent for key `from`.
 * The cheap checks come first; the frame is opened (which records it in `from`'s replay
 * window) only for a trusted key.
 */
export function openIntro(channel: SecureChannel, frame: Uint8Array | undefined, from: Uint8Array, via: Uint8Array, trusted: (hex: string) => boolean): IntroVerdict {
  if (frame === undefined) return { ok: false, reason: 'no-intro' };
  const h = parseHeader(frame);
  if (typeof h === 'string' || h.kind !== KIND_SEALED) return { ok: false, reason: 'intro-frame' };
  if (!same(h.sender, from)) return { ok: false, reason: 'intro-not-from-key' };
  if (!trusted(Buffer.from(from).toString('hex'))) return { ok: false, reason: 'untrusted' };
  const opened = channel.open(frame);
  if (!opened.ok) return { ok: false, reason: `intro-${opened.reason}` };
  const d = decodeIntro(opened.body);
  if (!d.ok) return { ok: false, reason: 'intro-body' };
  if (!same(d.intro.r, via)) return { ok: false, reason: 'intro-rendezvous' };
  return d;
}

/** Probes a notified node sends for a punch-notify of `notifySize` bytes: at most
 *  PUNCH_NOTIFY_PROBES, and at most PUNCH_NOTIFY_BUDGET times the notify's size in all. */
export function notifyProbes(notifySize: number): number {
  return Math.max(0, Math.min(PUNCH_NOTIFY_PROBES, Math.floor((PUNCH_NOTIFY_BUDGET * notifySize) / PING_PAD_TO)));
}

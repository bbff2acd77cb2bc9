// The workbit refusal (frame kind 4; docs/PROTOCOL.md, "Workbit refusal"): what a node answers,
// unsealed, to a datagram it drops because the sender's key lacks the proof of work it asks.
// Without it a refused node sees only silence, the same as from a wrong address. Byte by byte:
//
//   offset size  field
//   0      1     magic 0xF7
//   1      1     frame version, 1
//   2      1     kind 4 (KIND_REFUSAL)
//   3      1     flags, 0
//   4      32    the refusing node's public key
//   36     8     epoch of the refused datagram (copied from its header)
//   44     8     counter of the refused datagram (copied from its header)
//   52     2     the workbit the refusing node asks, unsigned big-endian, 1..256
//   54     1     L, the length of the namespace in bytes, 0..MAX_REFUSAL_NAMESPACE
//   55     L     the namespace, UTF-8
//
// 55 + L bytes: never more than the datagram it answers (the smallest sealed datagram is 70
// bytes; a refusal that would not fit is not sent). It is not authenticated (the refused key is
// exactly the one the node will not spend an X25519 on), so a receiver takes it only as a report
// about a node it sent to, never as a reason to do anything.
import { FRAME_VERSION, MAGIC } from './packet.js';

export const KIND_REFUSAL = 4;
export const REFUSAL_FIXED_BYTES = 55;
/** Longest namespace a refusal carries (longer ones are not reported). */
export const MAX_REFUSAL_NAMESPACE = 64;

export interface Refusal {
  responder: Uint8Array;
  epoch: bigint;
  counter: bigint;
  workbit: number;
  namespace: string;
}

/** The refusal's bytes, or undefined when the namespace is too long to carry. */
export function writeRefusal(r: Refusal): Uint8Array | undefined {
  const ns = Buffer.from(r.namespace, 'utf8');
  if (ns.length > MAX_REFUSAL_NAMESPACE || !Number.isInteger(r.workbit) || r.workbit < 1 || r.workbit > 256) return undefined;
  const out = new Uint8Array(REFUSAL_FIXED_BYTES + ns.length);
  out.set([MAGIC, FRAME_VERSION, KIND_REFUSAL, 0], 0);
  out.set(r.responder, 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(36, r.epoch);
  dv.setBigUint64(44, r.counter);
  dv.setUint16(52, r.workbit);
  out[54] = ns.length;
  out.set(ns, REFUSAL_FIXED_BYTES);
  return out;
}

/** True when a datagram claims to be a refusal (it is then never opened as sealed). */
export function isRefusal(p: Uint8Array): boolean {
  return p.length >= 3 && p[0] === MAGIC && p[2] === KIND_REFUSAL;
}

/** Parses a refusal; undefined for anything malformed (wrong size, version, flags, values). */
export function parseRefusal(p: Uint8Array): Refusal | undefined {
  if (p.length < REFUSAL_FIXED_BYTES || p[0] !== MAGIC || p[1] !== FRAME_VERSION || p[2] !== KIND_REFUSAL || p[3] !== 0) return undefined;
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const workbit = dv.getUint16(52);
  const len = p[54]!;
  if (workbit < 1 || workbit > 256 || len > MAX_REFUSAL_NAMESPACE || p.length !== REFUSAL_FIXED_BYTES + len) return undefined;
  let namespace: string;
  try {
    namespace = new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(REFUSAL_FIXED_BYTES));
  } catch {
    return undefined;
  }
  // A namespace is one token of a config file; this one is shown to the user: nothing that could
  // move a terminal's cursor or split a line or a shell word gets through.
  if (/[\p{C}\s'"`$\\]/u.test(namespace)) return undefined;
  return { responder: p.slice(4, 36), epoch: dv.getBigUint64(36), counter: dv.getBigUint64(44), workbit, namespace };
}

// Invitations (docs/PROTOCOL.md section 7.8) and the proof an `alias` request carries (section
// 7.4): pure functions, no I/O.
//
// An invitation's secret `s` is an X25519 private key, the alias key, whose public half `S`
// meets the network's workbit. The joiner speaks to the inviter AS `S` during the join, so the
// channel itself (sealed under X25519(s, inviter)) proves that it holds `s`, which never travels.
// Its `alias` request names the joiner's new key `J` with a MAC that only the holder of J's
// private key can compute:
//   m = BLAKE2b-256(key = X25519(j, I), "wirehub/1 alias" || S || J || x)
// (I the inviter's key, x the request's transaction ID), so a holder of the invitation cannot
// get someone else's key trusted.
import { decodeCanonical, encodeDict } from './bencode.js';
import { decodeRecords, encodeRecords, type NodeRecord } from './messages.js';
import type { Sodium } from '../crypto/sodium.js';

export const ALIAS_LABEL = new TextEncoder().encode('wirehub/1 alias');
export const INVITATION_PREFIX = 'wh-invite-1:';
/** Largest invitation line `decodeInvitation` reads (boot records are 39..83 bytes each). */
export const MAX_INVITATION_CHARS = 4096;
const NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;

function x25519(sodium: Sodium, secret: Uint8Array, pub: Uint8Array): Uint8Array | undefined {
  try {
    const s = sodium.crypto_scalarmult(secret, pub);
    return s.every((b) => b === 0) ? undefined : s;
  } catch {
    return undefined; // a small-order point
  }
}

function proofInput(alias: Uint8Array, joiner: Uint8Array, x: Uint8Array): Uint8Array {
  const msg = new Uint8Array(ALIAS_LABEL.length + 32 + 32 + x.length);
  msg.set(ALIAS_LABEL, 0);
  msg.set(alias, ALIAS_LABEL.length);
  msg.set(joiner, ALIAS_LABEL.length + 32);
  msg.set(x, ALIAS_LABEL.length + 64);
  return msg;
}

/** The joiner's `m`: proves it holds the private key of `joiner` (its public key). */
export function aliasProof(sodium: Sodium, joinerSecret: Uint8Array, inviter: Uint8Array, alias: Uint8Array, x: Uint8Array): Uint8Array | undefined {
  const shared = x25519(sodium, joinerSecret, inviter);
  if (shared === undefined) return undefined;
  const joiner = sodium.crypto_scalarmult_base(joinerSecret);
  return sodium.crypto_generichash(32, proofInput(alias, joiner, x), shared);
}

/** The inviter's check of `m`, in constant time. */
export function checkAliasProof(sodium: Sodium, inviterSecret: Uint8Array, joiner: Uint8Array, alias: Uint8Array, x: Uint8Array, m: Uint8Array): boolean {
  const shared = x25519(sodium, inviterSecret, joiner);
  if (shared === undefined || m.length !== 32) return false;
  return sodium.memcmp(sodium.crypto_generichash(32, proofInput(alias, joiner, x), shared), m);
}

/** Everything a newcomer needs: section 7.8. */
export interface Invitation {
  /** The network's name (the joiner's file is NAME.conf). */
  network: string;
  /** The inviter's public key. */
  inviter: Uint8Array;
  /** The alias private key (the single-use secret). */
  secret: Uint8Array;
  workbit: number;
  namespace: string;
  /** The inviter's boot nodes, resolved to addresses. */
  boots: NodeRecord[];
  /** Unix seconds after which the inviter refuses it (informative: the inviter decides). */
  expires: number;
  /** The hostname the inviter will give the joiner, if it chose one. */
  hostname?: string;
}

export function encodeInvitation(inv: Invitation): string {
  const d: Record<string, unknown> = {
    v: 1, n: inv.network, k: inv.inviter, s: inv.secret, w: inv.workbit, ns: inv.namespace,
    b: encodeRecords(inv.boots), e: inv.expires, ...(inv.hostname !== undefined ? { h: inv.hostname } : {}),
  };
  return INVITATION_PREFIX + Buffer.from(encodeDict(d)).toString('base64url');
}

export type InvitationResult = { ok: true; invitation: Invitation } | { ok: false; error: string };

/** Never throws; the error never quotes the line (it holds a secret). */
export function decodeInvitation(line: string): InvitationResult {
  const fail = (error: string): InvitationResult => ({ ok: false, error });
  const text = line.trim();
  if (text.length > MAX_INVITATION_CHARS) return fail(`an invitation is at most ${MAX_INVITATION_CHARS} characters, got ${text.length}`);
  if (!text.startsWith(INVITATION_PREFIX)) return fail(`not an invitation (it starts with ${INVITATION_PREFIX})`);
  const b64 = text.slice(INVITATION_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) return fail('not an invitation (characters outside URL-safe base64; was it cut or wrapped?)');
  const v = decodeCanonical(Buffer.from(b64, 'base64url'));
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return fail('not an invitation (its contents do not decode; was it cut?)');
  const d = v as Record<string, unknown>;
  const bytes = (k: string, len?: number) => (d[k] instanceof Uint8Array && (len === undefined || (d[k] as Uint8Array).length === len) ? (d[k] as Uint8Array) : undefined);
  const text8 = (k: string) => { const b = bytes(k); return b === undefined ? undefined : Buffer.from(b).toString('utf8'); };
  const int = (k: string, max: number) => (typeof d[k] === 'number' && Number.isInteger(d[k]) && (d[k] as number) >= 0 && (d[k] as number) <= max ? (d[k] as number) : undefined);
  if (d.v !== 1) return fail('an invitation of another version (this wh reads version 1)');
  const network = text8('n'), inviter = bytes('k', 32), secret = bytes('s', 32), workbit = int('w', 256), namespace = text8('ns');
  const b = bytes('b'), expires = int('e', 2 ** 53), hostname = d.h === undefined ? undefined : text8('h');
  const boots = b === undefined ? undefined : decodeRecords(b);
  if (network === undefined || !NAME_RE.test(network)) return fail('the invitation has no valid network name');
  if (inviter === undefined || secret === undefined) return fail('the invitation lacks the inviter key or the secret');
  if (workbit === undefined || namespace === undefined || namespace.length === 0) return fail('the invitation lacks the workbit or namespace');
  if (boots === undefined) return fail('the invitation\'s boot nodes do not decode');
  if (expires === undefined) return fail('the invitation lacks its expiry');
  if (d.h !== undefined && (hostname === undefined || !/^[A-Za-z0-9_.-]{1,63}$/.test(hostname))) return fail('the invitation\'s hostname is not valid');
  return { ok: true, invitation: { network, inviter, secret, workbit, namespace, boots, expires, ...(hostname !== undefined ? { hostname } : {}) } };
}

/** The network file cut into `alias-ok` parts of at most `chunk` bytes; undefined over `maxParts`. */
export function splitParts(file: Uint8Array, chunk: number, maxParts: number): Uint8Array[] | undefined {
  const n = Math.max(1, Math.ceil(file.length / chunk));
  if (n > maxParts || file.length === 0) return undefined;
  return Array.from({ length: n }, (_, i) => file.subarray(i * chunk, Math.min(file.length, (i + 1) * chunk)));
}

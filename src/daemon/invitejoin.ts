// The joiner's side of an invitation (docs/PROTOCOL.md section 7.6 "Joining with an
// invitation"), run by `wh join` before the node starts: a short-lived DHT node whose key is the
// invitation's alias key reaches the inviter the way nodes reach NATed peers (a punch through the
// inviter's boot nodes as rendezvous: they name its address and notify it with our sealed
// introduction; the inviter, seeing a pending invitation's alias key, probes back), then asks it
// with `alias` requests for the network file, part by part.
import { DhtNode } from '../dht/node.js';
import { toHex } from '../dht/id.js';
import { TransportSet, type NodeTransport } from '../net/transport.js';
import { Puncher } from '../nat/punch.js';
import { ALIAS_PAD_TO, ALIAS_RETRIES, ALIAS_TIMEOUT, JOIN_PUNCH_RETRY, JOIN_TIMEOUT } from '../params.js';
import { aliasProof, type Invitation } from '../proto/alias.js';
import { addrKey, type Addr } from '../proto/addr.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Clock } from '../util/clock.js';

export class JoinError extends Error {}

export interface JoinOptions {
  sodium: Sodium;
  clock: Clock;
  invitation: Invitation;
  /** The joiner's new private key (meets the network's workbit). */
  secret: Uint8Array;
  /** The socket of the short-lived node (an ephemeral UDP port). */
  transport: NodeTransport;
  /** Progress lines for the user (never the secret). */
  say?: (line: string) => void;
  timeout?: number;
}

/** The network file the inviter sent (its bytes), or JoinError saying why not. */
export async function joinWithInvitation(o: JoinOptions): Promise<Uint8Array> {
  const inv = o.invitation;
  const inviterHex = toHex(inv.inviter);
  let inviterAddr: Addr | undefined;
  const dht = new DhtNode({
    sodium: o.sodium, secret: inv.secret, workbit: inv.workbit, namespace: inv.namespace,
    transport: new TransportSet([o.transport]), clock: o.clock,
    onVerified: (id, addr) => { if (toHex(id) === inviterHex) inviterAddr = addr; },
  });
  const sleep = (ms: number) => new Promise<void>((r) => o.clock.setTimeout(r, ms));
  const deadline = o.clock.now() + (o.timeout ?? JOIN_TIMEOUT);
  try {
    const boots = inv.boots.map((b) => ({ key: b.key, hex: toHex(b.key), addr: b.addr }));
    if (boots.length === 0) throw new JoinError('the invitation names no boot node: the inviter\'s network file has no boot line');
    const bootHexes = new Set(boots.map((b) => b.hex));
    const puncher = new Puncher({ dht, clock: o.clock, isTrusted: () => false, isRendezvous: (hex) => bootHexes.has(hex), announceAddr: () => undefined });
    // The boot nodes need only to know us at this address (no self lookup: the inviter is
    // reached through them, not found in the DHT).
    const answered = (await Promise.all(boots.map((b) => dht.ping(b.key, b.addr)))).filter((r) => r !== undefined).length;
    if (answered === 0) throw new JoinError(`no boot node of the invitation answered (${boots.map((b) => addrKey(b.addr)).join(', ')})`);
    o.say?.(`reaching the inviter through ${answered} boot node${answered === 1 ? '' : 's'}`);
    let accepted = false;
    while (inviterAddr === undefined && o.clock.now() < deadline) {
      const r = await puncher.punch(inv.inviter, boots, () => inviterAddr !== undefined, () => { accepted = true; });
      if (inviterAddr === undefined && !r.direct) await sleep(JOIN_PUNCH_RETRY);
    }
    if (inviterAddr === undefined) {
      throw new JoinError(accepted ? 'the boot nodes know the inviter, but it did not answer our probes (is the invitation still pending? is its NAT symmetric?)'
        : 'no boot node knows the inviter: is its node up?');
    }
    const addr: Addr = inviterAddr;
    o.say?.(`inviter reached at ${addrKey(addr)}`);
    return await fetchNetworkFile({ sodium: o.sodium, dht, addr, inviter: inv.inviter, secret: o.secret });
  } finally {
    dht.close();
  }
}

/** The alias exchange itself: part after part of the network file, from the inviter at `addr`,
 *  asked by `dht` (whose key is the invitation's alias key) for the joiner key of `secret`. */
export async function fetchNetworkFile(o: { sodium: Sodium; dht: DhtNode; addr: Addr; inviter: Uint8Array; secret: Uint8Array; timeout?: number; retries?: number }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const joiner = o.sodium.crypto_scalarmult_base(o.secret);
  let count = 1;
  for (let i = 0; i < count; i++) {
    let proofFailed = false;
    const reply = await o.dht.rpc.request(o.addr, o.inviter, (x) => {
      const m = aliasProof(o.sodium, o.secret, o.inviter, o.dht.id, x);
      if (m === undefined) proofFailed = true;
      return { t: 'alias', x, k: joiner, m: m ?? new Uint8Array(32), ...(i > 0 ? { i } : {}) };
    }, { padTo: ALIAS_PAD_TO, timeout: o.timeout ?? ALIAS_TIMEOUT, retries: o.retries ?? ALIAS_RETRIES });
    if (proofFailed) throw new JoinError('the inviter\'s key is not a usable key');
    if (reply === undefined) throw new JoinError('the inviter did not answer the invitation (it may be down, or it dropped our proof)');
    const msg = reply.msg;
    if (msg.t === 'error') throw new JoinError(`the inviter refused: ${msg.m ?? `error ${msg.c}`}`);
    if (msg.t !== 'alias-ok' || msg.i !== i || (i > 0 && msg.c !== count)) throw new JoinError(`the inviter answered with something else (${msg.t})`);
    count = msg.c;
    parts.push(msg.d);
  }
  return Buffer.concat(parts);
}

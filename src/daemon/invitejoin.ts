// The joiner's side of an invitation (docs/PROTOCOL.md section 7.6 "Joining with an
// invitation"), run by `wh join` before the node starts: a short-lived DHT node whose key is the
// invitation's alias key reaches the inviter the way nodes reach NATed peers (a punch through the
// inviter's boot nodes as rendezvous: they name its address and notify it with our sealed
// introduction; the inviter, seeing a pending invitation's alias key, probes back), then asks it
// with `alias` requests for the network file, part by part. When the punch does not get through
// (a symmetric NAT on one side, a port-restricted or symmetric one on the other), the same
// requests ride a relay session at the rendezvous that accepted the punch (section 7.6 "Joining
// through a relay", src/daemon/inviterelay.ts).
import { DhtNode } from '../dht/node.js';
import { toHex } from '../dht/id.js';
import { TransportSet, type NodeTransport } from '../net/transport.js';
import { Puncher } from '../nat/punch.js';
import { ALIAS_PAD_TO, ALIAS_RETRIES, ALIAS_TIMEOUT, JOIN_PUNCH_RETRY, JOIN_TIMEOUT } from '../params.js';
import { aliasProof, type Invitation } from '../proto/alias.js';
import { addrKey, type Addr } from '../proto/addr.js';
import type { Sodium } from '../crypto/sodium.js';
import type { Rpc } from '../dht/rpc.js';
import { MAX_RELAY_DATA } from '../proto/messages.js';
import type { RelayRef } from '../relay/link.js';
import { relayedRpc } from './inviterelay.js';
import type { Clock } from '../util/clock.js';

export class JoinError extends Error {}
/** The inviter did not answer (the exchange may be tried again another way). */
class NoAnswer extends JoinError {}

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
    // Our half of a relay session with the inviter at each rendezvous that accepted the punch
    // (the inviter opens its half when that rendezvous notifies it): open while the probes run.
    const halves = new Map<string, Promise<boolean>>();
    const openHalf = (via: RelayRef) => {
      if (!halves.has(via.hex)) halves.set(via.hex, dht.rpc.request(via.addr, via.key, (x) => ({ t: 'relay-open', x, k: inv.inviter })).then((r) => r?.msg.t === 'relay-ok'));
    };
    while (inviterAddr === undefined && o.clock.now() < deadline) {
      const r = await puncher.punch(inv.inviter, boots, () => inviterAddr !== undefined, (via) => { accepted = true; openHalf(via); });
      if (inviterAddr !== undefined) break;
      if (r.via !== undefined && await halves.get(r.via.hex)) {
        o.say?.(`no direct path to the inviter: asking through the relay ${addrKey(r.via.addr)}`);
        try {
          return await relayedFetch(o, dht, r.via);
        } catch (e) {
          if (!(e instanceof NoAnswer)) throw e;
          halves.delete(r.via.hex); // its session may have ended: open it again with the next punch
        }
      }
      if (!r.direct) await sleep(JOIN_PUNCH_RETRY);
    }
    if (inviterAddr === undefined) {
      throw new JoinError(accepted ? 'the boot nodes know the inviter, but it answered neither our probes nor through the relay (is the invitation still pending?)'
        : 'no boot node knows the inviter: is its node up?');
    }
    const addr: Addr = inviterAddr;
    o.say?.(`inviter reached at ${addrKey(addr)}`);
    return await fetchNetworkFile({ sodium: o.sodium, dht, addr, inviter: inv.inviter, secret: o.secret });
  } finally {
    dht.close();
  }
}

/** The exchange through the relay `via`: the frames of an Rpc forked on a relayed transport. */
async function relayedFetch(o: JoinOptions, dht: DhtNode, via: RelayRef): Promise<Uint8Array> {
  const inviterHex = toHex(o.invitation.inviter);
  const { rpc, transport } = relayedRpc(dht, via, o.invitation.inviter);
  dht.extend({
    oneWay: (inc) => {
      const m = inc.msg;
      if (m.t !== 'relayed' || inc.senderHex !== via.hex || toHex(m.k) !== inviterHex || m.g !== undefined) return false;
      transport.deliver(m.d);
      return true;
    },
  });
  try {
    return await fetchNetworkFile({ sodium: o.sodium, dht, rpc, addr: via.addr, inviter: o.invitation.inviter, secret: o.secret, padTo: MAX_RELAY_DATA });
  } finally {
    dht.extend({});
    rpc.close();
  }
}

/** The alias exchange itself: part after part of the network file, from the inviter at `addr`,
 *  asked by `dht` (whose key is the invitation's alias key) for the joiner key of `secret`;
 *  `rpc`: another way to the inviter than the DHT's socket (a relayed one), `padTo` its size. */
export async function fetchNetworkFile(o: { sodium: Sodium; dht: DhtNode; addr: Addr; inviter: Uint8Array; secret: Uint8Array; timeout?: number; retries?: number; rpc?: Rpc; padTo?: number }): Promise<Uint8Array> {
  const rpc = o.rpc ?? o.dht.rpc;
  const parts: Uint8Array[] = [];
  const joiner = o.sodium.crypto_scalarmult_base(o.secret);
  let count = 1;
  for (let i = 0; i < count; i++) {
    let proofFailed = false;
    const reply = await rpc.request(o.addr, o.inviter, (x) => {
      const m = aliasProof(o.sodium, o.secret, o.inviter, o.dht.id, x);
      if (m === undefined) proofFailed = true;
      return { t: 'alias', x, k: joiner, m: m ?? new Uint8Array(32), ...(i > 0 ? { i } : {}) };
    }, { padTo: o.padTo ?? ALIAS_PAD_TO, timeout: o.timeout ?? ALIAS_TIMEOUT, retries: o.retries ?? ALIAS_RETRIES });
    if (proofFailed) throw new JoinError('the inviter\'s key is not a usable key');
    if (reply === undefined) throw new NoAnswer('the inviter did not answer the invitation (it may be down, or it dropped our proof)');
    const msg = reply.msg;
    if (msg.t === 'error') throw new JoinError(`the inviter refused: ${msg.m ?? `error ${msg.c}`}`);
    if (msg.t !== 'alias-ok' || msg.i !== i || (i > 0 && msg.c !== count)) throw new JoinError(`the inviter answered with something else (${msg.t})`);
    count = msg.c;
    parts.push(msg.d);
  }
  return Buffer.concat(parts);
}

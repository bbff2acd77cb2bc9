// Invitations through a relay (docs/PROTOCOL.md section 7.6 "Joining through a relay"): when the
// joiner cannot punch to the inviter (a symmetric NAT on one side, a port-restricted or symmetric
// one on the other), the `alias` exchange rides a relay session between the invitation's alias
// key and the inviter, at the rendezvous that coordinated the punch: the inviter opened its half
// when that rendezvous notified it (as for any punch it acts on), the joiner opens the other. Each
// `alias` / `alias-ok` datagram is a whole sealed DHT frame (kind 1, at most MAX_RELAY_DATA bytes)
// carried in the `d` of `relay` / `relayed`, sealed end to end between the two keys: the relay
// sees nothing of it and grants nothing beyond its usual per-session and global limits.
// - RelayedTransport: a Transport whose datagrams go to one peer key through one relay; an Rpc
//   forked on it (same keys, admission and counters) seals, opens and matches answers as usual.
// - InviteRelay (the inviter): takes such frames only from the alias key of an invitation it
//   issued, and answers only `alias` requests whose sealed sender is that same key.
import { toHex } from '../dht/id.js';
import type { DhtNode } from '../dht/node.js';
import type { Incoming, Rpc } from '../dht/rpc.js';
import type { Receiver, Transport } from '../net/transport.js';
import type { Addr } from '../proto/addr.js';
import { MAX_RELAY_DATA, type MessageOf } from '../proto/messages.js';
import type { RelayRef } from '../relay/link.js';

/** Datagrams to `peer` through `relay`, as `relay` data; what the relay brings back from it is
 *  handed in with deliver(). */
export class RelayedTransport implements Transport {
  private receiver: Receiver = () => undefined;
  constructor(private readonly rpc: Rpc, readonly relay: RelayRef, private readonly peer: Uint8Array) {}

  send(_to: Addr, data: Uint8Array): void {
    if (data.length > MAX_RELAY_DATA) { this.rpc.counters.add('drop-out:relayed-frame-size'); return; }
    this.rpc.send(this.relay.addr, this.relay.key, { t: 'relay', k: this.peer, d: data });
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  /** A frame the relay brought from the peer (its source is the relay's address). */
  deliver(data: Uint8Array): void {
    this.receiver(data, this.relay.addr);
  }

  close(): void {
    this.receiver = () => undefined;
  }
}

/** An Rpc on `dht`'s keys whose datagrams go to `peer` through `relay`. */
export function relayedRpc(dht: DhtNode, relay: RelayRef, peer: Uint8Array, onRequest: (req: Incoming, rpc: Rpc) => void = () => undefined): { rpc: Rpc; transport: RelayedTransport } {
  const transport = new RelayedTransport(dht.rpc, relay, peer);
  const rpc: Rpc = dht.rpc.fork(transport, {
    onRequest: (req) => onRequest(req, rpc),
    onOneWay: () => dht.counters.add('alias-relayed-unexpected'),
  });
  return { rpc, transport };
}

type AliasHandler = (req: Incoming, m: MessageOf<'alias'>, maxSize: number, rpc: Rpc) => number;

/** The inviter's side: one relayed channel per issued invitation whose joiner writes to us. */
export class InviteRelay {
  /** By alias key hex; only keys of invitations we issued (as many as `wh invite` made). */
  private readonly channels = new Map<string, { relayHex: string; rpc: Rpc; transport: RelayedTransport }>();

  constructor(private readonly dht: DhtNode, private readonly isIssued: (hex: string) => boolean, private readonly onAlias: AliasHandler) {}

  /** A sealed frame relayed to us (src/relay/client.ts, from a rendezvous of ours): true when
   *  taken, false (the caller counts it) when its key is no invitation of ours. */
  onFrame(inc: Incoming, m: MessageOf<'relayed'>): boolean {
    const aliasHex = toHex(m.k);
    for (const k of this.channels.keys()) if (!this.isIssued(k)) this.drop(k);
    if (!this.isIssued(aliasHex)) return false;
    let ch = this.channels.get(aliasHex);
    if (ch === undefined || ch.relayHex !== inc.senderHex) {
      if (ch !== undefined) this.drop(aliasHex);
      const made = relayedRpc(this.dht, { key: inc.sender, hex: inc.senderHex, addr: inc.from }, m.k, (req, rpc) => this.onRequest(req, aliasHex, rpc));
      ch = { relayHex: inc.senderHex, ...made };
      this.channels.set(aliasHex, ch);
    }
    ch.transport.deliver(m.d);
    return true;
  }

  close(): void {
    for (const k of [...this.channels.keys()]) this.drop(k);
  }

  private onRequest(req: Incoming, aliasHex: string, rpc: Rpc): void {
    // The frame is sealed by its sender: it must be the key the relay says it came from, and
    // the only request this path answers is `alias`.
    if (req.senderHex !== aliasHex || req.msg.t !== 'alias') { this.dht.counters.add('alias-relayed-refused'); return; }
    this.onAlias(req, req.msg, Math.min(req.size, MAX_RELAY_DATA), rpc);
  }

  private drop(aliasHex: string): void {
    const ch = this.channels.get(aliasHex);
    if (ch === undefined) return;
    ch.rpc.close();
    ch.transport.close();
    this.channels.delete(aliasHex);
  }
}

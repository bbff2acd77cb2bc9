// Which datagrams skip the per-source packet limit (src/dht/rpc.ts `isExempt`, checked before
// any cryptography): relay traffic, and only it. A relay-data frame (kind 2) whose clear sender
// key is a live member of a session both members opened, from exactly that member's address;
// or, on a client, one from the relay of one of its links, from that relay's address. Those
// keys authenticated before, so their shared keys are cached and no X25519 is spent on them;
// frames from the same IP under any other key, of kind 1, or from another port are limited
// like anyone's (docs/PROTOCOL.md section 9.9).
import { sameAddr, type Addr } from '../proto/addr.js';
import { KIND_RELAY, parseHeader } from '../proto/packet.js';
import { toHex } from '../dht/id.js';
import type { RelayRef } from './link.js';
import type { RelaySessions } from './sessions.js';

export function relayExemption(sessions: RelaySessions, linkRelays: () => Iterable<{ relay: RelayRef }>, now: () => number): (from: Addr, data: Uint8Array) => boolean {
  return (from, data) => {
    const h = parseHeader(data);
    if (typeof h === 'string' || h.kind !== KIND_RELAY) return false;
    const hex = toHex(h.sender);
    if (sessions.isMember(hex, from, now())) return true;
    for (const l of linkRelays()) if (l.relay.hex === hex && sameAddr(l.relay.addr, from)) return true;
    return false;
  };
}

// The records of a `nodes` answer (docs/PROTOCOL.md section 8.2), from the routing table.
// Only UDP contacts are given out: a node heard only over a WebSocket connection of ours (a
// client of our `listen ws://`) stays in our table, so our lookups and a rendezvous or relay
// reach it over that connection, but its address is that connection's TCP source, which is
// no UDP endpoint: a third party sending there would reach a NAT's TCP mapping or nothing
// (docs/NAT.md "WebSocket contacts"). Such a node is reached through us, never at an address.
import { isUdpAddr } from '../proto/addr.js';
import { recordSize, type NodeRecord } from '../proto/messages.js';
import { SEAL_OVERHEAD } from './rpc.js';
import type { Entry } from './table.js';

/** What a `nodes` answer may carry of `entries` (closest first) within `maxSize` bytes:
 *  the closest UDP contacts that fit (bencode overhead of the body is under 64 bytes);
 *  `truncated` when some did not fit. */
export function nodesRecords(entries: readonly Entry[], maxSize: number): { records: NodeRecord[]; truncated: boolean } {
  let budget = maxSize - SEAL_OVERHEAD - 64;
  const records: NodeRecord[] = [];
  for (const e of entries) {
    if (!isUdpAddr(e.addr)) continue;
    const r: NodeRecord = { key: e.id, addr: e.addr, direct: e.direct, ...(e.relay ? { relay: e.relay } : {}) };
    budget -= recordSize(r);
    if (budget < 0) return { records, truncated: true };
    records.push(r);
  }
  return { records, truncated: false };
}

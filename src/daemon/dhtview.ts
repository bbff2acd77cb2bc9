// The DHT nodes `wh show all` lists: each routing-table entry with its bucket, address, age and
// whether its claim to be directly reachable was verified (src/nat/reach.ts). Pure.
import type { DhtNodeView } from '../control/show.js';
import type { Entry } from '../dht/table.js';
import { keyToBase64 } from '../crypto/keys.js';
import { addrKey } from '../proto/addr.js';
import { SHOW_DHT_NODES_MAX } from '../params.js';

export interface DhtTableView {
  entries(): Entry[];
  bucketIndex(id: Uint8Array): number;
}

/** At most SHOW_DHT_NODES_MAX entries, deepest bucket (closest to us) first, then most
 *  recently seen; `reach` is the claims' verdicts (hex keys), `now` the daemon clock's time. */
export function dhtNodes(table: DhtTableView, reach: { confirmed: string[]; refuted: string[] }, now: number): DhtNodeView[] {
  const confirmed = new Set(reach.confirmed), refuted = new Set(reach.refuted);
  return table.entries()
    .map((e) => ({ e, bucket: table.bucketIndex(e.id) }))
    .sort((a, b) => b.bucket - a.bucket || b.e.lastSeen - a.e.lastSeen)
    .slice(0, SHOW_DHT_NODES_MAX)
    .map(({ e, bucket }): DhtNodeView => ({
      key: keyToBase64(e.id),
      address: addrKey(e.addr),
      bucket,
      lastSeenAgoSeconds: Math.max(0, Math.round((now - e.lastSeen) / 1000)),
      failures: e.failures,
      direct: e.direct,
      verified: !e.direct ? null : confirmed.has(e.hex) ? 'confirmed' : refuted.has(e.hex) ? 'refuted' : 'unchecked',
      relay: e.relay ? keyToBase64(e.relay) : null,
      rttSeconds: e.rtt !== undefined ? Math.round(e.rtt) / 1000 : null,
    }));
}

// Where each trusted peer is, and when to look for it again: a pure state machine (no I/O; the
// time is passed in). The daemon asks `due(now)` which peers to search or re-check, runs the
// DHT lookups and pings, and reports back with `located`, `searchFailed` and `checkFailed`.
//
//   searching --located--> direct --checkFailed x2--> searching
//   searching --searchFailed x PEER_OFFLINE_AFTER--> offline --located--> direct
//   direct/relay --pathDead (WireGuard got no answer, src/daemon/liveness.ts)--> searching
// A relay path that died is not opened again for a while (RELAY_HOLD_MIN, doubling).
// Searches back off from PEER_SEARCH_MIN to PEER_SEARCH_MAX and never stop.
import type { ShowPath } from '../control/show.js';
import { addrKey, sameAddr, type Addr } from '../proto/addr.js';
import {
  DIRECT_RETRY_MAX, DIRECT_RETRY_MIN, PEER_OFFLINE_AFTER, PEER_RECHECK, PEER_SEARCH_MAX, PEER_SEARCH_MIN, RELAY_HOLD_MAX, RELAY_HOLD_MIN,
} from '../params.js';

/** ms ± 50 %, so that two sides retrying do not stay in lock-step. */
const jitter = (ms: number, random: () => number) => Math.round(ms * (0.5 + random()));

export type PathKind = ShowPath;

export interface TrustedPeer {
  keyB64: string;
  key: Uint8Array;
  hostname?: string;
  ipv4?: string;
  ipv6?: string;
  /** Static endpoint hint from the config, tried before the DHT knows better. */
  endpoint?: Addr;
}

export interface PeerState {
  peer: TrustedPeer;
  path: PathKind;
  /** When `path` last changed (ms, the caller's clock). */
  since: number;
  endpoint?: Addr;
  /** While relayed: the relay's key (base64) and address. */
  relayKey?: string;
  relayAddr?: Addr;
  rtt?: number;
  /** Next time this peer is due for a search (not located) or a check (located). */
  nextAt: number;
  failures: number;
  checkFailures: number;
  busy: boolean;
  /** No relay is opened for this peer before this time (a relay path to it died unanswered). */
  relayHeldUntil: number;
  /** The last relay hold's length (0: none since WireGuard last heard the peer). */
  relayHold: number;
}

export interface PeerDiff {
  added: TrustedPeer[];
  removed: TrustedPeer[];
  /** Same key, different overlay addresses or name. */
  changed: { before: TrustedPeer; after: TrustedPeer }[];
}

const hexOf = (p: TrustedPeer) => Buffer.from(p.key).toString('hex');

export class PeerTracker {
  private readonly states = new Map<string, PeerState>();

  constructor(peers: readonly TrustedPeer[], now: number) {
    this.setPeers(peers, now);
  }

  /** Replaces the peer list (config reload); keeps the state of peers that stay. */
  setPeers(peers: readonly TrustedPeer[], now: number): PeerDiff {
    const diff: PeerDiff = { added: [], removed: [], changed: [] };
    const next = new Set(peers.map(hexOf));
    for (const [hex, st] of this.states) {
      if (!next.has(hex)) {
        this.states.delete(hex);
        diff.removed.push(st.peer);
      }
    }
    for (const p of peers) {
      const hex = hexOf(p);
      const st = this.states.get(hex);
      if (st === undefined) {
        this.states.set(hex, { peer: p, path: 'searching', since: now, nextAt: now, failures: 0, checkFailures: 0, busy: false,
          relayHeldUntil: -Infinity, relayHold: 0, ...(p.endpoint ? { endpoint: p.endpoint } : {}) });
        diff.added.push(p);
      } else if (st.peer.ipv4 !== p.ipv4 || st.peer.ipv6 !== p.ipv6 || st.peer.hostname !== p.hostname) {
        diff.changed.push({ before: st.peer, after: p });
        st.peer = p;
      } else {
        st.peer = p;
      }
    }
    return diff;
  }

  get(hex: string): PeerState | undefined {
    return this.states.get(hex);
  }

  /** Peers due for a search or a check; they are marked busy until reported back. */
  due(now: number): PeerState[] {
    const out: PeerState[] = [];
    for (const st of this.states.values()) {
      if (!st.busy && st.nextAt <= now) {
        st.busy = true;
        out.push(st);
      }
    }
    return out;
  }

  /** The peer answered us at `addr` (a direct, authenticated exchange). True if the endpoint changed. */
  located(hex: string, addr: Addr, now: number, rtt?: number): boolean {
    const st = this.states.get(hex);
    if (st === undefined) return false;
    const changed = !sameAddr(st.endpoint, addr) || st.path !== 'direct';
    if (st.path !== 'direct' || !sameAddr(st.endpoint, addr)) st.since = now;
    st.path = 'direct';
    st.endpoint = addr;
    delete st.relayKey;
    delete st.relayAddr;
    if (rtt !== undefined) st.rtt = rtt;
    st.failures = 0;
    st.checkFailures = 0;
    // `busy` stays as it is: a visit in progress releases the peer itself when it ends.
    st.nextAt = now + PEER_RECHECK;
    return changed;
  }

  /** A search found nothing (or nothing that answered). */
  searchFailed(hex: string, now: number): void {
    const st = this.states.get(hex);
    if (st === undefined || st.path === 'direct' || st.path === 'relay') { if (st) st.busy = false; return; }
    st.busy = false;
    st.failures++;
    if (st.failures >= PEER_OFFLINE_AFTER && st.path !== 'offline') {
      st.path = 'offline';
      st.since = now;
    }
    st.nextAt = now + Math.min(PEER_SEARCH_MAX, PEER_SEARCH_MIN * 2 ** Math.min(st.failures - 1, 16));
  }

  /** Traffic to the peer now goes through a relay; direct paths are still tried, with back-off. */
  relayed(hex: string, relayKey: string, relayAddr: Addr, now: number, random = Math.random): void {
    const st = this.states.get(hex);
    if (st === undefined) return;
    if (st.path !== 'relay' || st.relayKey !== relayKey) st.since = now;
    st.path = 'relay';
    st.relayKey = relayKey;
    st.relayAddr = relayAddr;
    st.failures = 0;
    st.nextAt = now + jitter(DIRECT_RETRY_MIN, random);
  }

  /** A relayed peer's direct attempt failed again: back off (with jitter), and keep trying. */
  directFailed(hex: string, now: number, random = Math.random): void {
    const st = this.states.get(hex);
    if (st === undefined) return;
    st.busy = false;
    st.failures++;
    st.nextAt = now + jitter(Math.min(DIRECT_RETRY_MAX, DIRECT_RETRY_MIN * 2 ** Math.min(st.failures, 16)), random);
  }

  /** A located peer did not answer its check; after two in a row it is searched again. */
  checkFailed(hex: string, now: number): void {
    const st = this.states.get(hex);
    if (st === undefined) return;
    st.busy = false;
    st.checkFailures++;
    if (st.checkFailures >= 2) {
      st.path = 'searching';
      st.since = now;
      st.failures = 0;
      st.nextAt = now;
    } else {
      st.nextAt = now + PEER_SEARCH_MIN;
    }
  }

  /** WireGuard got nothing back on the peer's path (src/daemon/liveness.ts): search again now.
   *  After a relay path, no relay for a while (a relay opened from a stale DHT entry of a peer
   *  that is gone reaches no one). */
  pathDead(hex: string, now: number): void {
    const st = this.states.get(hex);
    if (st === undefined || (st.path !== 'direct' && st.path !== 'relay')) return;
    if (st.path === 'relay') {
      st.relayHold = Math.min(RELAY_HOLD_MAX, st.relayHold > 0 ? 2 * st.relayHold : RELAY_HOLD_MIN);
      st.relayHeldUntil = now + st.relayHold;
    }
    st.path = 'searching';
    st.since = now;
    delete st.relayKey;
    delete st.relayAddr;
    st.checkFailures = 0;
    st.nextAt = now;
  }

  /** WireGuard heard the peer on its current path: relay holds start from the minimum again. */
  heard(hex: string): void {
    const st = this.states.get(hex);
    if (st !== undefined) st.relayHold = 0;
  }

  /** Whether a relay may be opened for the peer now. */
  mayRelay(hex: string, now: number): boolean {
    const st = this.states.get(hex);
    return st !== undefined && st.relayHeldUntil <= now;
  }

  /** Releases a peer without changing its state (e.g. the daemon is stopping). */
  release(hex: string): void {
    const st = this.states.get(hex);
    if (st) st.busy = false;
  }

  all(): PeerState[] {
    return [...this.states.values()];
  }
}

export function describePath(st: PeerState): string {
  if (st.path === 'direct' && st.endpoint) return `direct ${addrKey(st.endpoint)}`;
  if (st.path === 'relay' && st.relayKey) return `relay via ${st.relayKey}${st.relayAddr ? ` (${addrKey(st.relayAddr)})` : ''}`;
  return st.path;
}

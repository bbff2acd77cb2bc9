// The control request `ping` (`wh ping`, docs/NODE.md "wh ping"): one authenticated ping of a
// trusted peer through the WireGuard tunnel (src/daemon/tunnelping.ts), answered with the path
// the peer's machine holds when the pong came (direct endpoint, or relay and how it forwards)
// and the round trip.
import { keyToBase64 } from '../crypto/keys.js';
import type { ShowPath } from '../control/show.js';
import { PING_TIMEOUT, PING_TIMEOUT_MAX } from '../params.js';
import { addrKey } from '../proto/addr.js';
import type { NodeContext } from './context.js';
import type { TrustedPeer } from './peers.js';
import { resolvePeer, type PeerView } from './resolve.js';
import type { TunnelPing } from './tunnelping.js';

/** A refused ping request: its message is the control answer's error. */
export class PingError extends Error {}

export interface PingAnswer {
  name: string | null;
  key: string;
  /** The overlay address pinged. */
  ip: string;
  answered: boolean;
  rttMs: number | null;
  /** The peer's path when the pong came (or when the ping timed out). */
  path: ShowPath | 'down';
  /** The direct endpoint, when direct. */
  endpoint: string | null;
  /** The relay in use, when relayed: its key, its address, how it forwards. */
  relay: string | null;
  relayAddress: string | null;
  relayForwarding: 'kernel' | 'daemon' | 'websocket' | null;
  timeoutMs: number;
}

export function viewOf(p: TrustedPeer): PeerView {
  return { key: p.keyB64, hostname: p.hostname ?? null, ipv4: p.ipv4 ?? null, ipv6: p.ipv6 ?? null };
}

/** The `timeout` of a request (ms), bounded; PingError for a bad one. */
export function pingTimeout(ms: number | undefined): number {
  if (ms === undefined) return PING_TIMEOUT;
  if (!Number.isFinite(ms) || ms <= 0 || ms > PING_TIMEOUT_MAX) throw new PingError(`ping timeout must be more than 0 and at most ${PING_TIMEOUT_MAX / 1000} s`);
  return ms;
}

export async function pingPeer(ctx: NodeContext, pinger: TunnelPing | undefined, query: string, timeoutMs?: number): Promise<PingAnswer> {
  const timeout = pingTimeout(timeoutMs);
  if (ctx.wg === undefined) throw new PingError(`${ctx.opts.iface} is a public DHT node: it has no trusted peers to ping`);
  const all = ctx.paths.all();
  const r = resolvePeer(query, all.map(({ peer }) => viewOf(peer)), { network: ctx.config.name });
  if ('error' in r) throw new PingError(r.error);
  const found = all.find(({ peer }) => peer.keyB64 === r.peer.key)!;
  const self = ctx.config.peers.find((p) => p.keyB64 === ctx.publicB64);
  // The same family as our own socket's address (IPv4 first).
  const ip = self?.ipv4 !== undefined ? found.peer.ipv4 : found.peer.ipv6;
  if (ip === undefined) throw new PingError(`${query} has no overlay address of this node's family`);
  if (pinger === undefined) throw new PingError(`${ctx.opts.iface} cannot ping: its tunnel ping socket is not bound (see its log)`);
  const rtt = await pinger.ping(found.peer.key, ip, timeout);
  const v = ctx.paths.all().find(({ hex }) => hex === found.hex)?.view ?? found.view;
  const planeDown = ctx.wg.state !== 'up';
  return {
    name: found.peer.hostname ?? null,
    key: found.peer.keyB64,
    ip,
    answered: rtt !== undefined,
    rttMs: rtt !== undefined ? Math.round(rtt * 10) / 10 : null,
    path: planeDown ? 'down' : v.shown,
    endpoint: v.state === 'direct' && v.endpoint ? addrKey(v.endpoint) : null,
    relay: v.relay ? keyToBase64(v.relay.key) : null,
    relayAddress: v.relay ? addrKey(v.relay.addr) : null,
    relayForwarding: v.relay ? (v.transport === 'ws' ? 'websocket' : v.kernel ? 'kernel' : 'daemon') : null,
    timeoutMs: timeout,
  };
}

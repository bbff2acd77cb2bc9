// NAT classification from what other nodes tell us (pure; docs/NAT.md "NAT detection").
// Each sample is one pong: which node answered (its address) and the address it saw us at.
//   - no answer at all                                   -> 'blocked' (or unknown: not enough data)
//   - every observed address is one of ours, same port   -> 'none' (public)
//   - observed addresses agree on one public ip:port,
//     from at least two responders with different IPs    -> 'endpoint-independent' (cone)
//   - the same public IP but different ports              -> 'symmetric' (endpoint-dependent)
// Fewer than two distinct responder IPs cannot tell cone from symmetric: 'unknown'.
// A dual-stack node is seen at one address per family: the verdict is its IPv4 samples' when
// there are any (NAT is an IPv4 matter), else its IPv6 samples' (docs/NAT.md "IPv6").
import { isIP } from 'node:net';
import { addrKey, type Addr } from '../proto/addr.js';

export type NatType = 'unknown' | 'none' | 'endpoint-independent' | 'symmetric' | 'blocked';

export interface NatSample {
  responder: Addr;
  observed: Addr;
}

export interface NatVerdict {
  type: NatType;
  /** Our public address, when all responders agree on one. */
  publicAddr?: Addr;
  /** Distinct observed addresses, for display. */
  observed: string[];
  responders: number;
}

export function classifyNat(all: readonly NatSample[], opts: { localIps: readonly string[]; localPort: number; attempted?: number }): NatVerdict {
  const observed = [...new Set(all.map((s) => addrKey(s.observed)))];
  // A responder saw us in the family it was reached in: an IPv4 address reported over IPv6 (or
  // the reverse) is a lie, and would let one IPv6 responder decide an IPv6-only node's verdict.
  const honest = all.filter((s) => isIP(s.observed.host) === isIP(s.responder.host));
  const v4 = honest.filter((s) => isIP(s.observed.host) === 4);
  const samples = v4.length > 0 ? v4 : honest;
  const responderIps = new Set(samples.map((s) => s.responder.host));
  const base = { observed, responders: responderIps.size };
  if (samples.length === 0) return { ...base, type: all.length === 0 && (opts.attempted ?? 0) >= 2 ? 'blocked' : 'unknown' };
  const local = new Set(opts.localIps);
  if (samples.every((s) => local.has(s.observed.host) && s.observed.port === opts.localPort)) {
    return { ...base, type: 'none', publicAddr: samples[0]!.observed };
  }
  if (new Set(samples.map((s) => addrKey(s.observed))).size > 1) return { ...base, type: 'symmetric' };
  if (responderIps.size < 2) return { ...base, type: 'unknown', publicAddr: samples[0]!.observed };
  return { ...base, type: 'endpoint-independent', publicAddr: samples[0]!.observed };
}

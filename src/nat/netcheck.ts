// `wh netcheck`'s questions to the boot nodes (docs/NODE.md "wh netcheck"), on a DHT node of
// its own (an ephemeral key, a socket on a random port): where each boot node sees us and how
// fast it answers, what that says about the NAT's mapping (src/nat/classify.ts), and whether a
// boot node's ping from a port we never sent to reaches us (`reach`, src/nat/reachcheck.ts:
// the NAT's filtering). No WireGuard, no node state: everything is thrown away afterwards.
import type { BootNode, DhtNode } from '../dht/node.js';
import { addrKey, type Addr } from '../proto/addr.js';
import { PING_PAD_TO, REACH_ASK_SLACK, REACH_TIMEOUT } from '../params.js';
import type { Refusal } from '../proto/refusal.js';
import { classifyNat, type NatSample, type NatType } from './classify.js';

export interface NetcheckBoot {
  /** As the config names it (HOST:PORT) and as it was resolved. */
  name: string;
  address: string;
  key: string;
  rttMs: number | null;
  /** Where it saw us (the pong's address). */
  seenAs: string | null;
  /** It refused our key: below this workbit. */
  refusedBelowWorkbit: number | null;
}

export interface NetcheckProbe {
  boots: NetcheckBoot[];
  mapping: NatType;
  publicAddress: string | null;
  /** A ping from a port we never sent to reached us (true), did not (false), or nobody could
   *  check (null). */
  reachable: boolean | null;
  /** Which boot node checked. */
  reachCheckedBy: string | null;
}

export type NamedBoot = BootNode & { name: string; keyB64: string };

/** Asks the boot nodes; `refusals` collects the workbit refusals the node's Rpc reports. */
export async function probeBoots(dht: DhtNode, boots: readonly NamedBoot[], o: { localIps: readonly string[]; localPort: number; refusals: Map<string, Refusal>; settle: () => Promise<void> }): Promise<NetcheckProbe> {
  const replies = await Promise.all(boots.map((b) => dht.ping(b.key, b.addr)));
  const samples: NatSample[] = [];
  const out: NetcheckBoot[] = boots.map((b, i) => {
    const r = replies[i];
    const pong = r !== undefined && r.msg.t === 'pong' ? r.msg : undefined;
    if (pong !== undefined) samples.push({ responder: r!.from, observed: pong.a });
    const refusal = o.refusals.get(addrKey(b.addr));
    return {
      name: b.name, address: addrKey(b.addr), key: b.keyB64,
      rttMs: pong !== undefined ? Math.round(r!.rtt * 10) / 10 : null,
      seenAs: pong !== undefined ? addrKey(pong.a) : null,
      refusedBelowWorkbit: pong === undefined && refusal !== undefined ? refusal.workbit : null,
    };
  });
  const verdict = classifyNat(samples, { localIps: o.localIps, localPort: o.localPort, attempted: boots.length });
  const base = { boots: out, mapping: verdict.type, publicAddress: verdict.publicAddr ? addrKey(verdict.publicAddr) : null };
  const answered = boots.filter((_, i) => out[i]!.seenAs !== null);
  if (answered.length === 0) return { ...base, reachable: null, reachCheckedBy: null };
  // A boot node checks only a node of its table: a lookup of our own ID makes them verify us.
  await dht.lookup(dht.id);
  await o.settle();
  for (const b of answered) {
    const a: Addr = (replies[boots.indexOf(b)]!.msg as { a: Addr }).a;
    const r = await dht.rpc.request(b.addr, b.key, (x) => ({ t: 'reach', x, k: dht.id, a }), { padTo: PING_PAD_TO, timeout: REACH_TIMEOUT + REACH_ASK_SLACK, retries: 0 });
    if (r?.msg.t === 'reach-ok') return { ...base, reachable: r.msg.r === 1, reachCheckedBy: b.name };
  }
  return { ...base, reachable: null, reachCheckedBy: null };
}

/** The NAT in words, from the mapping and the filtering. */
export function natKind(mapping: NatType, reachable: boolean | null): string {
  switch (mapping) {
    case 'none': return reachable === false ? 'no NAT, but a firewall drops unsolicited packets' : 'no NAT (a public address)';
    case 'endpoint-independent':
      if (reachable === true) return 'full cone (one public port for every destination, open to anyone)';
      if (reachable === false) return 'restricted cone (one public port for every destination, answers only to where it sent)';
      return 'cone (one public port for every destination; filtering not checked)';
    case 'symmetric': return 'symmetric (a new public port per destination: a peer behind a restricting NAT needs a relay)';
    case 'blocked': return 'no boot node answered (UDP blocked, or the boot nodes are down)';
    case 'unknown': return 'unknown (it takes answers from two boot nodes at different IPs)';
  }
}


/** A boot line over WebSocket, as `wh netcheck` found it. */
export interface NetcheckWsBoot {
  url: string;
  key: string;
  rttMs: number | null;
}

/** Whether UDP gets out, and what a node would use to reach the boot nodes: UDP when a boot
 *  node answered over UDP, else WebSocket when one answered over it (docs/NAT.md "Falling back
 *  to WebSocket"), else none. `udpLines`: the boot lines over UDP asked. */
export function transportVerdict(boots: readonly NetcheckBoot[], ws: readonly NetcheckWsBoot[]): { udp: 'works' | 'blocked' | 'untested'; transport: 'udp' | 'ws' | 'none'; via: string | null } {
  const udpOk = boots.some((b) => b.rttMs !== null || b.refusedBelowWorkbit !== null);
  const udp = boots.length === 0 ? 'untested' : udpOk ? 'works' : 'blocked';
  if (udpOk) return { udp, transport: 'udp', via: null };
  const w = ws.find((b) => b.rttMs !== null);
  return w !== undefined ? { udp, transport: 'ws', via: w.url } : { udp, transport: 'none', via: null };
}

// Builds a swarm of DHT nodes on the in-memory network, for tests and benchmarks.
import type { Sodium } from '../crypto/sodium.js';
import { generateSecret } from '../crypto/keys.js';
import { DhtNode, type LookupResult } from '../dht/node.js';
import { VirtualClock } from './clock.js';
import { SimNetwork, type SimOptions } from './network.js';

export interface SwarmOptions extends SimOptions {
  nodes: number;
  /** Virtual ms between two joins (nodes join one after another, as in a real network). */
  joinInterval?: number;
  workbit?: number;
  namespace?: string;
}

export interface Swarm {
  clock: VirtualClock;
  net: SimNetwork;
  nodes: DhtNode[];
  /** Address of node i in the simulated network. */
  addrOf(i: number): { host: string; port: number };
  close(): void;
}

export function simAddr(i: number): { host: string; port: number } {
  // 10.0.0.0/8 inside the simulation only: nothing here ever touches a real socket.
  return { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 62096 };
}

export function createSwarm(sodium: Sodium, opts: SwarmOptions): Swarm {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, opts);
  const nodes: DhtNode[] = [];
  for (let i = 0; i < opts.nodes; i++) {
    nodes.push(new DhtNode({
      sodium, secret: generateSecret(sodium), workbit: opts.workbit ?? 0, namespace: opts.namespace ?? 'sim',
      transport: net.bind(simAddr(i)), clock, direct: true,
    }));
  }
  return {
    clock, net, nodes, addrOf: simAddr,
    close: () => { for (const n of nodes) n.close(); },
  };
}

/** Node 0 is the bootstrap node; every other node joins through it, one every joinInterval.
 *  `onJoined(n)` is called as each bootstrap ends (n of them so far), for progress reports. */
export async function bootstrapSwarm(swarm: Swarm, joinInterval = 20, limit = 600_000, onJoined?: (n: number) => void): Promise<number> {
  const boot = { key: swarm.nodes[0]!.id, addr: swarm.addrOf(0) };
  let done = 0, reached = 0;
  swarm.nodes.slice(1).forEach((node, i) => {
    swarm.clock.setTimeout(() => {
      void node.bootstrap([boot]).then((n) => { done++; if (n > 0) reached++; onJoined?.(done); });
    }, i * joinInterval);
  });
  await swarm.clock.runUntil(() => done === swarm.nodes.length - 1, limit);
  return reached;
}

/** Runs one lookup to completion in virtual time. */
export async function simLookup(swarm: Swarm, from: number, target: Uint8Array, limit = 120_000): Promise<LookupResult | undefined> {
  let result: LookupResult | undefined;
  void swarm.nodes[from]!.lookup(target).then((r) => { result = r; });
  await swarm.clock.runUntil(() => result !== undefined, limit, 50);
  return result;
}

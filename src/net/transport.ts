// What the daemon needs from a datagram socket. The real one is src/net/udp.ts; tests and
// benchmarks use src/sim/network.ts. Both deliver whole datagrams with their source address.
import type { Addr } from '../proto/addr.js';

export type Receiver = (data: Uint8Array, from: Addr) => void;

export interface Transport {
  /** Sends one datagram; never throws (a failure is counted by the transport and dropped). */
  send(to: Addr, data: Uint8Array): void;
  /** Installs the function that gets every received datagram. */
  setReceiver(receiver: Receiver): void;
  close(): void;
}

/** A transport a node owns and closes on stop. */
export interface NodeTransport extends Transport {
  close(): void;
}

/** The transports a node holds. */
export type Transports = readonly NodeTransport[];

/** The transport the DHT runs on. */
export function firstTransport(ts: Transports): NodeTransport {
  if (ts[0] === undefined) throw new Error('a node needs a transport');
  return ts[0];
}

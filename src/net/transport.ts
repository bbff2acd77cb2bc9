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

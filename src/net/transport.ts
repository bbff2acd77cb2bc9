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

/**
 * One of the transports a node holds (src/daemon/daemon.ts keeps a list). Not UDP-shaped: a
 * transport says which addresses it carries, so a node can hold a UDP socket and, say, a
 * WebSocket connection to a relay side by side; the DHT sends through a TransportSet of them
 * all and hears from every one. The UDP transport (src/net/udp.ts) is the first implementation.
 */
export interface NodeTransport extends Transport {
  /** What carries the datagrams: 'udp' (later 'ws', ...), for logs and `wh show`. */
  readonly kind: string;
  /** Whether this transport carries datagrams to `to` (UDP: any IP address). */
  carries(to: Addr): boolean;
  close(): void;
}

/** The transports a node holds. */
export type Transports = readonly NodeTransport[];

/** Several transports as one: a datagram goes out through the last transport that carries its
 *  address (one added for some addresses, such as a WebSocket link to a relay, takes them over
 *  from the UDP socket before it; else the first transport), and every transport's datagrams
 *  reach the receiver. A reload adds and removes transports (never the first). */
export class TransportSet implements Transport {
  private transports: NodeTransport[];
  private receiver: Receiver | undefined;

  constructor(transports: Transports) {
    if (transports.length === 0) throw new Error('a node needs a transport');
    this.transports = [...transports];
  }

  /** The transports held, in order. */
  get list(): Transports { return this.transports; }

  /** Adds a transport at the end (it hears for the receiver installed). */
  add(t: NodeTransport): void {
    this.transports.push(t);
    if (this.receiver !== undefined) t.setReceiver(this.receiver);
  }

  /** Removes a transport (not the first); the caller closes it. */
  remove(t: NodeTransport): void {
    const i = this.transports.indexOf(t);
    if (i > 0) this.transports.splice(i, 1);
  }

  send(to: Addr, data: Uint8Array): void {
    let via = this.transports[0]!;
    for (const t of this.transports) if (t.carries(to)) via = t;
    via.send(to, data);
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
    for (const t of this.transports) t.setReceiver(receiver);
  }

  close(): void {
    for (const t of this.transports) t.close();
  }
}

// An in-memory datagram network for simulations: each endpoint gets a Transport; datagrams are
// delivered through the virtual clock after a random delay, and dropped with a given
// probability. Randomness comes from a seeded generator, so a run is reproducible.
// Hosts behind a NAT bind private addresses on a router (src/sim/nat.ts), which owns a public
// IP here (attach): datagrams to that IP go to the router, which translates and filters them.
import { addrKey, type Addr } from '../proto/addr.js';
import type { Receiver, Transport } from '../net/transport.js';
import type { VirtualClock } from './clock.js';

export interface SimOptions {
  /** Probability in [0, 1) that a datagram is lost. */
  loss?: number;
  /** One-way delay range in ms. */
  minDelay?: number;
  maxDelay?: number;
  seed?: number;
}

/** mulberry32: a small, fast, seeded PRNG (good enough for simulations, not for keys). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a transport's datagrams go: the public network itself, or the router it sits behind. */
export interface SimLink {
  deliver(from: Addr, to: Addr, data: Uint8Array): void;
  unbind(t: SimTransport): void;
}

/** What owns a public IP without being an endpoint: a NAT router (src/sim/nat.ts). */
export interface SimGateway {
  /** A datagram from the public network arrived for `to` (an address on this gateway's IP). */
  receive(data: Uint8Array, from: Addr, to: Addr): void;
}

export class SimNetwork implements SimLink {
  private readonly endpoints = new Map<string, SimTransport>();
  private readonly gateways = new Map<string, SimGateway>();
  readonly random: () => number;
  sent = 0;
  delivered = 0;
  lost = 0;
  unroutable = 0;
  receiverErrors = 0;

  constructor(readonly clock: VirtualClock, private readonly opts: SimOptions = {}) {
    this.random = seededRandom(opts.seed ?? 1);
  }

  set loss(p: number) {
    this.opts.loss = p;
  }

  /** A transport bound at `addr`. */
  bind(addr: Addr): SimTransport {
    const key = addrKey(addr);
    if (this.endpoints.has(key)) throw new Error(`address in use: ${key}`);
    if (this.gateways.has(addr.host)) throw new Error(`address owned by a router: ${key}`);
    const t = new SimTransport(this, addr);
    this.endpoints.set(key, t);
    return t;
  }

  /** Gives `gateway` the public IP `host`: every datagram to host:any-port goes to it. */
  attach(host: string, gateway: SimGateway): void {
    if (this.gateways.has(host) || [...this.endpoints.values()].some((t) => t.addr.host === host)) throw new Error(`address in use: ${host}`);
    this.gateways.set(host, gateway);
  }

  detach(host: string): void {
    this.gateways.delete(host);
  }

  unbind(t: SimTransport): void {
    if (this.endpoints.get(addrKey(t.addr)) === t) this.endpoints.delete(addrKey(t.addr));
  }

  deliver(from: Addr, to: Addr, data: Uint8Array): void {
    this.sent++;
    if (this.random() < (this.opts.loss ?? 0)) {
      this.lost++;
      return;
    }
    const min = this.opts.minDelay ?? 5, max = this.opts.maxDelay ?? 50;
    const delay = min + this.random() * (max - min);
    const copy = new Uint8Array(data); // the sender may reuse its buffer
    this.clock.setTimeout(() => {
      const dst = this.endpoints.get(addrKey(to));
      const gateway = dst === undefined ? this.gateways.get(to.host) : undefined;
      if (gateway !== undefined) {
        this.delivered++;
        try {
          gateway.receive(copy, from, to);
        } catch {
          this.receiverErrors++;
        }
        return;
      }
      if (dst === undefined) {
        this.unroutable++;
        return;
      }
      this.delivered++;
      try {
        dst.receive(copy, from);
      } catch {
        this.receiverErrors++;
      }
    }, delay);
  }
}

export class SimTransport implements Transport {
  private receiver: Receiver = () => {};
  private closed = false;

  constructor(private readonly net: SimLink, readonly addr: Addr) {}

  send(to: Addr, data: Uint8Array): void {
    if (!this.closed) this.net.deliver(this.addr, to, data);
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  receive(data: Uint8Array, from: Addr): void {
    if (!this.closed) this.receiver(data, from);
  }

  close(): void {
    this.closed = true;
    this.net.unbind(this);
  }
}

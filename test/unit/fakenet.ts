// Test doubles shared by the relay and traversal unit tests: an in-memory datagram network of
// fake transports (delivery one macrotask later, as a socket would), a logger that keeps
// warnings and errors, a virtual clock's stepping, and a WireGuard-shaped datagram.
import assert from 'node:assert/strict';
import type { DhtNode } from '../../src/dht/node.js';
import type { MessageOf } from '../../src/proto/messages.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import type { Receiver, Transport } from '../../src/net/transport.js';
import type { Logger } from '../../src/util/log.js';
import type { VirtualClock } from '../../src/sim/clock.js';

/** Routes datagrams between fake transports by address. */
export class FakeNet {
  readonly nodes = new Map<string, FakeTransport>();

  bind(addr: Addr): FakeTransport {
    const t = new FakeTransport(this, addr);
    this.nodes.set(addrKey(addr), t);
    return t;
  }

  deliver(from: Addr, to: Addr, data: Uint8Array): void {
    setImmediate(() => {
      const t = this.nodes.get(addrKey(to));
      if (t === undefined || t.closed) return;
      if (t.deaf) { t.dropped++; return; } // a firewall in front of this port
      t.receiver?.(data, from);
    });
  }
}

export class FakeTransport implements Transport {
  receiver: Receiver | undefined;
  closed = false;
  /** Datagrams to this transport are dropped before they reach it. */
  deaf = false;
  dropped = 0;
  readonly sent: { to: Addr; data: Uint8Array }[] = [];

  constructor(private readonly net: FakeNet, readonly addr: Addr) {}

  send(to: Addr, data: Uint8Array): void {
    if (this.closed) return;
    this.sent.push({ to, data });
    this.net.deliver(this.addr, to, data);
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  close(): void {
    this.closed = true;
    if (this.net.nodes.get(addrKey(this.addr)) === this) this.net.nodes.delete(addrKey(this.addr));
  }

  /** Datagrams this transport sent to `to`. */
  sentTo(to: Addr): number {
    return this.sent.filter((s) => addrKey(s.to) === addrKey(to)).length;
  }
}

/** A logger that drops debug and info, and keeps warnings and errors in `warns`. */
export function quietLog(warns: string[] = []): Logger & { warns: string[] } {
  return { warns, debug: () => undefined, info: () => undefined, warn: (m) => warns.push(m), error: (m) => warns.push(m) };
}

/** Runs the virtual clock `ms` forward in 10 ms steps, letting the promises each step starts
 *  settle (a few macrotasks), as the relay and traversal code awaits between timers. */
export async function advance(clock: VirtualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    await clock.run(10);
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  }
}

/** A WireGuard handshake initiation's shape (148 bytes, type 1), told apart by `tag`. */
export function initiation(tag: number): Uint8Array {
  const d = new Uint8Array(148);
  d[0] = 1;
  d[100] = tag;
  return d;
}

/** Opens `from`'s half of a relay session with `to` at relay `relay` (at `relayAddr`), and checks
 *  the relay said relay-ok (the relay tests' session set-up). */
export async function openRelaySession(clock: VirtualClock, relayAddr: Addr, relay: DhtNode, from: DhtNode, to: DhtNode): Promise<void> {
  const r = from.rpc.request(relayAddr, relay.id, (x) => ({ t: 'relay-open', x, k: to.id }));
  await advance(clock, 50);
  assert.equal((await r)?.msg.t, 'relay-ok');
}

/** The `relayed` messages `node` receives, collected. */
export function collectRelayed(node: DhtNode): MessageOf<'relayed'>[] {
  const got: MessageOf<'relayed'>[] = [];
  node.extend({ oneWay: (inc) => { if (inc.msg.t !== 'relayed') return false; got.push(inc.msg); return true; } });
  return got;
}

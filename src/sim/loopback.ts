// The 127.0.0.1 of one simulated host (for src/sim/daemons.ts and the simulated grids): relay
// links' loopback endpoints, reached by the host's WireGuard (src/sim/dataplane.ts) at its port.
import type { Addr } from '../proto/addr.js';
import type { Receiver } from '../net/transport.js';
import type { RelayEndpoint } from '../relay/link.js';
import type { Clock } from '../util/clock.js';

/** What a relay link's endpoint sends to: the host's WireGuard, at its port. */
export interface LoopbackWireGuard {
  readonly listenPort: number;
  receive(data: Uint8Array, from: Addr): void;
}

/** The 127.0.0.1 of one simulated host: relay links' endpoints, reached by its WireGuard. */
export class SimLoopback {
  private readonly ports = new Map<number, Receiver>();
  private nextPort = 40000;
  /** The host's WireGuard: what a link's endpoint sends to (by WireGuard's port). */
  wireguard: LoopbackWireGuard | undefined;

  constructor(private readonly clock: Clock) {}

  open(): RelayEndpoint {
    const port = this.nextPort++;
    let receiver: Receiver = () => undefined;
    this.ports.set(port, (d, from) => receiver(d, from));
    return {
      port,
      send: (data, wgPort) => {
        const wg = this.wireguard, copy = new Uint8Array(data);
        // (Before anything the daemon does next: a datagram on loopback reaches WireGuard before
        // the daemon's next command to it, a UAPI round trip, does.)
        if (wg !== undefined && wg.listenPort === wgPort) queueMicrotask(() => wg.receive(copy, { host: '127.0.0.1', port }));
      },
      setReceiver: (r) => { receiver = r; },
      close: () => { this.ports.delete(port); },
    };
  }

  /** WireGuard sent to 127.0.0.1:port. */
  deliver(port: number, data: Uint8Array, from: Addr): void {
    const r = this.ports.get(port);
    const copy = new Uint8Array(data);
    if (r !== undefined) this.clock.setTimeout(() => r(copy, from), 0);
  }
}

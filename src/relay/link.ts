// One relayed peer, on the client side. Two data paths:
// - through the daemons: WireGuard's endpoint for the peer is this link's loopback socket
//   (127.0.0.1:L). Datagrams WireGuard sends there are wrapped in `relay` messages to the
//   current relay; `relayed` messages from any relay are unwrapped and handed to WireGuard from
//   the same socket, so WireGuard keeps one endpoint whatever relay is in use;
// - over a WebSocket link to the relay (docs/PROTOCOL.md section 12.2): the same loopback
//   socket, each datagram sent whole as a WS_TO frame naming the peer (a WS_FROM back);
// - in the relay's kernel, once the relay says both sides are bound to the session's port
//   (`kernelPort`): WireGuard's endpoint is then relay:port, and its datagrams never enter a
//   daemon. The loopback socket stays open, for the way back when the kernel path goes away.
import dgram from 'node:dgram';
import type { Addr } from '../proto/addr.js';
import type { Rpc } from '../dht/rpc.js';
import type { Receiver } from '../net/transport.js';
import { REASSEMBLY_MAX_PENDING, REASSEMBLY_TIMEOUT } from '../params.js';
import { fragment, Reassembler, type Fragment } from './fragment.js';
import type { StrayState } from './stray.js';

/** The node's WebSocket links that carry relayed frames (src/net/wsrelayport.ts WsRelayPorts). */
export interface WsRelaySend {
  carries(to: Addr): boolean;
  send(to: Addr, key: Uint8Array, data: Uint8Array): boolean;
}

export interface RelayRef {
  key: Uint8Array;
  hex: string;
  addr: Addr;
}

/** The link's side towards WireGuard: a socket on 127.0.0.1 (WireGuard's endpoint for the
 *  peer); a simulation hands its own (src/sim/dataplane.ts). */
export interface RelayEndpoint {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** One datagram to WireGuard on this host, at `wgPort`. */
  send(data: Uint8Array, wgPort: number): void;
  /** What arrives at the endpoint, with its source. */
  setReceiver(receiver: Receiver): void;
  close(): void;
}

/** Opens an endpoint; `onError` counts its socket errors. */
export type OpenRelayEndpoint = (onError: () => void) => Promise<RelayEndpoint>;

/** The real endpoint: a UDP socket on 127.0.0.1, on a free port. */
export const udpRelayEndpoint: OpenRelayEndpoint = async (onError) => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => { socket.off('error', reject); resolve(); });
  });
  socket.on('error', onError);
  let receiver: Receiver = () => undefined;
  socket.on('message', (msg, rinfo) => receiver(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { host: rinfo.address, port: rinfo.port }));
  return {
    port: socket.address().port,
    send: (data, wgPort) => socket.send(data, wgPort, '127.0.0.1'),
    setReceiver: (r) => { receiver = r; },
    close: () => socket.close(),
  };
};

export class RelayLink {
  private socket: RelayEndpoint | undefined;
  private nextPacket = 1;
  private readonly reassembler = new Reassembler(REASSEMBLY_TIMEOUT, REASSEMBLY_MAX_PENDING);
  /** When the current relay last confirmed our session (relay-ok), on the link's clock. */
  confirmedAt: number;
  /** When the link moved to its current relay (opened, or switched). */
  setAt: number;
  /** The peer's datagrams coming through another relay (src/relay/stray.ts). */
  stray: StrayState | undefined = undefined;
  relay: RelayRef;
  /** The current relay's session port, while the relay forwards this session in the kernel. */
  kernelPort: number | undefined;
  /** The relay-bind exchange under way, as "relay key hex:port" (src/relay/client.ts, bindKernel). */
  binding: string | undefined;
  /** Not before this time (ms) does the link try the kernel path again (its port never answered). */
  kernelRetryAt = 0;

  private constructor(private readonly rpc: Rpc, readonly peerKey: Uint8Array, readonly peerHex: string, relay: RelayRef,
    private readonly wgPort: number, private readonly now: () => number, private readonly ws?: WsRelaySend) {
    this.relay = relay;
    this.confirmedAt = now();
    this.setAt = this.confirmedAt;
  }

  /** `now`: the monotonic clock of the caller (confirmedAt and kernelRetryAt are on it);
   *  `openEndpoint`: the loopback socket's maker (a simulation's own, else a real socket). */
  static async open(rpc: Rpc, peerKey: Uint8Array, peerHex: string, relay: RelayRef, wgPort: number, now: () => number,
    openEndpoint: OpenRelayEndpoint = udpRelayEndpoint, ws?: WsRelaySend): Promise<RelayLink> {
    const link = new RelayLink(rpc, peerKey, peerHex, relay, wgPort, now, ws);
    const socket = await openEndpoint(() => rpc.counters.add('relay-link-error'));
    socket.setReceiver((data, from) => {
      // Only WireGuard on this host, from its own port, may send through the link.
      if (from.host !== '127.0.0.1' || from.port !== wgPort) { rpc.counters.add('relay-link-foreign'); return; }
      link.forward(data);
    });
    link.socket = socket;
    return link;
  }

  /** The loopback socket's endpoint (where the daemon path hands WireGuard the peer's datagrams,
   *  in the kernel path too: a datagram relayed by the daemons makes WireGuard roam to it). */
  get loopbackEndpoint(): string | undefined {
    return this.socket === undefined ? undefined : `127.0.0.1:${this.socket.port}`;
  }

  /** WireGuard's endpoint for the peer: relay:port in the kernel path, else the loopback socket. */
  get endpoint(): string {
    if (this.kernelPort !== undefined) return `${this.relay.addr.host}:${this.kernelPort}`;
    if (this.socket === undefined) throw new Error(`the relay link to ${this.peerHex.slice(0, 8)} is closed: it has no endpoint`);
    return `127.0.0.1:${this.socket.port}`;
  }

  /** Moves the link to another relay (failover), through the daemons until that relay's kernel
   *  path is bound; WireGuard does not notice. */
  switchTo(relay: RelayRef): void {
    this.confirmedAt = this.now();
    this.setAt = this.confirmedAt;
    this.stray = undefined;
    this.relay = relay;
    this.kernelPort = undefined;
    this.kernelRetryAt = 0;
  }

  /** Whether the relay is reached over a WebSocket link (datagrams go as WS_TO frames, whole;
   *  there is no kernel path). */
  get overWs(): boolean {
    return this.ws?.carries(this.relay.addr) === true;
  }

  private forward(data: Uint8Array): void {
    if (this.ws !== undefined && this.ws.carries(this.relay.addr) && this.ws.send(this.relay.addr, this.peerKey, data)) {
      this.rpc.counters.add('relay-link-out-ws');
      return;
    }
    const frags = fragment(data, this.nextPacket++);
    if (frags === undefined) { this.rpc.counters.add('relay-link-too-large'); return; }
    for (const f of frags) {
      this.rpc.send(this.relay.addr, this.relay.key, { t: 'relay', k: this.peerKey, ...f });
    }
    this.rpc.counters.add('relay-link-out');
  }

  /** A `relayed` message from the peer, through any relay. */
  deliver(f: Fragment, relayHex: string): void {
    const whole = this.reassembler.add(relayHex, f, this.now());
    if (whole === undefined || this.socket === undefined) return;
    this.rpc.counters.add('relay-link-in');
    this.socket.send(whole, this.wgPort);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}

// The relayed frames of the WebSocket transport (docs/PROTOCOL.md section 12.2, WS_TO and
// WS_FROM) as the relay code sees them: a WebSocket transport that carries them, on the client
// side (WS_TO out to the server, WS_FROM in) or the server side (WS_TO in from a connection,
// WS_FROM out to one). The datagrams are WireGuard's; who may send them where is the relay's
// session table's to say (src/relay/server.ts), never the transport's.
import type { Addr } from '../proto/addr.js';

/** `type`: 'to' (a server got WS_TO: `key` is the destination) or 'from' (a client got
 *  WS_FROM: `key` is the source); `from`: the far end's address as the DHT knows it (the
 *  server's for a client, the connection's TCP source for a server). Returns false when the
 *  frame was refused (a WS_TO outside any session of the connection's key, not WireGuard, ...):
 *  a server then charges the connection's message rate (src/net/wsguard.ts `refused`). */
export type RelayFrameReceiver = (type: 'to' | 'from', from: Addr, key: Uint8Array, data: Uint8Array) => boolean;

export interface WsRelayPort {
  carries(to: Addr): boolean;
  /** Sends one relayed frame to the far end at `to` (client: WS_TO naming the destination;
   *  server: WS_FROM naming the source); false when this transport has no open connection there
   *  (the caller then sends another way). A frame that would overfill the send buffer is
   *  dropped and counted, and true returned (datagram semantics). */
  sendRelay(to: Addr, key: Uint8Array, data: Uint8Array): boolean;
  /** Installs the function that gets every relayed frame received; none: they are dropped and
   *  counted (`ws-unrelayed`). */
  setRelayReceiver(receiver: RelayFrameReceiver): void;
  /** A server's: installs the function told the address of each connection that ends (the
   *  relay then forgets who was behind it: another connection may come from that address). */
  setCloseReceiver?(receiver: (addr: Addr) => void): void;
}

export function isWsRelayPort(t: object): t is WsRelayPort {
  return typeof (t as Partial<WsRelayPort>).sendRelay === 'function' && typeof (t as Partial<WsRelayPort>).setRelayReceiver === 'function';
}

/** Several ports as one: a frame goes out through the (last) port that carries its address. A
 *  reload adds and removes ports. */
export class WsRelayPorts {
  private readonly ports: WsRelayPort[];
  private receiver: RelayFrameReceiver | undefined;

  constructor(ports: readonly WsRelayPort[]) { this.ports = [...ports]; }

  add(p: WsRelayPort): void {
    this.ports.push(p);
    if (this.receiver !== undefined) p.setRelayReceiver(this.receiver);
  }

  remove(p: WsRelayPort): void {
    const i = this.ports.indexOf(p);
    if (i >= 0) this.ports.splice(i, 1);
  }

  get empty(): boolean { return this.ports.length === 0; }

  carries(to: Addr): boolean {
    return this.ports.some((p) => p.carries(to));
  }

  send(to: Addr, key: Uint8Array, data: Uint8Array): boolean {
    for (let i = this.ports.length - 1; i >= 0; i--) if (this.ports[i]!.carries(to)) return this.ports[i]!.sendRelay(to, key, data);
    return false;
  }

  setReceiver(receiver: RelayFrameReceiver): void {
    this.receiver = receiver;
    for (const p of this.ports) p.setRelayReceiver(receiver);
  }

  setCloseReceiver(receiver: (addr: Addr) => void): void {
    for (const p of this.ports) p.setCloseReceiver?.(receiver);
  }
}

// A WebSocket link that is opened and closed while the node runs (docs/NAT.md "Falling back to
// WebSocket"): it sits in the node's TransportSet from the start, carries nothing while off, and
// while on is a WebSocket client transport (src/net/wsclient.ts) made by `connect`. Switching it
// off closes the connection; the DHT's datagrams to the address then go by UDP again.
import type { Addr } from '../proto/addr.js';
import { sameAddr } from '../proto/addr.js';
import type { NodeTransport, Receiver } from './transport.js';
import type { RelayFrameReceiver, WsRelayPort } from './wsrelayport.js';

export type SwitchedLink = NodeTransport & WsRelayPort;

export class SwitchableWsLink implements NodeTransport, WsRelayPort {
  readonly kind = 'ws';
  private inner: SwitchedLink | undefined;
  private receiver: Receiver = () => {};
  private relayReceiver: RelayFrameReceiver | undefined;

  constructor(readonly addr: Addr, private readonly connect: () => SwitchedLink) {}

  /** The connection while on (for `wh show`), else undefined. */
  get link(): SwitchedLink | undefined { return this.inner; }
  get on(): boolean { return this.inner !== undefined; }

  switchOn(): void {
    if (this.inner !== undefined) return;
    const l = this.connect();
    l.setReceiver((d, from) => this.receiver(d, from));
    l.setRelayReceiver((t, from, k, d) => this.relayReceiver?.(t, from, k, d) ?? false);
    this.inner = l;
  }

  switchOff(): void {
    const l = this.inner;
    this.inner = undefined;
    l?.close();
  }

  carries(to: Addr): boolean {
    return this.inner !== undefined && sameAddr(to, this.addr);
  }

  send(to: Addr, data: Uint8Array): void {
    this.inner?.send(to, data);
  }

  sendRelay(to: Addr, key: Uint8Array, data: Uint8Array): boolean {
    return this.inner?.sendRelay(to, key, data) ?? false;
  }

  setReceiver(receiver: Receiver): void { this.receiver = receiver; }
  setRelayReceiver(receiver: RelayFrameReceiver): void { this.relayReceiver = receiver; }

  close(): void { this.switchOff(); }
}

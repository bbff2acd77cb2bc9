// Pinging a trusted peer through the WireGuard tunnel (docs/NODE.md "wh ping"; docs/PROTOCOL.md
// 7.6 "Pinging through the tunnel"). The daemon binds a second UDP socket on its own overlay
// address, port TUNNEL_PING_PORT, with the DHT's keys (a fork of its Rpc): a sealed `ping` sent
// there travels inside WireGuard, so it takes whatever path WireGuard's datagrams take (the
// direct endpoint, or the relay in use, forwarding in its kernel or its daemon) and its `pong`
// times that path. Relays forward only WireGuard datagrams, so this is the one way a daemon
// ping reaches a relayed peer.
//
// Only trusted peers are answered, and only from their own overlay address (WireGuard admits
// an inner source address only from the key whose allowed IPs hold it). Nothing heard here
// reaches the DHT's table or the path machines: the overlay is not an address of the DHT.
import type { DhtNode } from '../dht/node.js';
import type { Incoming, Rpc } from '../dht/rpc.js';
import type { Transport } from '../net/transport.js';
import { PING_PAD_TO, TUNNEL_PING_PORT } from '../params.js';

export interface TunnelPingHost {
  dht: DhtNode;
  /** Whether `ip` is an overlay address of the trusted peer `hex`. */
  isPeerAt(hex: string, ip: string): boolean;
}

export class TunnelPing {
  private readonly rpc: Rpc;

  constructor(private readonly host: TunnelPingHost, private readonly transport: Transport) {
    this.rpc = host.dht.rpc.fork(transport, {
      onRequest: (req) => this.answer(req),
      onOneWay: () => host.dht.counters.add('tunnel-ping-dropped'),
    });
  }

  private answer(req: Incoming): void {
    const { dht } = this.host;
    if (req.msg.t !== 'ping' || !this.host.isPeerAt(req.senderHex, req.from.host)) {
      dht.counters.add('tunnel-ping-refused');
      return;
    }
    dht.counters.add('tunnel-ping-answered');
    this.rpc.send(req.from, req.sender, { t: 'pong', x: req.msg.x, a: req.from, f: 0 }, req.size);
  }

  /** One ping of `key` at its overlay address `ip`, no retry; its round trip in ms, or
   *  undefined when no pong came from there within `timeout`. */
  async ping(key: Uint8Array, ip: string, timeout: number): Promise<number | undefined> {
    const r = await this.rpc.request({ host: ip, port: TUNNEL_PING_PORT }, key, (x) => ({ t: 'ping', x }), { padTo: PING_PAD_TO, timeout, retries: 0 });
    return r !== undefined && r.msg.t === 'pong' && r.from.host === ip ? r.rtt : undefined;
  }

  close(): void {
    this.rpc.close();
    this.transport.close();
  }
}

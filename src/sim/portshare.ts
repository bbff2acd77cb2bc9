// One simulated UDP port shared by the daemon and the data plane, as src/firewall/portshare.ts
// shares a node's WireGuard port in the kernel: inbound datagrams whose first byte is the
// daemon's marker (MAGIC) go to the daemon's side, every other datagram to the data plane's.
// Both sides send from the same port, so they share the NAT mappings the router makes for it
// (a punch by the DHT opens the path WireGuard then uses). For the simulated daemon's fake data
// plane.
import type { Addr } from '../proto/addr.js';
import { MAGIC } from '../proto/packet.js';
import type { Receiver, Transport } from '../net/transport.js';

export interface SharedPort {
  /** The daemon's side: datagrams starting with MAGIC. */
  daemon: Transport;
  /** The data plane's side: everything else. */
  data: Transport;
}

export function sharePort(port: Transport, marker = MAGIC): SharedPort {
  let toDaemon: Receiver = () => {};
  let toData: Receiver = () => {};
  let open = 2;
  port.setReceiver((d, from) => (d.length > 0 && d[0] === marker ? toDaemon : toData)(d, from));
  const side = (set: (r: Receiver) => void): Transport => {
    let closed = false;
    return {
      send: (to: Addr, data: Uint8Array) => { if (!closed) port.send(to, data); },
      setReceiver: set,
      close: () => {
        if (closed) return;
        closed = true;
        set(() => {});
        if (--open === 0) port.close();
      },
    };
  };
  return { daemon: side((r) => { toDaemon = r; }), data: side((r) => { toData = r; }) };
}

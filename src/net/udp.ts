// A Transport over a real UDP socket (node:dgram). IPv4 socket unless the bind address is IPv6
// (then an IPv6 socket: it hears IPv4-mapped sources, but node cannot send from it to a dotted
// IPv4 address, so it carries IPv6 only). Send errors are counted, never thrown.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { normalizeAddr, type Addr } from '../proto/addr.js';
import { Counters } from '../util/counters.js';
import { UDP_RECV_BUFFER } from '../params.js';
import type { NodeTransport, Receiver } from './transport.js';

export class UdpTransport implements NodeTransport {
  readonly kind = 'udp';
  readonly counters = new Counters();
  private receiver: Receiver = () => {};

  /** @param family the socket's: 4 (udp4) or 6 (udp6). */
  private constructor(private readonly socket: dgram.Socket, private readonly family: 4 | 6) {
    socket.on('message', (msg, rinfo) => {
      this.counters.add('rx');
      this.receiver(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), normalizeAddr({ host: rinfo.address, port: rinfo.port }));
    });
    socket.on('error', () => this.counters.add('socket-error'));
  }

  static async bind(host: string, port: number): Promise<UdpTransport> {
    const family = host.includes(':') ? 6 : 4;
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false, recvBufferSize: UDP_RECV_BUFFER });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpTransport(socket, family);
  }

  get local(): Addr {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  send(to: Addr, data: Uint8Array): void {
    this.counters.add('tx');
    try {
      this.socket.send(data, to.port, to.host, (err) => {
        if (err) this.counters.add('send-error');
      });
    } catch {
      // A closed socket throws at once (a deferred answer sent after close): count, never throw.
      this.counters.add('send-error');
    }
  }

  setReceiver(receiver: Receiver): void {
    this.receiver = receiver;
  }

  /** An IP address of the socket's family (a udp4 socket cannot send to IPv6, and a udp6 one
   *  refuses a dotted-quad IPv4 destination with EINVAL); a host name is never sent to. */
  carries(to: Addr): boolean {
    return isIP(to.host) === this.family;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

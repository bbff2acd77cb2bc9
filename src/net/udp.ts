// A Transport over a real UDP socket (node:dgram). IPv4 socket unless the bind address is IPv6
// (then dual-stack). Send errors are counted, never thrown.
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

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (msg, rinfo) => {
      this.counters.add('rx');
      this.receiver(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), normalizeAddr({ host: rinfo.address, port: rinfo.port }));
    });
    socket.on('error', () => this.counters.add('socket-error'));
  }

  static async bind(host: string, port: number): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, recvBufferSize: UDP_RECV_BUFFER });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpTransport(socket);
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

  /** Any IP address (a host name is never sent to: addresses are resolved before). */
  carries(to: Addr): boolean {
    return isIP(to.host) !== 0;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

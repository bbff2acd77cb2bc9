// A Transport over a real UDP socket (node:dgram). Send errors are counted, never thrown.
//
// Families (docs/NODE.md "IPv6 underlay"):
//   - bind('::', port) (or bindAny): one dual-stack udp6 socket (ipv6Only false) that carries
//     IPv4 and IPv6. IPv4 sources arrive IPv4-mapped (::ffff:a.b.c.d) and are normalised to
//     dotted quads; an IPv4 destination is sent to as its mapped form (a udp6 socket refuses a
//     dotted quad with EINVAL). On a host without IPv6 (no kernel support, or
//     net.ipv6.conf.all.disable_ipv6=1) the udp6 bind fails and a udp4 socket on 0.0.0.0 is
//     bound instead.
//   - an IPv4 address (0.0.0.0, 127.0.0.1, ...): a udp4 socket, IPv4 only.
//   - any other IPv6 address (::1, 2001:db8::1): a udp6 socket with ipv6Only, IPv6 only.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { normalizeAddr, type Addr } from '../proto/addr.js';
import { Counters } from '../util/counters.js';
import { UDP_RECV_BUFFER } from '../params.js';
import type { NodeTransport, Receiver } from './transport.js';

/** What a socket carries: IPv4 only, IPv6 only, or both (a dual-stack udp6 socket on ::). */
export type UdpFamily = 4 | 6 | 'dual';

/** The bind address that asks for a dual-stack socket. */
export const ANY_HOST = '::';

function open(type: 'udp4' | 'udp6', ipv6Only: boolean, host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type, ipv6Only, reuseAddr: false, recvBufferSize: UDP_RECV_BUFFER });
  return new Promise<dgram.Socket>((resolve, reject) => {
    const fail = (e: Error): void => { try { socket.close(); } catch { /* never bound */ } reject(e); };
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** Errors of a udp6 bind on `::` that mean "this host has no IPv6" (then udp4 is used). */
const NO_IPV6 = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT', 'EINVAL']);

export class UdpTransport implements NodeTransport {
  readonly kind = 'udp';
  readonly counters = new Counters();
  private receiver: Receiver = () => {};

  private constructor(private readonly socket: dgram.Socket, readonly family: UdpFamily) {
    socket.on('message', (msg, rinfo) => {
      this.counters.add('rx');
      this.receiver(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), normalizeAddr({ host: rinfo.address, port: rinfo.port }));
    });
    socket.on('error', () => this.counters.add('socket-error'));
  }

  /** `host` '::' gives a dual-stack socket (udp4 on a host without IPv6); see the file head. */
  static async bind(host: string, port: number): Promise<UdpTransport> {
    if (host === ANY_HOST) return UdpTransport.bindAny(port);
    if (isIP(host) === 6) return new UdpTransport(await open('udp6', true, host, port), 6);
    return new UdpTransport(await open('udp4', false, host, port), 4);
  }

  /** A dual-stack socket on `port`, or an IPv4 one where the host has no IPv6. */
  static async bindAny(port: number, opts: { noIpv6?: boolean } = {}): Promise<UdpTransport> {
    if (!opts.noIpv6) {
      try {
        return new UdpTransport(await open('udp6', false, ANY_HOST, port), 'dual');
      } catch (e) {
        if (!NO_IPV6.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
    }
    return new UdpTransport(await open('udp4', false, '0.0.0.0', port), 4);
  }

  get local(): Addr {
    const a = this.socket.address();
    return { host: a.address, port: a.port };
  }

  send(to: Addr, data: Uint8Array): void {
    // A WebSocket connection's address (its TCP ip:port) is never sent to over UDP.
    if (to.via !== undefined) { this.counters.add('not-udp'); return; }
    this.counters.add('tx');
    // A dual-stack socket reaches IPv4 through the mapped form.
    const host = this.family === 'dual' && isIP(to.host) === 4 ? `::ffff:${to.host}` : to.host;
    try {
      this.socket.send(data, to.port, host, (err) => {
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

  /** A UDP endpoint (not a WebSocket connection's address) of a family the socket carries; a
   *  host name is never sent to. */
  carries(to: Addr): boolean {
    if (to.via !== undefined) return false;
    const f = isIP(to.host);
    return f !== 0 && (this.family === 'dual' || f === this.family);
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

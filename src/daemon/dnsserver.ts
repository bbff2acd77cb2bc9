// The DNS responder's sockets (`dns yes`): UDP on port 53 of each of the node's overlay
// addresses, answering with src/daemon/dnsanswer.ts. A system edge: it binds sockets.
// Every trusted peer reaches it over the overlay, and local programs do, so its work is
// bounded before it is spent: a datagram from an address that is no trusted peer's overlay
// address (this node's own included, which is what a program on the host sends from) is
// dropped unread, so the responder answers no third party (a spoofed source on the LAN, where
// the kernel also delivers datagrams to the overlay address, would make it a reflector, and
// could spend the shared budget of the peers); a datagram longer than DNS_MAX_QUERY is dropped unread, then
// a global and a per-source token bucket (DNS_QUERIES_PER_SEC, DNS_QUERIES_PER_SOURCE) drop
// what exceeds them; undecodable datagrams are dropped. Each drop is counted (`dns.*`
// counters, in `wh show all`). UDP only: an answer (one name's A and AAAA, or a negative
// answer with the SOA) always fits in 512 bytes, so it is never truncated and no client
// needs to retry over TCP.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { DNS_MAX_QUERY, DNS_QUERIES_PER_SEC, DNS_QUERIES_PER_SOURCE, DNS_SOURCES_TRACKED } from '../params.js';
import type { Clock } from '../util/clock.js';
import type { Counters } from '../util/counters.js';
import { formatIp, parseIp } from '../util/ip.js';
import { RateLimiter } from '../util/ratelimit.js';
import { answerQuery } from './dnsanswer.js';
import type { Zone } from './nameszone.js';

/** An address in one spelling (IPv6 compressed, lowercase). */
function canonical(address: string): string {
  const ip = parseIp(address);
  return ip === undefined ? address : formatIp(ip.family, ip.value);
}

export interface DnsServerOptions {
  /** The addresses to listen on (the node's overlay addresses). */
  addresses: string[];
  port: number;
  /** The zone in effect (a reload replaces it). */
  zone: () => Zone;
  /** Who may ask: the trusted peers' overlay addresses, this node's own included (a reload
   *  replaces them), in any spelling. */
  askers: () => readonly string[];
  clock: Clock;
  counters: Counters;
}

export class DnsServer {
  private readonly all = new RateLimiter(DNS_QUERIES_PER_SEC, DNS_QUERIES_PER_SEC, 1);
  private readonly perSource = new RateLimiter(DNS_QUERIES_PER_SOURCE, DNS_QUERIES_PER_SOURCE, DNS_SOURCES_TRACKED);

  private askers: { from: readonly string[]; canonical: Set<string> } | undefined;

  private constructor(private readonly opts: DnsServerOptions, private readonly sockets: dgram.Socket[]) {}

  /** Whether `address` is one of the askers (their canonical forms, made again when the list
   *  changes). */
  private mayAsk(address: string): boolean {
    const from = this.opts.askers();
    if (this.askers?.from !== from) this.askers = { from, canonical: new Set(from.map(canonical)) };
    return this.askers.canonical.has(address) || this.askers.canonical.has(canonical(address));
  }

  /** Binds every address (all or none: a failure closes those bound and throws). */
  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const sockets: dgram.Socket[] = [];
    const server = new DnsServer(opts, sockets);
    try {
      for (const address of opts.addresses) {
        const s = dgram.createSocket(isIPv6(address) ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
        sockets.push(s);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.bind({ address, port: opts.port, exclusive: true }, () => { s.off('error', reject); resolve(); });
        }).catch((e: NodeJS.ErrnoException) => {
          throw new Error(`cannot listen on UDP ${isIPv6(address) ? `[${address}]` : address}:${opts.port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (another DNS server on all addresses?)' : e.message}`);
        });
        s.on('error', () => opts.counters.add('dns.socketError'));
        s.on('message', (msg, rinfo) => server.onMessage(s, msg, rinfo));
      }
    } catch (e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** The ports bound, per address (tests bind port 0). */
  ports(): number[] {
    return this.sockets.map((s) => s.address().port);
  }

  private onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const { counters, clock } = this.opts;
    if (!this.mayAsk(rinfo.address)) return counters.add('dns.foreign');
    if (msg.length > DNS_MAX_QUERY) return counters.add('dns.oversize');
    const now = clock.now();
    if (!this.perSource.take(rinfo.address, now) || !this.all.take('', now)) return counters.add('dns.ratelimited');
    const r = answerQuery(this.opts.zone(), msg);
    counters.add(`dns.${r.outcome}`);
    if (r.reply) socket.send(r.reply, rinfo.port, rinfo.address, () => undefined);
  }

  close(): void {
    for (const s of this.sockets) { try { s.close(); } catch { /* not bound yet, or closed */ } }
    this.sockets.length = 0;
  }
}

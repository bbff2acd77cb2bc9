// The node's edges to the system, as one injectable set: the datagram transport, the gateway's
// port mapper, this host's addresses, the handshake poke, name lookups, the control socket and
// the relay links' loopback sockets, and the randomness of back-offs.
// `realSeams` binds them to the real ones; a unit test can run a whole node on the simulated
// network (src/sim) with fakes (the data plane and firewall are SystemDeps, src/daemon/dataplane.ts).
import dgram from 'node:dgram';
import os from 'node:os';
import type { NodeTransport } from '../net/transport.js';
import { UdpTransport } from '../net/udp.js';
import { PortMapper, type DiscoverOptions, type MapRequest, type MapResult, type KeepMappedOptions, type PortMapMethod } from '../nat/upnp.js';
import { ControlServer, type ControlHandler } from '../control/server.js';
import { udpRelayEndpoint, type OpenRelayEndpoint } from '../relay/link.js';
import { systemLookup, type Lookup } from './seeds.js';
import { WsServerTransport } from '../net/wsserver.js';
import { WsClientTransport } from '../net/wsclient.js';
import { addrKey } from '../proto/addr.js';
import type { ViewedTransport, WsSeams } from './wstransports.js';

/** What the NAT monitor needs of a gateway's port mapper (src/nat/upnp.ts PortMapper). */
export interface GatewayMapper {
  readonly method: PortMapMethod;
  map(req: MapRequest): Promise<MapResult>;
  keepMapped(opts: KeepMappedOptions): void;
  close(): Promise<void>;
}

/** Sends the empty datagrams that make WireGuard handshake at once (src/daemon/wgsync.ts). */
export interface Poker {
  send(ip: string, port: number): void;
  close(): void;
}

export interface NodeSeams extends WsSeams {
  /** Binds the node's datagram transport (the DHT's socket). */
  bindTransport(host: string, port: number): Promise<NodeTransport>;
  /** Binds the tunnel ping socket on the node's overlay address (src/daemon/tunnelping.ts);
   *  undefined where there is no overlay to bind on (the simulation): no tunnel pings then. */
  bindOverlay?: ((host: string, port: number) => Promise<NodeTransport>) | undefined;
  /** Finds the gateway's port mapper (UPnP IGD / NAT-PMP); undefined when none answered. */
  discoverMapper(opts: DiscoverOptions): Promise<GatewayMapper | undefined>;
  /** This host's IP addresses, sorted (what NAT detection compares observed addresses with). */
  localAddresses(): string[];
  /** The poke sender (created once per node). */
  poker(): Poker;
  /** Host name lookups of boot lines and trust endpoints. */
  lookup: Lookup;
  /** Listens on the control socket. */
  listenControl(file: string, handler: ControlHandler): Promise<{ close(): unknown }>;
  /** Opens a relay link's loopback socket, WireGuard's endpoint for a relayed peer. */
  openRelayEndpoint: OpenRelayEndpoint;
  /** Uniform in [0, 1): the jitter of the path machines' back-offs (seeded in tests). */
  random(): number;
  /** Wall-clock milliseconds since 1970: only for invitations' expiry (src/daemon/invites.ts),
   *  which must survive a restart; all timing uses the monotonic clock. */
  wallNow(): number;
}

/** Up to two UDP sockets, one per address family, each created on its first poke. */
function udpPoker(): Poker {
  const sockets = new Map<'udp4' | 'udp6', dgram.Socket>();
  return {
    send(ip, port) {
      const type = ip.includes(':') ? 'udp6' : 'udp4';
      let socket = sockets.get(type);
      if (socket === undefined) sockets.set(type, socket = dgram.createSocket(type).on('error', () => undefined));
      try { socket.send(new Uint8Array(0), port, ip, () => undefined); } catch { /* no such family here */ }
    },
    close() { for (const s of sockets.values()) s.close(); },
  };
}

export const realSeams: NodeSeams = {
  bindTransport: (host, port) => UdpTransport.bind(host, port),
  bindOverlay: (host, port) => UdpTransport.bind(host, port),
  discoverMapper: (opts) => PortMapper.discover(opts),
  localAddresses: () => Object.values(os.networkInterfaces()).flat().filter((i) => i !== undefined).map((i) => i!.address).sort(),
  poker: udpPoker,
  lookup: systemLookup,
  listenControl: (file, handler) => ControlServer.listen(file, handler),
  openRelayEndpoint: udpRelayEndpoint,
  random: Math.random,
  wallNow: Date.now,
  listenWs: async (o) => {
    const t = await WsServerTransport.listen(o);
    return Object.assign(t, { view: () => ({ kind: 'ws', role: 'server' as const, address: `${o.tls ? 'wss' : 'ws'}://${addrKey(t.local)}/`, state: null, connections: t.connections, counters: t.counters.toJSON() }) });
  },
  connectWs: (o): ViewedTransport => {
    const t = new WsClientTransport({ ...o, env: process.env }); // the proxy variables: read at this edge
    return Object.assign(t, { view: () => ({ kind: 'ws', role: 'client' as const, address: o.url, state: t.state, connections: null, counters: t.counters.toJSON() }) });
  },
};

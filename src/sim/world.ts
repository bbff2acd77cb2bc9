// A simulated internet for NAT tests: public boot nodes, and hosts of each NAT kind (each behind
// its own router, src/sim/nat.ts), all real DhtNodes over SimTransports on one virtual clock.
// Addresses (documentation ranges, never a real socket): boot nodes 192.0.2.n:62096, public
// hosts 198.51.100.n:51820, routers 203.0.113.n, and every host behind a router at the same
// private address 192.168.1.10:51820 (overlapping LANs, as at home).
import type { Sodium } from '../crypto/sodium.js';
import { generateSecret } from '../crypto/keys.js';
import { DhtNode, type BootNode, type DhtNodeOptions } from '../dht/node.js';
import type { Addr } from '../proto/addr.js';
import { VirtualClock } from './clock.js';
import { NatRouter, routerOptions, type NatKind } from './nat.js';
import { SimNetwork, type SimOptions, type SimTransport } from './network.js';
import { simDiscover, type DiscoverPortMapper } from './portmap.js';

export const SIM_BOOT_PORT = 62096;
export const SIM_HOST_PORT = 51820;
export const SIM_PRIVATE_HOST = '192.168.1.10';

export interface SimNode {
  kind: NatKind;
  dht: DhtNode;
  transport: SimTransport;
  /** The address the host's socket is bound to (private behind a router). */
  local: Addr;
  /** This host's own IP addresses (what NAT detection compares observed addresses with). */
  localIps: string[];
  router: NatRouter | undefined;
  /** Port-mapping discovery, as PortMapper.discover (finds a gateway only behind a UPnP router). */
  discover: DiscoverPortMapper;
  /** As a boot node / rendezvous reference: key, hex and (public) address. */
  boot: BootNode & { hex: string };
}

export type ExtraDhtOptions = Partial<Pick<DhtNodeOptions, 'onVerified' | 'isKnown' | 'refresh' | 'direct'>>;

export class NatWorld {
  readonly clock = new VirtualClock();
  readonly net: SimNetwork;
  readonly boots: SimNode[] = [];
  readonly hosts: SimNode[] = [];
  private publics = 0;
  private routers = 0;

  constructor(private readonly sodium: Sodium, opts: SimOptions & { namespace?: string } = {}, private readonly namespace = opts.namespace ?? 'simworld') {
    this.net = new SimNetwork(this.clock, { minDelay: 5, maxDelay: 30, ...opts });
  }

  private node(kind: NatKind, transport: SimTransport, local: Addr, publicAddr: Addr, router: NatRouter | undefined, extra: ExtraDhtOptions): SimNode {
    const dht = new DhtNode({
      sodium: this.sodium, secret: generateSecret(this.sodium), workbit: 0, namespace: this.namespace, transport, clock: this.clock,
      refresh: false, ...extra,
    });
    return {
      kind, dht, transport, local, localIps: [local.host], router,
      discover: simDiscover(this.clock, router, local.host),
      boot: { key: dht.id, hex: dht.hex, addr: publicAddr },
    };
  }

  /** A public, directly reachable boot node. */
  addBoot(extra: ExtraDhtOptions = {}): SimNode {
    const addr = { host: `192.0.2.${this.boots.length + 1}`, port: SIM_BOOT_PORT };
    const n = this.node('public', this.net.bind(addr), addr, addr, undefined, { direct: true, ...extra });
    this.boots.push(n);
    return n;
  }

  /** A host of `kind`: on the public network for 'public', else behind a new router of that kind. */
  addHost(kind: NatKind, extra: ExtraDhtOptions = {}): SimNode {
    let n: SimNode;
    if (kind === 'public') {
      const addr = { host: `198.51.100.${++this.publics}`, port: SIM_HOST_PORT };
      n = this.node(kind, this.net.bind(addr), addr, addr, undefined, extra);
    } else {
      const r = ++this.routers;
      const router = new NatRouter(this.net, `203.0.113.${r}`, routerOptions(kind, r)!);
      const local = { host: SIM_PRIVATE_HOST, port: SIM_HOST_PORT };
      n = this.node(kind, router.bind(local), local, { host: router.publicIp, port: SIM_HOST_PORT }, router, extra);
    }
    this.hosts.push(n);
    return n;
  }

  bootNodes(): BootNode[] {
    return this.boots.map((b) => ({ key: b.boot.key, addr: b.boot.addr }));
  }

  /** Every boot node joins the others, then every host joins through the boot nodes. */
  async bootstrap(limit = 60_000): Promise<void> {
    let pending = 0;
    const join = (n: SimNode) => { pending++; void n.dht.bootstrap(this.bootNodes()).finally(() => pending--); };
    for (const b of this.boots) join(b);
    await this.clock.runUntil(() => pending === 0, limit);
    for (const h of this.hosts) join(h);
    await this.clock.runUntil(() => pending === 0, limit);
  }

  /** Runs the clock until `p` settles or `limit` virtual ms passed; undefined then. */
  async settle<T>(p: Promise<T>, limit = 60_000): Promise<T | undefined> {
    let done = false;
    let value: T | undefined;
    void p.then((v) => { done = true; value = v; }, () => { done = true; });
    await this.clock.runUntil(() => done, limit, 10);
    return value;
  }

  close(): void {
    for (const n of [...this.boots, ...this.hosts]) n.dht.close();
  }
}

// The UDP/WebSocket fallback, driven (docs/NAT.md "Falling back to WebSocket"): the pure machine
// src/nat/wsfallback.ts on the daemon's clock, for the boot nodes that have both a UDP and a
// ws:// line (src/daemon/wstransports.ts FallbackLink). It probes their UDP addresses; on
// `useWs` it opens their WebSocket links and joins through them, on `useUdp` it closes them.
// On `useWs` the direct peers search again (their UDP path most likely went with the boot
// nodes'). Either way the relay links renew at once: one whose relay address stopped answering moves to
// the same boot node at its other address (src/relay/client.ts renewAll), WireGuard's loopback
// endpoint unchanged.
import { toHex } from '../dht/id.js';
import { WsFallback, type FallbackAction, type Underlay } from '../nat/wsfallback.js';
import { addrKey, isUdpAddr, sameAddr, type Addr } from '../proto/addr.js';
import type { TimerHandle } from '../util/clock.js';
import type { NodeContext } from './context.js';
import type { FallbackLink } from './wstransports.js';

export class FallbackDriver {
  private readonly m: WsFallback;
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly ctx: NodeContext, private links: readonly FallbackLink[]) {
    this.m = new WsFallback(ctx.clock.now());
    this.arm();
  }

  get state(): Underlay { return this.m.state; }
  get since(): number { return this.m.changedAt; }

  /** The fallback boot nodes' UDP addresses (their lines without ws://, resolved by the join;
   *  a ws:// line's address is a 'ws' one even where the UDP line has the same host and port). */
  private udpBoots(): { key: Uint8Array; addr: Addr }[] {
    const keys = new Set(this.links.map((l) => toHex(l.key)));
    return this.ctx.join.boots.filter((b) => keys.has(toHex(b.key)) && isUdpAddr(b.addr));
  }

  /** Where to reach fallback boot node `hex` now (its ws:// line's address while on WebSocket,
   *  else its UDP line's); undefined for another key. */
  addrFor(hex: string): Addr | undefined {
    if (this.m.state === 'ws') return this.links.find((l) => toHex(l.key) === hex)?.addr;
    return this.udpBoots().find((b) => toHex(b.key) === hex)?.addr;
  }

  /** Whether fallback boot node `hex` can take a request now: not while on WebSocket with its
   *  link not open (a request sent into a link still connecting, or failing to, would wait for
   *  its timeout). True for another key. */
  reachableNow(hex: string): boolean {
    if (this.m.state !== 'ws') return true;
    return this.links.find((l) => toHex(l.key) === hex)?.open() ?? true;
  }

  /** Node `id` answered us at `addr` (the DHT's onVerified, a verified reply sealed by `id`):
   *  only a fallback boot node's own key at one of its UDP addresses says "UDP works". A third
   *  party at that address (spoofing it, or there after a change) and an answer over a
   *  WebSocket link do not count. */
  heard(addr: Addr, id: Uint8Array): void {
    const hex = toHex(id);
    if (this.closed || !this.udpBoots().some((b) => toHex(b.key) === hex && sameAddr(b.addr, addr))) return;
    this.perform(this.m.udpAnswered(this.ctx.clock.now()));
  }

  /** A reload's fallback links (src/daemon/wsreload.ts closes those it removed): while on
   *  WebSocket, the new ones open at once and the node joins through them. */
  setLinks(links: readonly FallbackLink[]): void {
    const added = links.filter((l) => !this.links.includes(l));
    this.links = links;
    if (this.closed || this.m.state !== 'ws' || added.length === 0) return;
    for (const l of added) l.link.switchOn();
    this.joinThrough(added);
  }

  /** Joins through `links` (switched on); then the relay links renew, over them. */
  private joinThrough(links: readonly FallbackLink[]): void {
    void this.ctx.dht.bootstrap(links.map((l) => ({ key: l.key, addr: l.addr }))).then(() => this.ctx.traversal.renewNow());
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    const { clock } = this.ctx;
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      this.perform(this.m.tick(clock.now()));
    }, Math.max(0, this.m.nextDeadline() - clock.now()));
  }

  private perform(actions: FallbackAction[]): void {
    const { ctx } = this;
    for (const a of actions) {
      if (this.closed || ctx.stopping) return;
      if (a.a === 'probe') {
        for (const b of this.udpBoots()) void ctx.dht.ping(b.key, b.addr, 0);
      } else if (a.a === 'useWs') {
        ctx.log.warn(`${a.why}: reaching the boot nodes over WebSocket (${this.links.map((l) => addrKey(l.addr)).join(', ')}); UDP is probed every few seconds`);
        for (const l of this.links) l.link.switchOn();
        ctx.paths.udpLost('UDP to the boot nodes is blocked');
        // (The NAT verdict is checked again at each switch: 'blocked' on WebSocket at once, UDP's
        // own once the boot nodes answered over UDP again.)
        void ctx.nat.checkNat();
        this.joinThrough(this.links);
      } else {
        ctx.log.info('a boot node answered over UDP again: back to UDP, WebSocket links closed');
        for (const l of this.links) l.link.switchOff();
        void ctx.dht.bootstrap(this.udpBoots()).then(() => { ctx.traversal.renewNow(); return ctx.nat.checkNat(); });
      }
    }
    this.arm();
  }
}

// The punch client (docs/PROTOCOL.md section 7.4 `punch-req`/`punch-notify`, section 7.6), for
// src/nat/traversal.ts, which dispatches to it (the rendezvous side is src/nat/rendezvous.ts):
// - as the target: every `punch-notify` gets the same `ack`; only one whose sealed introduction
//   opens under the key it names, trusted, through the rendezvous that sent it, is acted on
//   (src/nat/intro.ts): its relay session there is opened (always), and a few probes sent
//   (PUNCH_NOTIFY_PROBES, within PUNCH_NOTIFY_BUDGET times the notify's size), at most once per
//   peer per NOTIFY_MIN_INTERVAL, and bursts of probes at most PUNCH_NOTIFY_BURSTS_PER_SEC in all;
// - as the initiator: asking rendezvous nodes, then probing the address they name.
import type { DhtNode } from '../dht/node.js';
import type { Incoming } from '../dht/rpc.js';
import { toHex } from '../dht/id.js';
import { usableAddr, type Addr } from '../proto/addr.js';
import type { Message, MessageOf } from '../proto/messages.js';
import type { RelayRef } from '../relay/link.js';
import type { Clock } from '../util/clock.js';
import { RateLimiter } from '../util/ratelimit.js';
import {
  NOTIFY_MIN_INTERVAL, PUNCH_LAST_ANSWERS_WAIT, PUNCH_NOTIFY_BURSTS_BURST, PUNCH_NOTIFY_BURSTS_PER_SEC, PUNCH_PROBE_INTERVAL, PUNCH_PROBES, PUNCH_RENDEZVOUS,
  RELAY_FOLLOW_WINDOW,
} from '../params.js';
import { notifyProbes, openIntro, sealIntro } from './intro.js';

/** Whether this node may ping `a` on another node's word (a checker's `reach`, a probe): not a
 *  loopback or unspecified address (of this host itself), nor multicast, link-local, NAT64 around
 *  a private IPv4 (src/proto/addr.ts usableAddr). */
export function reachable(a: Addr): boolean {
  return usableAddr(a);
}

export interface PunchHost {
  dht: DhtNode;
  clock: Clock;
  isTrusted(hex: string): boolean;
  isRendezvous(hex: string): boolean;
  announceAddr(): Addr | undefined;
}

/** A punch-notify to act on: the peer, the address to probe, how many probes, and through whom;
 *  `throttled`: the peer's notify was acted on less than NOTIFY_MIN_INTERVAL ago (only its
 *  relay session is opened: nothing is sent back through the rendezvous, so that two nodes
 *  answering each other's notifies cannot loop). */
export interface Notice {
  peerKey: Uint8Array;
  addr: Addr;
  rendezvous: RelayRef;
  probes: number;
  throttled: boolean;
}

export class Puncher {
  closed = false;
  /** Bursts of probes on punch-notify, all peers together. */
  private readonly bursts = new RateLimiter(PUNCH_NOTIFY_BURSTS_PER_SEC, PUNCH_NOTIFY_BURSTS_BURST, 1);
  /** Last punch-notify acted on, per peer (bounded by the number of trusted peers). */
  private readonly lastNotified = new Map<string, number>();
  /** When a genuine introduction of a peer last came through a rendezvous, by "peer/rendezvous"
   *  (only trusted peers' own introductions get here; expired entries are pruned). */
  private readonly introduced = new Map<string, number>();

  constructor(private readonly host: PunchHost) {}

  private get rpc() {
    return this.host.dht.rpc;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => this.host.clock.setTimeout(r, ms));
  }

  /** Asks `via` to notify `peerKey`, with our sealed introduction (and our mapped address in it). */
  punchReq(via: RelayRef, peerKey: Uint8Array, own?: Addr) {
    const i = sealIntro(this.host.dht.channel, peerKey, via.key, own);
    return this.rpc.request(via.addr, via.key, (x) => ({ t: 'punch-req', x, k: peerKey, ...(i ? { i } : {}) }));
  }

  /** The target side of a punch-notify: the same ack whatever follows; the notice to act on, if any. */
  notified(req: Incoming, m: MessageOf<'punch-notify'>, reply: (msg: Message) => number): { sent: number; notice?: Notice } {
    const sent = reply({ t: 'ack', x: m.x });
    const count = (what: string) => { this.host.dht.counters.add(`punch-notify-${what}`); return { sent }; };
    if (!this.host.isRendezvous(req.senderHex)) return count('refused');
    const v = openIntro(this.host.dht.channel, m.i, m.k, req.sender, (hex) => this.host.isTrusted(hex));
    if (!v.ok) return count(v.reason);
    this.remember(toHex(m.k), req.senderHex);
    // Probes for at most one notification per peer per NOTIFY_MIN_INTERVAL, whoever asks; bursts
    // of probes at most PUNCH_NOTIFY_BURSTS_PER_SEC for all peers together. Beyond either, the
    // peer is still followed to this relay, without probes: its relay link may go through
    // another rendezvous than its punch did (the first did not know us yet), and a relay
    // forwards only once both sides opened (what follows sends only to this rendezvous).
    const peerHex = toHex(m.k), now = this.host.clock.now();
    let probes = notifyProbes(req.size);
    const throttled = now - (this.lastNotified.get(peerHex) ?? -Infinity) < NOTIFY_MIN_INTERVAL;
    if (throttled) {
      this.host.dht.counters.add('punch-notify-throttled');
      probes = 0;
    } else {
      this.lastNotified.set(peerHex, now);
      if (!this.bursts.take('all', now)) { this.host.dht.counters.add('punch-notify-busy'); probes = 0; }
    }
    // The initiator's own (mapped) address if it gave one, else the rendezvous's observation.
    const rendezvous = { key: req.sender, hex: req.senderHex, addr: req.from };
    return { sent, notice: { peerKey: m.k, addr: v.intro.a ?? m.a, rendezvous, probes, throttled } };
  }

  private remember(peerHex: string, viaHex: string): void {
    const now = this.host.clock.now();
    for (const [k, at] of this.introduced) if (now - at > RELAY_FOLLOW_WINDOW) this.introduced.delete(k);
    this.introduced.set(`${peerHex}/${viaHex}`, now);
  }

  /** Whether peer `peerHex` introduced itself through rendezvous `viaHex` within
   *  RELAY_FOLLOW_WINDOW: only then is its `relayed` through that node followed. */
  introducedVia(peerHex: string, viaHex: string): boolean {
    const at = this.introduced.get(`${peerHex}/${viaHex}`);
    return at !== undefined && this.host.clock.now() - at <= RELAY_FOLLOW_WINDOW;
  }

  /** Pings `addr` `count` times; stops early when `done()` says so. True if one answered. */
  async probe(peerKey: Uint8Array, addr: Addr, done: () => boolean, count = PUNCH_PROBES): Promise<boolean> {
    let answered = false;
    for (let i = 0; i < count && !answered && !done() && !this.closed; i++) {
      void this.host.dht.ping(peerKey, addr, 0).then((r) => { if (r !== undefined) answered = true; });
      await this.sleep(PUNCH_PROBE_INTERVAL);
    }
    if (!answered && !done() && !this.closed) await this.sleep(PUNCH_LAST_ANSWERS_WAIT); // the last probes' answers
    return answered || done();
  }

  /**
   * Coordinates a punch with `peerKey` through rendezvous nodes. At the first `punch-ok` (a
   * rendezvous knows the peer: it is up), `onAccepted(via)` is called at once, before the probes
   * (the path machine opens a relay through `via` while they go on), and the address that
   * rendezvous names is probed without waiting for the later rendezvous' answers. Resolves with the
   * rendezvous that answered (a relay candidate the peer can reach) and whether a probe got through.
   */
  async punch(peerKey: Uint8Array, rendezvous: RelayRef[], done: () => boolean, onAccepted?: (via: RelayRef) => void): Promise<{ direct: boolean; via?: RelayRef }> {
    const asked = rendezvous.slice(0, PUNCH_RENDEZVOUS);
    const announce = this.host.announceAddr();
    // The first acceptable punch-ok in the order asked (both sides of a pair then pick the same
    // rendezvous, and so the same relay), without waiting for the later ones' answers.
    const answers = asked.map(async (r) => {
      const reply = await this.punchReq(r, peerKey, announce);
      // The peer's address is the rendezvous's word: never this host's own loopback. A
      // punch-ok without `e`: the rendezvous reaches the peer over a WebSocket connection only
      // (no UDP address to probe): it is taken, the relay there, without probes.
      if (reply?.msg.t !== 'punch-ok') return undefined;
      const e = reply.msg.e;
      return e === undefined ? { r, target: undefined } : reachable(e) ? { r, target: e } : undefined;
    });
    // (The answers not waited for still settle: a failure there is nobody's to report.)
    for (const a of answers) a.catch(() => undefined);
    let ok: { r: RelayRef; target: Addr | undefined } | undefined;
    for (const a of answers) if ((ok = await a) !== undefined) break;
    if (ok === undefined || this.closed) return { direct: false };
    onAccepted?.(ok.r);
    const direct = ok.target !== undefined && await this.probe(peerKey, ok.target, done);
    return { direct, via: ok.r };
  }
}

// A fake WireGuard for the simulated daemon (src/sim/daemons.ts): the DataPlane a daemon drives
// (setPeer, removePeer, dump), sending through the simulated network (the data side of the
// shared port, src/sim/portshare.ts, so NAT mappings are shared with the daemon) and through
// relay links' loopback endpoints (SimLoopback, src/sim/loopback.ts). No cryptography: what matters to the daemon
// and to the relays is modelled, as wireguard-go behaves:
// - datagrams shaped as WireGuard's (src/relay/wgshape.ts): initiation 148 bytes, response 92,
//   data 32 + plaintext padded to 16; handshakes carry the sender's public key in clear;
// - the handshake: data to a peer without a session is staged and an initiation sent, retried
//   every WG_REKEY_TIMEOUT (+ jitter) for WG_REKEY_ATTEMPT_TIME; none is sent within
//   WG_REKEY_TIMEOUT of the last attempt, even one that failed for want of an endpoint; the initiator has a session
//   when the response comes, the responder when the first data of that session comes. Two
//   crossing initiations fail both responses (wireguard-go answers the other's initiation with
//   the state its own was waiting on); an initiation whose timestamp (TAI64N, whitened to 2^24
//   ns) is not after the last one taken from the peer (a replay, or out of order), or within
//   WG_INITIATION_RATE of it (a flood), is dropped, as wireguard-go's ConsumeMessageInitiation;
// - roaming: every authenticated datagram moves the peer's endpoint to its source;
// - keepalives: passive (WG_KEEPALIVE_TIMEOUT after data received with nothing sent back),
//   persistent (the configured interval; turning it on sends one at once), and a new handshake
//   when data sent gets no answer within WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT;
// - rx/tx byte counters of everything sent and received, and the latest handshake as Unix
//   seconds: `wallBase` (ms) + the virtual time.
// The overlay side: sendIp() puts one IPv4 packet (an echo request, a datagram to the discard
// port) into the tunnel towards the peer whose allowed IPs hold its destination (/32 entries);
// echo requests are answered, discard datagrams get an ICMP port-unreachable back, echo replies
// go to `onEcho`.
import type { DataPlane, WgDump, WgPeerConfig } from '../daemon/dataplane.js';
import { parseKey, keyToBase64 } from '../crypto/keys.js';
import { addrKey, type Addr } from '../proto/addr.js';
import type { Transport } from '../net/transport.js';
import { SimLoopback } from './loopback.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/** WireGuard's timers (the whitepaper's section 6.1, as wireguard-go has them), in ms. */
export const WG_REKEY_TIMEOUT = 5000;
export const WG_REKEY_JITTER = 333;
export const WG_REKEY_ATTEMPT_TIME = 90_000;
export const WG_KEEPALIVE_TIMEOUT = 10_000;
export const WG_REKEY_AFTER_TIME = 120_000;
export const WG_REJECT_AFTER_TIME = 180_000;
/** At most one initiation taken per peer per this many ms (wireguard-go's HandshakeInitationRate). */
export const WG_INITIATION_RATE = 20;
/** Packets staged per peer while it has no session (wireguard-go's QueueStagedSize). */
export const WG_STAGED_MAX = 128;
/** Overlay packet sizes: an ICMP echo of ping's default 56 bytes, an empty UDP datagram, an
 *  ICMP port-unreachable quoting it. */
const IP_ECHO = 84, IP_DISCARD = 28, IP_UNREACH = 56;
const ECHO_REQUEST = 1, ECHO_REPLY = 2, DISCARD = 3, UNREACHABLE = 4;

interface Keypair { local: number; remote: number; created: number; initiator: boolean }

interface Peer {
  cfg: WgPeerConfig;
  key: Uint8Array;
  endpoint: Addr | undefined;
  rx: number;
  tx: number;
  /** Virtual ms of the latest completed handshake; undefined: never. */
  handshakeAt: number | undefined;
  hs: { state: 'none' | 'initiation-created' | 'response-created'; local: number; firstAt: number; sentAt: number };
  current?: Keypair; next?: Keypair; previous?: Keypair;
  staged: Uint8Array[];
  timers: Map<'retry' | 'passive' | 'persistent' | 'rehandshake', TimerHandle>;
  /** When this side last tried to initiate (sent, or found no endpoint). */
  lastAttempt: number;
  /** The last initiation taken from the peer: its timestamp and when it came. */
  lastInitiation?: { stamp: number; at: number };
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u32 = (b: Uint8Array, at: number): number => view(b).getUint32(at, true);
const put32 = (b: Uint8Array, at: number, v: number): void => view(b).setUint32(at, v >>> 0, true);
const ipBytes = (ip: string): number[] => ip.split('.').map(Number);
/** WireGuard's message types by first byte (the trace's words). */
const WG_KINDS: Record<number, string> = { 1: 'initiation', 2: 'response', 4: 'data' };
function parseEndpoint(text: string): Addr {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

export interface SimWireGuardOptions {
  name: string;
  /** base64 */
  privateKey: string;
  publicKey: Uint8Array;
  listenPort: number;
  /** The interface's addresses, as "10.0.0.1/24". */
  addresses: string[];
  clock: Clock;
  /** The data side of the node's shared port. */
  port: Transport;
  loopback: SimLoopback;
  random: () => number;
  /** Unix ms at virtual time 0 (the latest handshake is reported on this wall clock). */
  wallBase: number;
  /** A line per datagram sent, received or dropped (for a test's debug log). */
  trace?: (line: string) => void;
}

export class SimWireGuard implements DataPlane {
  readonly backend = 'sim';
  readonly name: string;
  readonly listenPort: number;
  readonly ip: string | undefined;
  private readonly peers = new Map<string, Peer>();
  private readonly indices = new Map<number, Peer>();
  private destroyed = false;
  /** An echo reply came back: (source IP, echo id). */
  onEcho: ((from: string, id: number) => void) | undefined;
  /** Datagrams dropped, by reason (unknown key, invalid response, no endpoint, ...). */
  readonly drops = new Map<string, number>();

  constructor(private readonly o: SimWireGuardOptions) {
    this.name = o.name;
    this.listenPort = o.listenPort;
    this.ip = o.addresses.map((a) => a.split('/')[0]!).find((a) => a.includes('.'));
    o.port.setReceiver((d, from) => this.receive(d, from));
    o.loopback.wireguard = this;
  }

  private now(): number { return this.o.clock.now(); }
  private drop(why: string): void { this.drops.set(why, (this.drops.get(why) ?? 0) + 1); this.o.trace?.(`wg: drop ${why}`); }

  // ---- DataPlane --------------------------------------------------------------------------------

  async setPeer(c: WgPeerConfig): Promise<void> {
    if (this.destroyed) throw new Error(`${this.name} is gone`);
    let p = this.peers.get(c.publicKey);
    const before = p?.cfg.keepalive ?? 0;
    if (p === undefined) {
      p = { cfg: c, key: parseKey(c.publicKey), endpoint: undefined, rx: 0, tx: 0, handshakeAt: undefined,
        hs: { state: 'none', local: 0, firstAt: 0, sentAt: -Infinity }, staged: [], timers: new Map(), lastAttempt: -Infinity };
      this.peers.set(c.publicKey, p);
    }
    p.cfg = { ...p.cfg, ...c, ...(c.endpoint === undefined && p.cfg.endpoint !== undefined ? { endpoint: p.cfg.endpoint } : {}) };
    if (c.endpoint !== undefined) p.endpoint = parseEndpoint(c.endpoint);
    // Turning the persistent keepalive on sends one at once (wireguard-go's UAPI does).
    if (before === 0 && (c.keepalive ?? 0) > 0) this.sendPlain(p, new Uint8Array(0));
    else this.armPersistent(p);
  }

  async removePeer(publicKey: string): Promise<void> {
    const p = this.peers.get(publicKey);
    if (p === undefined) return;
    for (const t of p.timers.values()) this.o.clock.clearTimeout(t);
    for (const [i, q] of this.indices) if (q === p) this.indices.delete(i);
    this.peers.delete(publicKey);
  }

  async dump(): Promise<WgDump> {
    if (this.destroyed) throw new Error(`${this.name} is gone`);
    return {
      publicKey: keyToBase64(this.o.publicKey), listenPort: this.listenPort,
      peers: [...this.peers.values()].map((p) => ({
        publicKey: p.cfg.publicKey, allowedIps: p.cfg.allowedIps, keepalive: p.cfg.keepalive ?? 0, rxBytes: p.rx, txBytes: p.tx,
        latestHandshake: p.handshakeAt === undefined ? 0 : Math.floor((this.o.wallBase + p.handshakeAt) / 1000),
        ...(p.endpoint ? { endpoint: addrKey(p.endpoint) } : {}),
      })),
    };
  }

  async destroy(): Promise<void> {
    for (const k of [...this.peers.keys()]) await this.removePeer(k);
    this.destroyed = true;
    this.o.port.setReceiver(() => undefined);
    if (this.o.loopback.wireguard === this) this.o.loopback.wireguard = undefined;
  }

  // ---- the overlay ------------------------------------------------------------------------------

  /** One IPv4 packet into the tunnel: false when no peer's allowed IPs hold `dst` (no route). */
  sendIp(dst: string, what: 'echo' | 'discard', id = 0): boolean {
    return this.sendPacket(dst, what === 'echo' ? ECHO_REQUEST : DISCARD, id);
  }

  private sendPacket(dst: string, kind: number, id: number): boolean {
    if (this.destroyed || this.ip === undefined) return false;
    const p = [...this.peers.values()].find((q) => q.cfg.allowedIps.includes(`${dst}/32`));
    if (p === undefined) return false;
    const pkt = new Uint8Array(kind === ECHO_REQUEST || kind === ECHO_REPLY ? IP_ECHO : kind === DISCARD ? IP_DISCARD : IP_UNREACH);
    pkt[0] = kind;
    pkt.set(ipBytes(this.ip), 1);
    pkt.set(ipBytes(dst), 5);
    put32(pkt, 9, id);
    this.sendPlain(p, pkt);
    return true;
  }

  private onPacket(p: Peer, pkt: Uint8Array): void {
    const src = pkt.subarray(1, 5).join('.'), dst = pkt.subarray(5, 9).join('.');
    // Cryptokey routing: the source must be one of the peer's allowed IPs.
    if (!p.cfg.allowedIps.includes(`${src}/32`)) return this.drop('source-not-allowed');
    if (dst !== this.ip) return this.drop('not-for-us');
    const kind = pkt[0], id = u32(pkt, 9);
    if (kind === ECHO_REQUEST) this.sendPacket(src, ECHO_REPLY, id);
    else if (kind === DISCARD) this.sendPacket(src, UNREACHABLE, id);
    else if (kind === ECHO_REPLY) this.onEcho?.(src, id);
  }

  // ---- WireGuard --------------------------------------------------------------------------------

  private out(p: Peer, data: Uint8Array): void {
    if (p.endpoint === undefined) return this.drop('no-endpoint');
    this.o.trace?.(`wg: ${WG_KINDS[data[0]!] ?? data[0]} -> ${addrKey(p.endpoint)}${data[0] === 4 ? ` (${data.length} bytes)` : ''}`);
    p.tx += data.length;
    if (p.endpoint.host === '127.0.0.1') this.o.loopback.deliver(p.endpoint.port, data, { host: '127.0.0.1', port: this.listenPort });
    else this.o.port.send(p.endpoint, data);
  }

  private timer(p: Peer, which: 'retry' | 'passive' | 'persistent' | 'rehandshake', ms: number | undefined, fn?: () => void): void {
    const t = p.timers.get(which);
    if (t !== undefined) this.o.clock.clearTimeout(t);
    p.timers.delete(which);
    if (ms !== undefined && fn !== undefined) p.timers.set(which, this.o.clock.setTimeout(() => { p.timers.delete(which); if (this.peers.get(p.cfg.publicKey) === p) fn(); }, ms));
  }

  private newIndex(p: Peer): number {
    let i: number;
    do i = 1 + Math.floor(this.o.random() * 0xfffffffe); while (this.indices.has(i));
    this.indices.set(i, p);
    return i;
  }

  private usable(k: Keypair | undefined): k is Keypair {
    return k !== undefined && this.now() - k.created < WG_REJECT_AFTER_TIME;
  }

  /** Data (empty: a keepalive) to the peer, or staged behind a handshake. */
  private sendPlain(p: Peer, plain: Uint8Array): void {
    const k = p.current;
    if (!this.usable(k)) {
      p.staged.push(plain);
      if (p.staged.length > WG_STAGED_MAX) p.staged.shift();
      this.initiate(p, false);
      return;
    }
    if (k.initiator && this.now() - k.created >= WG_REKEY_AFTER_TIME) this.initiate(p, false);
    this.transport(p, k, plain);
  }

  private transport(p: Peer, k: Keypair, plain: Uint8Array): void {
    const d = new Uint8Array(32 + Math.ceil(plain.length / 16) * 16);
    d[0] = 4;
    put32(d, 4, k.remote);
    d.set(plain, 16);
    this.out(p, d);
    this.traversed(p);
    this.timer(p, 'passive', undefined);
    // Data that gets no answer: a new handshake (the path may have changed).
    if (plain.length > 0 && !p.timers.has('rehandshake')) this.timer(p, 'rehandshake', WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT, () => this.initiate(p, false));
  }

  /** An authenticated datagram went either way: the persistent keepalive starts over. */
  private traversed(p: Peer): void {
    this.armPersistent(p);
  }

  private armPersistent(p: Peer): void {
    const s = p.cfg.keepalive ?? 0;
    this.timer(p, 'persistent', s > 0 ? s * 1000 : undefined, () => this.sendPlain(p, new Uint8Array(0)));
  }

  private initiate(p: Peer, retry: boolean): void {
    const now = this.now();
    // None within WG_REKEY_TIMEOUT of the last attempt, even one that found no endpoint
    // (wireguard-go notes the time before sending, and its retransmit timer runs all the same).
    if (now - p.lastAttempt < WG_REKEY_TIMEOUT) return;
    p.lastAttempt = now;
    const firstAt = retry ? p.hs.firstAt : now;
    if (p.endpoint === undefined) {
      this.drop('no-endpoint');
      p.hs = { ...p.hs, firstAt };
    } else {
      if (p.hs.local !== 0) this.indices.delete(p.hs.local);
      p.hs = { state: 'initiation-created', local: this.newIndex(p), firstAt, sentAt: now };
      const d = new Uint8Array(148);
      d[0] = 1;
      put32(d, 4, p.hs.local);
      d.set(this.o.publicKey, 8);
      put32(d, 40, Math.floor((this.o.wallBase + now) / 1000));
      put32(d, 44, ((this.o.wallBase + now) % 1000) * 1e6 & ~0xffffff); // whitened, as wireguard-go's tai64n
      this.out(p, d);
    }
    this.timer(p, 'retry', WG_REKEY_TIMEOUT + Math.floor(this.o.random() * WG_REKEY_JITTER), () => {
      if (p.current !== undefined && p.handshakeAt !== undefined && p.handshakeAt >= firstAt) return;
      if (this.now() - firstAt < WG_REKEY_ATTEMPT_TIME) this.initiate(p, true);
      else p.staged.length = 0; // given up: the staged packets go
    });
  }

  /** A datagram from the network (or from a relay link's endpoint on 127.0.0.1). */
  receive(d: Uint8Array, from: Addr): void {
    if (this.destroyed || d.length < 4 || d[1] !== 0 || d[2] !== 0 || d[3] !== 0) return this.drop('malformed');
    this.o.trace?.(`wg: ${WG_KINDS[d[0]!] ?? d[0]} <- ${addrKey(from)}${d[0] === 4 ? ` (${d.length} bytes)` : ''}`);
    if (d[0] === 1 && d.length === 148) return this.onInitiation(d, from);
    if (d[0] === 2 && d.length === 92) return this.onResponse(d, from);
    if (d[0] === 4 && d.length >= 32) return this.onTransport(d, from);
    this.drop('malformed');
  }

  private onInitiation(d: Uint8Array, from: Addr): void {
    const p = this.peers.get(keyToBase64(d.subarray(8, 40)));
    if (p === undefined) return this.drop('unknown-key');
    const stamp = u32(d, 40) * 1e9 + u32(d, 44), last = p.lastInitiation, now = this.now();
    if (last !== undefined && stamp <= last.stamp) return this.drop('initiation-replay');
    if (last !== undefined && now - last.at <= WG_INITIATION_RATE) return this.drop('initiation-flood');
    p.lastInitiation = { stamp, at: now };
    p.rx += d.length;
    p.endpoint = from;
    // Answering overwrites the handshake state: an initiation of ours in flight is lost (its
    // response will be refused), as in wireguard-go.
    if (p.hs.local !== 0) this.indices.delete(p.hs.local);
    const local = this.newIndex(p);
    p.hs = { ...p.hs, state: 'response-created', local: 0 };
    if (p.next !== undefined) this.indices.delete(p.next.local);
    p.next = { local, remote: u32(d, 4), created: this.now(), initiator: false };
    const r = new Uint8Array(92);
    r[0] = 2;
    put32(r, 4, local);
    put32(r, 8, u32(d, 4));
    r.set(this.o.publicKey, 12);
    this.out(p, r);
    this.traversed(p);
    this.timer(p, 'rehandshake', undefined);
  }

  private onResponse(d: Uint8Array, from: Addr): void {
    const idx = u32(d, 8), p = this.indices.get(idx);
    if (p === undefined || p.hs.state !== 'initiation-created' || p.hs.local !== idx || keyToBase64(d.subarray(12, 44)) !== p.cfg.publicKey) return this.drop('invalid-response');
    p.rx += d.length;
    p.endpoint = from;
    this.promote(p, { local: idx, remote: u32(d, 4), created: this.now(), initiator: true });
    p.hs = { state: 'none', local: 0, firstAt: 0, sentAt: p.hs.sentAt };
    this.timer(p, 'retry', undefined);
    this.timer(p, 'rehandshake', undefined);
    const staged = p.staged.splice(0);
    if (staged.length === 0) staged.push(new Uint8Array(0)); // the keepalive that confirms the session
    for (const s of staged) this.transport(p, p.current!, s);
  }

  private promote(p: Peer, k: Keypair): void {
    if (p.previous !== undefined) this.indices.delete(p.previous.local);
    p.previous = p.current;
    p.current = k;
    p.handshakeAt = this.now();
  }

  private onTransport(d: Uint8Array, from: Addr): void {
    const idx = u32(d, 4), p = this.indices.get(idx);
    if (p === undefined) return this.drop('unknown-index');
    let k = [p.current, p.previous, p.next].find((x) => x?.local === idx);
    if (!this.usable(k)) return this.drop('unknown-index');
    if (k === p.next) {
      // The initiator's first data: the responder's session is confirmed.
      this.promote(p, k);
      p.next = undefined;
      if (p.hs.state === 'response-created') p.hs = { ...p.hs, state: 'none' };
      this.timer(p, 'retry', undefined);
      k = p.current!;
      for (const s of p.staged.splice(0)) this.transport(p, k, s);
    }
    p.rx += d.length;
    p.endpoint = from;
    this.traversed(p);
    this.timer(p, 'rehandshake', undefined);
    const plain = d.subarray(16, d.length - 16);
    if (plain.length === 0) return; // a keepalive
    if (!p.timers.has('passive')) this.timer(p, 'passive', WG_KEEPALIVE_TIMEOUT, () => this.sendPlain(p, new Uint8Array(0)));
    this.onPacket(p, plain);
  }
}

export { SimLoopback } from './loopback.js';

// The inviter's side of an invitation (docs/PROTOCOL.md sections 7.4 `alias` and 7.6 "Joining
// with an invitation"): `wh invite` registers an invitation's alias public key (the CLI made the
// key and keeps the secret out of the daemon); a joiner speaking as that alias key asks with
// `alias {k = its new key, m = proof of J's private key, i = part}`:
// - per source IP at most ALIAS_PER_SEC requests (the alias key is untrusted by definition);
// - an alias key with no invitation gets `error` "unknown invitation", an expired one
//   "invitation expired", one used by another key "invitation already used";
// - a proof that does not check is dropped and counted (`alias-forged`), never answered;
// - the first good proof: the invitation is marked used on disk, the `trust` line appended to
//   the network file (atomically), the file reloaded live, and only then part `i` of the new
//   file is sent as `alias-ok`. The same joiner asking again (a lost answer, the next parts)
//   gets the parts of that file.
import { sourceKey } from '../proto/addr.js';
import { appendLine, parseConfig, readConfigText, trustLine, writeFileAtomic } from '../config/index.js';
import { keyToBase64 } from '../crypto/keys.js';
import type { Incoming, Rpc } from '../dht/rpc.js';
import { ALIAS_BURST, ALIAS_CHUNK, ALIAS_MAX_PARTS, ALIAS_PER_SEC, RATE_LIMIT_SOURCES } from '../params.js';
import { checkAliasProof, splitParts } from '../proto/alias.js';
import { ERR_REFUSED, type Message, type MessageOf } from '../proto/messages.js';
import { RateLimiter } from '../util/ratelimit.js';
import type { NodeContext } from './context.js';
import { InviteStore, invitesPath, type InviteRecord } from './invitestore.js';
import { InviteRelay } from './inviterelay.js';

export class Invites {
  readonly store: InviteStore;
  private readonly limiter = new RateLimiter(ALIAS_PER_SEC, ALIAS_BURST, RATE_LIMIT_SOURCES);
  /** The file each used invitation's joiner was sent (by alias key), once built. */
  private readonly sent = new Map<string, Uint8Array[]>();
  /** Invitations whose acceptance is being written: their requests wait for the retry. */
  private readonly busy = new Set<string>();

  /** The same exchange for a joiner that can only be relayed (src/daemon/inviterelay.ts). */
  readonly relay: InviteRelay;

  constructor(private readonly ctx: NodeContext, private readonly reload: () => Promise<unknown>, wallNow: () => number) {
    this.store = new InviteStore(invitesPath(ctx.opts.configPath), wallNow);
    this.relay = new InviteRelay(ctx.dht, (hex) => this.isIssued(hex), (req, m, max, rpc) => this.onAlias(req, m, max, rpc));
  }

  /** Whether `hex` is the alias key of a pending invitation. */
  isPending(hex: string): boolean {
    return this.store.pending(Buffer.from(hex, 'hex').toString('base64')) !== undefined;
  }

  /** Whether `hex` is the alias key of an invitation we issued (pending, used or expired, while
   *  kept): the puncher acts on its punches, so that its holder reaches us behind our NAT and
   *  hears why it is refused. */
  isIssued(hex: string): boolean {
    return this.store.get(Buffer.from(hex, 'hex').toString('base64')) !== undefined;
  }

  /** Registers an invitation (`wh invite`); the hostname must be free and the file small enough. */
  async add(rec: InviteRecord): Promise<void> {
    const text = await readConfigText(this.ctx.opts.configPath);
    if (splitParts(new TextEncoder().encode(text + trustLine(rec.alias, rec.hostname) + '\n'), ALIAS_CHUNK, ALIAS_MAX_PARTS) === undefined) {
      throw new Error(`${this.ctx.opts.configPath} is over ${ALIAS_CHUNK * ALIAS_MAX_PARTS} bytes: too large to send to a joiner`);
    }
    const taken = rec.hostname !== undefined && (this.ctx.config.peers.some((p) => p.hostname === rec.hostname) ||
      this.store.all().some((r) => r.hostname === rec.hostname && r.used === undefined && r.expires >= rec.created));
    if (taken) throw new Error(`hostname ${rec.hostname} is taken already (a trust or peer line, or a pending invitation)`);
    await this.store.add(rec);
  }

  /** An `alias` request; returns the bytes answered at once (the acceptance answers later).
   *  `rpc`: where it came in (the DHT's, or a relayed joiner's, src/daemon/inviterelay.ts). */
  onAlias(req: Incoming, m: MessageOf<'alias'>, maxSize: number, rpc: Rpc = this.ctx.dht.rpc): number {
    const count = (what: string) => { this.ctx.dht.counters.add(`alias-${what}`); return 0; };
    const reply = (msg: Message) => rpc.send(req.from, req.sender, msg, maxSize);
    const refuse = (what: string, text: string) => { count(what); return reply({ t: 'error', x: m.x, c: ERR_REFUSED, m: text }); };
    if (!this.limiter.take(sourceKey(req.from.host), this.ctx.clock.now())) return count('rate-limited');
    const alias = keyToBase64(req.sender);
    const rec = this.store.get(alias);
    if (rec === undefined) return refuse('unknown', 'unknown invitation');
    // One X25519: only for an alias key the inviter issued, within the rate limit.
    if (!checkAliasProof(this.ctx.dht.channel.sodium, this.ctx.opts.secret, m.k, req.sender, m.x, m.m)) return count('forged');
    const joiner = keyToBase64(m.k);
    const part = m.i ?? 0;
    if (rec.used !== undefined) {
      if (rec.used.key !== joiner) return refuse('used', 'invitation already used');
      const parts = this.sent.get(alias);
      if (parts === undefined) { void this.rebuild(alias, joiner).then((p) => { if (p) this.answer(p, part, m, reply); }); return 0; }
      return this.answer(parts, part, m, reply);
    }
    if (this.store.pending(alias) === undefined) return refuse('expired', 'invitation expired');
    if (part !== 0) return refuse('order', 'ask for part 0 first');
    if (this.busy.has(alias)) return count('busy');
    this.busy.add(alias);
    void this.accept(rec, joiner).then((parts) => {
      if (parts === undefined) reply({ t: 'error', x: m.x, c: ERR_REFUSED, m: 'the inviter could not add you; ask it to look at its log' });
      else this.answer(parts, 0, m, reply);
    }).finally(() => this.busy.delete(alias));
    return 0;
  }

  private answer(parts: Uint8Array[], i: number, m: MessageOf<'alias'>, reply: (msg: Message) => number): number {
    const d = parts[i];
    if (d === undefined) { this.ctx.dht.counters.add('alias-order'); return reply({ t: 'error', x: m.x, c: ERR_REFUSED, m: `no part ${i}` }); }
    this.ctx.dht.counters.add('alias-ok');
    return reply({ t: 'alias-ok', x: m.x, c: parts.length, i, d });
  }

  /** Marks the invitation used, appends the trust line, reloads; the new file's parts. */
  private async accept(rec: InviteRecord, joiner: string): Promise<Uint8Array[] | undefined> {
    const { ctx } = this;
    const file = ctx.opts.configPath;
    try {
      const before = await readConfigText(file);
      const text = appendLine(before, trustLine(joiner, rec.hostname, `joined with an invitation of ${new Date(rec.created).toISOString()}`));
      parseConfig(text, file, ctx.dht.channel.sodium); // refuses a clash (key or hostname) before anything is written
      const parts = splitParts(new TextEncoder().encode(text), ALIAS_CHUNK, ALIAS_MAX_PARTS);
      if (parts === undefined) throw new Error(`${file} became too large to send`);
      await this.store.markUsed(rec.alias, joiner);
      try {
        await writeFileAtomic(file, text);
      } catch (e) {
        await this.store.unmark(rec.alias).catch(() => undefined);
        throw e;
      }
      this.sent.set(rec.alias, parts);
      ctx.dht.counters.add('alias-accepted');
      ctx.log.info(`invite: ${joiner}${rec.hostname ? ` (${rec.hostname})` : ''} joined; trust line added to ${file}`);
      await this.reload().catch((e: unknown) => ctx.log.warn(`invite: reload after adding ${joiner}: ${e instanceof Error ? e.message : String(e)}`));
      return parts;
    } catch (e) {
      ctx.log.warn(`invite: could not add ${joiner}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  /** After a restart: the file as it is now, for a joiner that asks again for its parts. */
  private async rebuild(alias: string, joiner: string): Promise<Uint8Array[] | undefined> {
    const text = await readConfigText(this.ctx.opts.configPath).catch(() => undefined);
    if (text === undefined || !text.includes(joiner)) return undefined;
    const parts = splitParts(new TextEncoder().encode(text), ALIAS_CHUNK, ALIAS_MAX_PARTS);
    if (parts) this.sent.set(alias, parts);
    return parts;
  }
}

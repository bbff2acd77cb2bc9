// Joining the DHT: the seeds of the config (boot lines, trust endpoints) resolved and pinged,
// what each boot node did with us (src/daemon/contact.ts), and a reload's new seeds. The boot
// nodes are the first rendezvous and relay candidates (src/daemon/natmonitor.ts).
import { keyToBase64 } from '../crypto/keys.js';
import type { BootNode } from '../dht/node.js';
import { sameAddr, type Addr } from '../proto/addr.js';
import { BootContact } from './contact.js';
import type { NodeContext } from './context.js';
import { resolveSeeds, seedId, seedsOf, type Seed } from './seeds.js';

export class Join {
  /** The boot nodes of the config, resolved (with the fallback ws:// lines: src/daemon/wsfallback.ts). */
  boots: BootNode[] = [];
  /** The addresses of the fallback ws:// boot lines: not pinged at the join, not reported silent. */
  private fallback: BootNode[] = [];
  /** What each boot node did with us (answered, refused our key's workbit, silent). */
  contact: BootContact | undefined;
  private firstHeard: (() => void) | undefined;
  private readonly heardOnce = new Promise<void>((resolve) => { this.firstHeard = resolve; });
  /** The line each boot node came from (`seedId`): a reload removes exactly the lines it removed. */
  private readonly lineOf = new WeakMap<BootNode, string>();

  constructor(private readonly ctx: NodeContext) {}

  /** A node answered us (the DHT's onVerified), at `addr`. */
  heard(hex: string, addr?: Addr): void {
    this.contact?.heard(hex, addr);
    this.firstHeard?.();
  }

  /** Stops waiting for a first answer (the node stops). */
  stop(): void {
    this.firstHeard?.();
  }

  /** Resolves seeds (src/daemon/seeds.ts): boot lines become rendezvous/relay candidates. */
  private async resolveSeeds(seeds: Seed[]): Promise<BootNode[]> {
    const { nodes, failed } = await resolveSeeds(seeds, this.ctx.seams.lookup);
    for (const f of failed) this.ctx.log.warn(f);
    const node = (n: (typeof nodes)[number]): BootNode => { const b = { key: n.key, addr: n.addr }; this.lineOf.set(b, seedId(n.seed)); return b; };
    this.boots.push(...nodes.filter((n) => n.seed.boot).map(node));
    this.fallback.push(...nodes.filter((n) => n.seed.fallback === true).map(node));
    return nodes.filter((n) => n.seed.fallback !== true).map((n) => ({ key: n.key, addr: n.addr }));
  }

  /** The boot nodes whose answers are expected at the join (without the fallback lines). */
  private get joined(): BootNode[] {
    return this.boots.filter((b) => !this.fallback.some((f) => keyToBase64(f.key) === keyToBase64(b.key) && sameAddr(f.addr, b.addr)));
  }

  /** Joins the DHT; the NAT check starts as soon as one node answered (not after the join). */
  async bootstrap(): Promise<void> {
    const { ctx } = this;
    const boots = await this.resolveSeeds(seedsOf(ctx.config, ctx.publicB64));
    const contact = this.contact = new BootContact(ctx.opts.sodium, ctx.dht.channel.publicKey, this.joined);
    ctx.dht.rpc.onRefusal = (r, from) => { const m = contact.refused(r, from); if (m !== undefined) ctx.log.warn(m); };
    const joining = ctx.dht.bootstrap(boots);
    // The NAT check (and the port mapping it may ask for) needs only boot nodes: it starts as
    // soon as one answered, not after the join's lookups, which take seconds when some node
    // they meet does not answer (one behind a NAT). A peer's punch in the meantime then
    // already finds our port mapping. (The answer enters the table right after onVerified:
    // the await below runs after that.)
    if (ctx.dht.table.size === 0) await Promise.race([joining.catch(() => undefined), this.heardOnce]);
    // The peers are searched from then on too (src/daemon/paths.ts): a lookup needs a table.
    ctx.paths.start();
    await ctx.nat.checkNat();
    const answered = await joining;
    ctx.log.info(`bootstrap: ${answered}/${boots.length} boot nodes answered, ${ctx.dht.table.size} nodes known`);
    for (const m of contact.joined()) ctx.log.warn(m);
    if (!ctx.stopping) ctx.nat.startChecks();
  }

  /** A reload's new seeds join the DHT (then the NAT is checked again: more observers); removed
   *  boot lines stop being rendezvous/relay candidates (those lines only: another line of the
   *  same key stays). In the background: reload answers now. */
  joinSeeds(seeds: { added: Seed[]; removed: Seed[] }): void {
    const { ctx } = this;
    const gone = new Set(seeds.removed.filter((r) => r.boot).map(seedId));
    this.boots = this.boots.filter((b) => !gone.has(this.lineOf.get(b) ?? ''));
    this.fallback = this.fallback.filter((b) => !gone.has(this.lineOf.get(b) ?? ''));
    this.contact?.sync(this.joined);
    if (seeds.added.length === 0) return;
    void (async () => {
      const nodes = await this.resolveSeeds(seeds.added);
      this.contact?.sync(this.joined);
      if (nodes.length === 0 || ctx.stopping) return;
      const answered = await ctx.dht.bootstrap(nodes);
      for (const m of this.contact?.joined() ?? []) ctx.log.warn(m);
      ctx.log.info(`reload: ${answered}/${nodes.length} new boot/peer nodes answered, ${ctx.dht.table.size} nodes known`);
      await ctx.nat.checkNat();
    })().catch((e: unknown) => ctx.log.warn(`reload: joining the new boot/peer nodes: ${e instanceof Error ? e.message : String(e)}`));
  }
}

// First contact with the boot nodes: what each one did with us, in words a user can act on.
// A boot node answered, refused our key for its workbit (a workbit refusal, src/proto/
// refusal.ts), or never answered (unreachable: a wrong address, a firewall, a node that is
// down). The refusal is unauthenticated: it is taken only from the address and key of a boot
// node we sent to, and only ever reported, never acted on.
import type { Sodium } from '../crypto/sodium.js';
import { workbit as keyWorkbit } from '../crypto/workbit.js';
import { toHex } from '../dht/id.js';
import { addrKey, sameAddr, type Addr } from '../proto/addr.js';
import type { Refusal } from '../proto/refusal.js';
import { shellWord } from '../util/shell.js';

export type { BootStatus, BootVerdict } from '../control/show.js';
import type { BootStatus, BootVerdict } from '../control/show.js';

interface Entry {
  key: Uint8Array;
  hex: string;
  keyB64: string;
  addr: Addr;
  state: BootVerdict;
  workbit?: number;
  namespace?: string;
}

/** The shell word for a namespace in a suggested command (refusals carry no quotes or spaces). */

export class BootContact {
  private entries: Entry[];

  constructor(
    private readonly sodium: Sodium,
    private readonly publicKey: Uint8Array,
    boots: readonly { key: Uint8Array; addr: Addr }[],
  ) {
    this.entries = [];
    this.sync(boots);
  }

  /** The boot list (again, after a reload): what is known of boot nodes still listed is kept. */
  sync(boots: readonly { key: Uint8Array; addr: Addr }[]): void {
    const id = (hex: string, addr: Addr) => `${hex}/${addrKey(addr)}`;
    const old = new Map(this.entries.map((e) => [id(e.hex, e.addr), e]));
    this.entries = boots.map((b) => old.get(id(toHex(b.key), b.addr))
      ?? { key: b.key, hex: toHex(b.key), keyB64: Buffer.from(b.key).toString('base64'), addr: b.addr, state: 'pending' });
  }

  /** A node answered us (a verified reply): if it is a boot node, it answered; at `addr` when
   *  given and one of its lines has that address (a dual-stack boot node has a line per family). */
  heard(hex: string, addr?: Addr): void {
    const at = addr !== undefined && this.entries.some((e) => e.hex === hex && sameAddr(e.addr, addr));
    for (const e of this.entries) if (e.hex === hex && (!at || sameAddr(e.addr, addr))) e.state = 'answered';
  }

  /**
   * A workbit refusal arrived from `from`. Returns the message to log when it is news: from a
   * boot node's own address, naming that boot node's key, about a key it has not answered.
   */
  refused(r: Refusal, from: Addr): string | undefined {
    const hex = toHex(r.responder);
    const e = this.entries.find((x) => x.hex === hex && sameAddr(x.addr, from));
    if (e === undefined || e.state === 'answered') return undefined;
    const news = e.state !== 'refused' || e.workbit !== r.workbit || e.namespace !== r.namespace;
    e.state = 'refused';
    e.workbit = r.workbit;
    e.namespace = r.namespace;
    return news ? this.message(e)! : undefined;
  }

  /** A join finished: boot nodes that neither answered nor refused are unreachable. Returns
   *  the messages to log: one per boot node that became unreachable now (refusals are logged
   *  as they come, by the caller of refused()). */
  joined(): string[] {
    const now = this.entries.filter((e) => e.state === 'pending');
    for (const e of now) e.state = 'unreachable';
    return now.map((e) => this.message(e)!);
  }

  status(): BootStatus[] {
    return this.entries.map((e) => ({
      address: addrKey(e.addr), key: e.keyB64, state: e.state,
      workbit: e.workbit ?? null, namespace: e.namespace ?? null, message: this.message(e) ?? null,
    }));
  }

  private message(e: Entry): string | undefined {
    const at = `boot node ${addrKey(e.addr)}`;
    if (e.state === 'unreachable') return `${at} is unreachable: it did not answer (wrong address or key, a firewall, or it is down)`;
    if (e.state !== 'refused') return undefined;
    const ns = e.namespace!;
    const own = keyWorkbit(this.sodium, this.publicKey, ns);
    return `${at} refuses keys below workbit ${e.workbit} in namespace ${JSON.stringify(ns)} (this key has ${own}): ` +
      `make one with \`wh genkey --workbit ${e.workbit} --namespace ${shellWord(ns)}\``;
  }
}

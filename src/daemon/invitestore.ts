// The inviter's pending invitations, persisted next to the network file (NAME.invites beside
// NAME.conf, mode 0600) so that they survive a restart. Only each invitation's alias PUBLIC key is
// kept, never its secret: the secret is in the printed invitation only. A record is marked used
// (and written to disk) before the joiner gets any answer, so that a crash cannot let one
// invitation be used twice. Times are wall-clock milliseconds (an expiry must survive a restart),
// read through the injected `wallNow`.
import fs from 'node:fs/promises';
import { writeFileAtomic } from '../config/index.js';
import { INVITE_KEEP_USED, INVITE_MAX_PENDING } from '../params.js';
import { readBoundedFile } from '../util/readfile.js';

export interface InviteRecord {
  /** The alias public key, base64. */
  alias: string;
  /** The hostname the joiner's trust line gets, if the inviter chose one. */
  hostname?: string;
  created: number;
  expires: number;
  /** Set when a joiner's proof was accepted: its key, and when. */
  used?: { key: string; at: number };
}

export class InviteStoreError extends Error {}

/** The store's file for a network file: NAME.conf → NAME.invites (else FILE.invites). */
export function invitesPath(configPath: string): string {
  return configPath.endsWith('.conf') ? `${configPath.slice(0, -5)}.invites` : `${configPath}.invites`;
}

function valid(r: unknown): r is InviteRecord {
  if (typeof r !== 'object' || r === null) return false;
  const v = r as Record<string, unknown>;
  const used = v.used as Record<string, unknown> | undefined;
  return typeof v.alias === 'string' && typeof v.created === 'number' && typeof v.expires === 'number' &&
    (v.hostname === undefined || typeof v.hostname === 'string') &&
    (used === undefined || (typeof used === 'object' && used !== null && typeof used.key === 'string' && typeof used.at === 'number'));
}

export class InviteStore {
  private records: InviteRecord[] = [];

  constructor(readonly file: string, private readonly wallNow: () => number) {}

  /** Reads the file (none yet: no invitations). A damaged file is an error naming it. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = readBoundedFile(this.file, 1 << 20).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || /no such file/i.test(String(e))) { this.records = []; return; }
      throw new InviteStoreError(`${this.file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
    let data: unknown;
    try { data = JSON.parse(text); } catch { throw new InviteStoreError(`${this.file}: not valid JSON; move it away to forget its invitations`); }
    const list = (data as { invitations?: unknown }).invitations;
    if (!Array.isArray(list) || !list.every(valid)) throw new InviteStoreError(`${this.file}: not an invitations file (expected {"invitations": [...]})`);
    this.records = list;
  }

  get(alias: string): InviteRecord | undefined {
    return this.records.find((r) => r.alias === alias);
  }

  /** Unused and not expired. */
  pending(alias: string): InviteRecord | undefined {
    const r = this.get(alias);
    return r !== undefined && r.used === undefined && this.wallNow() <= r.expires ? r : undefined;
  }

  all(): readonly InviteRecord[] {
    return this.records;
  }

  /** Adds an invitation and writes the file; forgets long-dead ones first. */
  async add(r: InviteRecord): Promise<void> {
    const now = this.wallNow();
    const keep = this.records.filter((x) => Math.max(x.expires, x.used?.at ?? 0) + INVITE_KEEP_USED > now);
    if (keep.filter((x) => x.used === undefined && x.expires >= now).length >= INVITE_MAX_PENDING) {
      throw new InviteStoreError(`${INVITE_MAX_PENDING} invitations are pending already; let some expire or be used`);
    }
    if (keep.some((x) => x.alias === r.alias)) throw new InviteStoreError('this invitation exists already');
    await this.save([...keep, r]);
  }

  /** Marks an invitation used by `key`, on disk first. */
  async markUsed(alias: string, key: string): Promise<void> {
    await this.save(this.records.map((r) => (r.alias === alias ? { ...r, used: { key, at: this.wallNow() } } : r)));
  }

  /** Undoes markUsed (the config could not be written: the invitation is still good). */
  async unmark(alias: string): Promise<void> {
    await this.save(this.records.map((r) => { if (r.alias !== alias) return r; const { used: _u, ...rest } = r; return rest; }));
  }

  private async save(next: InviteRecord[]): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify({ invitations: next }, null, 1)}\n`, 0o600);
    await fs.chmod(this.file, 0o600);
    this.records = next;
  }
}

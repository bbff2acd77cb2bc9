// One registry file per run, /run/micronet/<prefix>.json: the creator's pid (and its start
// time, so a recycled pid does not pass for a live run), the namespaces the run created or was
// about to create, and its temporary directory. Written before each namespace is created, so a
// run killed at any point leaves a file that names everything it left behind.
//
// cleanupStale() removes what dead runs left: only names listed in a registry file whose
// creator is dead, only namespaces named `<prefix>-...` of that file's own prefix, only temp
// directories named like micronet's. It touches nothing else.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { PREFIX_RE } from './addressing.js';
import { deleteNamespacesSync } from './procs.js';

export const REGISTRY_DIR = '/run/micronet';
export const TMP_PREFIX = 'micronet-';

export interface RegistryRecord {
  prefix: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot), or null if unreadable. */
  pidStart: string | null;
  created: string;
  namespaces: string[];
  tmpdir: string | null;
}

export function registryPath(dir: string, prefix: string): string {
  return join(dir, `${prefix}.json`);
}

/** The start time of a process (field 22 of /proc/PID/stat), or null if it does not exist. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall = index 19 after pid and comm
  } catch {
    return null;
  }
}

/** Is the run's creator still alive (same pid, same start time)? */
export function creatorAlive(rec: Pick<RegistryRecord, 'pid' | 'pidStart'>): boolean {
  const start = processStart(rec.pid);
  if (start === null) return false;
  return rec.pidStart === null || rec.pidStart === start;
}

export function writeRegistry(dir: string, rec: RegistryRecord): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = registryPath(dir, rec.prefix);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n');
  renameSync(tmp, path);
}

export function removeRegistry(dir: string, prefix: string): void {
  rmSync(registryPath(dir, prefix), { force: true });
}

/** Parses and checks a registry file's content; throws with the reason if it is not ours. */
export function parseRegistry(text: string, fileName: string): RegistryRecord {
  const r = JSON.parse(text) as Partial<RegistryRecord>;
  const prefix = r.prefix;
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) throw new Error('no valid prefix');
  if (basename(fileName) !== `${prefix}.json`) throw new Error(`file name does not match prefix ${prefix}`);
  if (typeof r.pid !== 'number' || !Number.isInteger(r.pid) || r.pid <= 0) throw new Error('no valid pid');
  if (!Array.isArray(r.namespaces) || !r.namespaces.every((n) => typeof n === 'string')) throw new Error('no namespace list');
  return {
    prefix,
    pid: r.pid,
    pidStart: typeof r.pidStart === 'string' ? r.pidStart : null,
    created: typeof r.created === 'string' ? r.created : '',
    namespaces: r.namespaces,
    tmpdir: typeof r.tmpdir === 'string' ? r.tmpdir : null,
  };
}

/** Is this a namespace name the run `prefix` may own? */
export function ownsNamespace(prefix: string, ns: string): boolean {
  return ns.startsWith(`${prefix}-`) && /^[a-zA-Z0-9_.-]+$/.test(ns) && ns.length <= 64;
}

/** Is this a temp directory micronet may have made (directly in the system temp dir)? */
export function ownsTmpdir(path: string, tmpRoot: string = tmpdir()): boolean {
  const p = resolve(path);
  return dirname(p) === resolve(tmpRoot) && basename(p).startsWith(TMP_PREFIX) && !p.includes(`${sep}..`);
}

export interface CleanupReport {
  /** Registry files of dead runs that were cleaned (and removed). */
  cleaned: { prefix: string; namespaces: string[] }[];
  /** Registry files left alone because their creator is alive. */
  live: { prefix: string; pid: number }[];
  /** Files or names refused or failed, with the reason. */
  refused: string[];
}

/** Removes the leftovers of dead runs listed in `dir`. See the file comment for the rules. */
export function cleanupStale(dir: string = REGISTRY_DIR, tmpRoot: string = tmpdir()): CleanupReport {
  const report: CleanupReport = { cleaned: [], live: [], refused: [] };
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return report; // no registry directory: nothing ever ran
  }
  for (const f of files) {
    const path = join(dir, f);
    let rec: RegistryRecord;
    try {
      rec = parseRegistry(readFileSync(path, 'utf8'), f);
    } catch (e) {
      report.refused.push(`${path}: not a micronet registry file (${(e as Error).message}); left alone`);
      continue;
    }
    if (creatorAlive(rec)) {
      report.live.push({ prefix: rec.prefix, pid: rec.pid });
      continue;
    }
    const removed: string[] = [];
    let failed = false;
    for (const ns of [...rec.namespaces].reverse()) {
      if (!ownsNamespace(rec.prefix, ns)) {
        report.refused.push(`${path}: namespace "${ns}" does not carry the prefix "${rec.prefix}-"; left alone`);
        continue;
      }
      const existed = existsSync(`/run/netns/${ns}`);
      if (deleteNamespacesSync([ns]).length) {
        failed = true;
        report.refused.push(`${path}: could not delete namespace "${ns}"`);
      } else if (existed) removed.push(ns);
    }
    if (rec.tmpdir) {
      if (ownsTmpdir(rec.tmpdir, tmpRoot)) rmSync(rec.tmpdir, { recursive: true, force: true });
      else report.refused.push(`${path}: temp dir "${rec.tmpdir}" is not micronet's; left alone`);
    }
    if (!failed) rmSync(path, { force: true });
    report.cleaned.push({ prefix: rec.prefix, namespaces: removed });
  }
  return report;
}

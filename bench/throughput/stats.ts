// bench:throughput's measures of the machine (bench/throughput.ts): medians, the CPU time of
// processes and of the whole machine from /proc, and which of it was ours.
import fs from 'node:fs';

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
export const pct = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(0) : '?'}%`;
export const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** CPU seconds (user + system) of a process, or NaN when it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state is index 0, utime index 11, stime index 12 (in clock ticks, 100/s on Linux)
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Machine-wide CPU jiffies (busy, steal, softirq, total) from /proc/stat. */
export function machineCpu(): { busy: number; steal: number; softirq: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((x, y) => x + y, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, steal: f[7] ?? 0, softirq: f[6] ?? 0, total };
}

export interface ProcCpu { comm: string; ppid: number; cpu: number }

/** CPU seconds of every process on the machine, by pid, with its name and parent. */
export function allProcessCpu(): Map<number, ProcCpu> {
  const m = new Map<number, ProcCpu>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      m.set(Number(d), { comm, ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / 100 });
    } catch { /* gone */ }
  }
  return m;
}

export interface CpuDelta { pid: number; comm: string; d: number; mine: boolean; kernel: boolean }

/** Per-process CPU seconds between two snapshots, each marked as ours (this process, or in one
 *  of the run's namespaces), a kernel thread, or someone else's. */
export function cpuDeltas(before: Map<number, ProcCpu>, after: Map<number, ProcCpu>, ourNetns: Set<number>): CpuDelta[] {
  const out: CpuDelta[] = [];
  for (const [pid, a] of after) {
    const d = a.cpu - (before.get(pid)?.cpu ?? 0);
    if (d < 0.01) continue;
    let ino = NaN;
    try { ino = fs.statSync(`/proc/${pid}/ns/net`).ino; } catch { /* gone */ }
    out.push({ pid, comm: a.comm, d, mine: pid === process.pid || ourNetns.has(ino), kernel: pid === 2 || a.ppid === 2 });
  }
  return out.sort((x, y) => y.d - x.d);
}

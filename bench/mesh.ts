// `npm run bench:mesh -- [--nodes 40] [--idle 10]` (root): a network of public nodes on real
// wireguard-go in micronet namespaces, all trusting each other (each node has nodes-1 peers),
// and one boot node. Brings them up one after another, then measures:
//   mesh_seconds       from the last `wh up` until every node shows every peer on a direct path
//   handshake_seconds  ... until every peer of every node also has a WireGuard handshake
//   rss_mb_median/max  the daemons' resident memory once the mesh formed (wireguard-go is a
//                      process of its own and is not counted)
//   idle_cpu_percent   the daemons' median CPU over --idle seconds after that, in % of one core
// Prints progress on stderr and one JSON object as its last line.
//   rss_anon/file_mb_median  the same split into private memory and pages of files (the `node`
//                      binary and libraries: shared by every Node process, counted in each RSS)
//   pss_mb_median      for comparison only: the RSS with each shared page divided among the
//                      processes that map it (what one more daemon costs the machine)
// The daemons run in the foreground (`wh up --foreground`, as systemd runs them) with the
// Node options a detached `wh up` gives the daemon it forks (DAEMON_NODE_OPTIONS, src/util/heap.ts)
// in NODE_OPTIONS, as docs/NODE.md tells a systemd unit to.
// Diagnosis: MESH_NODE_OPTIONS is added to the daemons' NODE_OPTIONS; MESH_DIAG=1 prints the
// first daemon's memory map and sends it SIGUSR2 (a heap snapshot with --heapsnapshot-signal).
// MESH_VARIANTS='[{"name":"a","env":{}},{"name":"b","env":{"MALLOC_ARENA_MAX":"2"}}]' gives
// node i the environment of variant i mod k, and adds each variant's medians to the JSON (to
// compare settings in one run, at one load).
//
// Many hosts on one bridge fill the kernel's neighbour table (shared by every namespace, 1024
// entries: /work/shared/NOTES.md), after which new flows silently drop; so every host gets
// permanent neighbour entries for all the others before anything starts.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { WhNet, type WhNode } from '../test/e2e/whnet.js';
import { HOST_IF } from '../test/micronet/topology.js';
import { DAEMON_NODE_OPTIONS } from '../src/util/heap.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '40' }, idle: { type: 'string', default: '10' }, timeout: { type: 'string', default: '120' } } });
const N = Number(values.nodes), IDLE = Number(values.idle), TIMEOUT = Number(values.timeout);
if (!Number.isInteger(N) || N < 2 || N > 200 || !(IDLE > 0) || !(TIMEOUT > 0)) {
  process.stderr.write('usage: bench:mesh -- [--nodes 2..200] [--idle SECONDS] [--timeout SECONDS]\n');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('bench:mesh needs root (network namespaces); run it as root\n');
  process.exit(1);
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface ProcStats { rssMb: number; anonMb: number; fileMb: number; pssMb: number; ticks: number }
/** Resident memory (MiB: all, private anonymous, file pages) and CPU ticks (user + system). */
function procStats(pid: number): ProcStats {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pssKb = Number(/\nPss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  return { rssMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile'), pssMb: pssKb / 1024, ticks: Number(fields[11]) + Number(fields[12]) };
}
const round1 = (x: number): number => Math.round(x * 10) / 10;

interface Variant { name: string; env: Record<string, string> }
const variants: Variant[] = process.env.MESH_VARIANTS ? JSON.parse(process.env.MESH_VARIANTS) as Variant[] : [];
const TICKS_PER_SEC = 100; // USER_HZ on Linux

const wn = await WhNet.create('mesh');
let exitCode = 0;
try {
  const boot = await wn.addPublicNode('boot', 'boot');
  const nodes: WhNode[] = [];
  for (let i = 1; i <= N; i++) nodes.push(await wn.addPublicNode(`n${String(i).padStart(3, '0')}`));
  const all = [boot, ...nodes];
  // Permanent neighbour entries: every host knows every other host's MAC.
  const macs = new Map<string, string>();
  for (const n of all) {
    const r = await wn.net.exec(n.host, ['cat', `/sys/class/net/${HOST_IF}/address`], { timeoutMs: 5000 });
    macs.set(n.name, r.stdout.trim());
  }
  for (const n of all) {
    const lines = all.filter((o) => o !== n).map((o) => `neigh replace ${o.host.ip} lladdr ${macs.get(o.name)} dev ${HOST_IF} nud permanent`);
    const r = await wn.net.exec(n.host, ['ip', '-b', '-'], { input: lines.join('\n') + '\n', timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`neighbour entries for ${n.name}: ${r.stderr}`);
  }
  wn.writeConfigs(nodes.map((n) => n.name));
  await wn.up('boot');
  const t0 = performance.now();
  const nodeOptions = [...DAEMON_NODE_OPTIONS, ...(process.env.MESH_NODE_OPTIONS ? [process.env.MESH_NODE_OPTIONS] : [])].join(' ');
  const env = { NODE_OPTIONS: nodeOptions };
  for (const [i, n] of nodes.entries()) await wn.up(n.name, 30_000, { env: { ...env, ...variants[i % Math.max(1, variants.length)]?.env } });
  const lastUp = performance.now();
  log(`${N} nodes up in ${((lastUp - t0) / 1000).toFixed(1)} s`);

  let meshAt: number | undefined, handshakeAt: number | undefined;
  const deadline = lastUp + TIMEOUT * 1000;
  while (performance.now() < deadline && handshakeAt === undefined) {
    const shows = await Promise.all(nodes.map((n) => wn.show(n.name).catch(() => undefined)));
    const direct = shows.reduce((s, r) => s + (r?.peers.filter((p) => p.path === 'direct').length ?? 0), 0);
    const shaken = shows.reduce((s, r) => s + (r?.peers.filter((p) => p.path === 'direct' && p.lastHandshake !== null).length ?? 0), 0);
    const now = performance.now();
    if (meshAt === undefined && direct === N * (N - 1)) meshAt = now;
    if (shaken === N * (N - 1)) handshakeAt = now;
    if (meshAt === undefined || handshakeAt === undefined) await new Promise((r) => setTimeout(r, 100));
    log(`t+${((now - lastUp) / 1000).toFixed(1)} s: ${direct}/${N * (N - 1)} direct, ${shaken} with a handshake`);
  }
  // The daemon's own process: micronet starts `ip netns exec NS node wh.js up ...`, and
  // `ip netns exec` replaces itself with the command (no fork), so the child's pid is node's.
  const pids = nodes.map((n) => n.daemon?.pid).filter((p): p is number => p !== undefined);
  for (const pid of pids) {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv[0] !== process.execPath || !argv.includes('--foreground')) throw new Error(`pid ${pid} is not a daemon: ${argv.join(' ')}`);
  }
  if (process.env.MESH_DIAG) {
    // Diagnosis: the first daemon's memory map, and a heap snapshot when MESH_NODE_OPTIONS
    // has --heapsnapshot-signal=SIGUSR2 (written in the daemon's working directory).
    log(fs.readFileSync(`/proc/${pids[0]}/smaps_rollup`, 'utf8'));
    const regions = fs.readFileSync(`/proc/${pids[0]}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)
      .map((r) => ({ head: r.split('\n')[0]!, rss: Number(/\nRss:\s+(\d+)/.exec(r)?.[1] ?? 0) }))
      .sort((a, b) => b.rss - a.rss).slice(0, 15);
    for (const r of regions) log(`${String(r.rss).padStart(8)} kB ${r.head}`);
    process.kill(pids[0]!, 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 8000));
  }
  const before = pids.map(procStats);
  await new Promise((r) => setTimeout(r, IDLE * 1000));
  const after = pids.map(procStats);
  const rss = after.map((s) => s.rssMb);
  const cpu = after.map((s, i) => (100 * (s.ticks - before[i]!.ticks)) / TICKS_PER_SEC / IDLE);
  if (meshAt === undefined) exitCode = 1;
  const byVariant = Object.fromEntries(variants.map((v, k) => {
    const mine = after.filter((_, i) => i % variants.length === k);
    return [v.name, { daemons: mine.length, rss_mb_median: round1(median(mine.map((s) => s.rssMb))), rss_anon_mb_median: round1(median(mine.map((s) => s.anonMb))) }];
  }));
  console.log(JSON.stringify({
    nodes: N,
    peers_each: N - 1,
    up_seconds: Math.round((lastUp - t0) / 100) / 10,
    mesh_seconds: meshAt === undefined ? null : Math.round((meshAt - lastUp) / 100) / 10,
    handshake_seconds: handshakeAt === undefined ? null : Math.round((handshakeAt - lastUp) / 100) / 10,
    rss_mb_median: Math.round(median(rss) * 10) / 10,
    rss_mb_max: Math.round(Math.max(...rss) * 10) / 10,
    rss_anon_mb_median: round1(median(after.map((s) => s.anonMb))),
    rss_file_mb_median: round1(median(after.map((s) => s.fileMb))),
    pss_mb_median: round1(median(after.map((s) => s.pssMb))),
    daemon_node_options: nodeOptions,
    idle_cpu_percent_median: Math.round(median(cpu) * 100) / 100,
    idle_cpu_percent_max: Math.round(Math.max(...cpu) * 100) / 100,
    load: (await import('node:os')).loadavg()[0],
    ...(variants.length > 0 ? { variants: byVariant } : {}),
  }));
} catch (err) {
  log(`bench:mesh failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  exitCode = 1;
} finally {
  await wn.destroy();
}
process.exit(exitCode);

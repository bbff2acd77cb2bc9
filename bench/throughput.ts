// Throughput benchmark (`npm run bench:throughput`): the WireHub overlay against a bare
// wireguard-go tunnel between the same two network namespaces. Needs root; nothing leaves the
// machine (micronet namespaces only, no route out).
//
// 1. micronet: a boot public node and two public WireHub nodes A and B (test/e2e/whnet.ts), all
//    `wh up --foreground`; waits until A pings B's overlay IP.
// 2. A second, hand-made WireGuard pair in the SAME two namespaces: wireguard-go interfaces
//    whbare<rand4>a / whbare<rand4>b, keys from `wg genkey`, 10.99.0.1-2/24, listen port
//    51820 (wh uses 62096 and the daemon 62097), endpoints = the public IPs.
// 3. Checks that `ip route get` in A sends B's overlay IP through the wh interface and
//    10.99.0.2 through the bare one.
// 4. iperf3 (TCP, one stream, `--seconds N`, default 10) A -> B, alternately over the overlay
//    and the bare tunnel (`--runs N` pairs, default 5); the medians are compared. Then once over
//    the bare veth path (no WireGuard) for reference (`--no-veth` skips it).
//    During every run it records: the UDP datagrams counted at the daemon's own socket port
//    (nftables counters in a table of ours, `whbench`, in A and B), the wh WireGuard port's
//    datagrams, the WireGuard transfer counters of the interfaces, and the CPU time of the wh
//    daemons (Node) and of each wireguard-go, so that one can see that no WireGuard packet
//    goes through Node and where the CPU went. It also prints the overlay/bare ratio of each
//    adjacent pair, wireguard-go's CPU seconds per GB on each path (the per-byte cost, which
//    noise barely moves), and the CPU that other users' processes took meanwhile.
//
// Noise: on a 2-core machine wireguard-go is the bottleneck and throughput swings 10-20 % from
// run to run; two identical bare pairs compared this way (an A/A test) differed by 4-19 %
// when other work ran on the machine. Use more `--runs` on a quiet machine to resolve a few %.
//
// Progress goes to stderr; the LAST line of stdout is one JSON object:
//   {"overlay_mbps","bare_wireguard_mbps","ratio","veth_mbps","seconds","runs","target_ratio"}
// Everything it made (namespaces, processes, interfaces, sockets, temp dirs) is removed, also
// on failure and on SIGINT/SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { WhNet, type WhNode } from '../test/e2e/whnet.js';
import type { ChildProcess } from 'node:child_process';
import { createInterface, socketOwners, socketPath, type WgInterface } from '../src/wg/index.js';
import { runArgv } from '../src/util/exec.js';

const TARGET_RATIO = 0.95;
const BARE_PORT = 51820;
const WH_PORT = 62096; // wh's default listen-port (WireGuard); the daemon binds 62097
const BARE_SUBNET = '10.99.0';
const IPERF_PORT = { overlay: 5201, bare: 5202, veth: 5203 } as const;
type Path = keyof typeof IPERF_PORT;

const log = (msg: string) => process.stderr.write(`# ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
const pct = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(0) : '?'}%`;
const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

interface Options { seconds: number; runs: number; veth: boolean }

function usage(): string {
  return 'usage: node dist/bench/throughput.js [--seconds N (10)] [--runs N (5 overlay/bare pairs)] [--no-veth]';
}

function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 10, runs: 5, veth: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (name: string, min: number, max: number): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`${name} wants an integer in ${min}..${max}`);
      return v;
    };
    if (a === '--seconds') o.seconds = num('--seconds', 1, 3600);
    else if (a === '--runs') o.runs = num('--runs', 1, 100);
    else if (a === '--no-veth') o.veth = false;
    else if (a === '-h' || a === '--help') { process.stdout.write(usage() + '\n'); process.exit(0); }
    else throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
  }
  return o;
}

class UsageError extends Error {}

/** CPU seconds (user + system) of a process, or NaN when it is gone. */
function cpuSeconds(pid: number | undefined): number {
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
function machineCpu(): { busy: number; steal: number; softirq: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((x, y) => x + y, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, steal: f[7] ?? 0, softirq: f[6] ?? 0, total };
}

interface ProcCpu { comm: string; ppid: number; cpu: number }

/** CPU seconds of every process on the machine, by pid, with its name and parent. */
function allProcessCpu(): Map<number, ProcCpu> {
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

interface CpuDelta { pid: number; comm: string; d: number; mine: boolean; kernel: boolean }

/** Per-process CPU seconds between two snapshots, each marked as ours (this process, or in one
 *  of the run's namespaces), a kernel thread, or someone else's. */
function cpuDeltas(before: Map<number, ProcCpu>, after: Map<number, ProcCpu>, ourNetns: Set<number>): CpuDelta[] {
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

class Bench {
  readonly bare: { a?: WgInterface; b?: WgInterface; names: [string, string] };
  private readonly servers: Partial<Record<Path, ChildProcess>> = {};

  constructor(readonly w: WhNet, readonly A: WhNode, readonly B: WhNode) {
    const r = randomBytes(2).toString('hex');
    this.bare = { names: [`whbare${r}a`, `whbare${r}b`] };
  }

  async exec(n: WhNode, argv: string[], timeoutMs = 10_000): Promise<string> {
    const r = await this.w.net.exec(n.host, argv, { timeoutMs });
    if (r.code !== 0) throw new Error(`[${n.name}] ${argv.join(' ')}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Two bare wireguard-go interfaces, A 10.99.0.1 <-> B 10.99.0.2, both up before endpoints are set. */
  async bareUp(): Promise<void> {
    const [na, nb] = this.bare.names;
    for (const name of [na, nb]) if (fs.existsSync(socketPath(name))) throw new Error(`${socketPath(name)} exists already; pick another name`);
    const keys = async () => {
      const sk = (await runLocal(['wg', 'genkey'])).trim();
      const pk = (await runLocal(['wg', 'pubkey'], sk + '\n')).trim();
      return { sk, pk };
    };
    const ka = await keys();
    const kb = await keys();
    const wlog = (line: string) => log(`bare: ${line}`);
    this.bare.a = await createInterface({ name: na, privateKey: ka.sk, listenPort: BARE_PORT, addresses: [`${BARE_SUBNET}.1/24`], netns: this.A.host.ns, backend: 'userspace', log: wlog });
    this.bare.b = await createInterface({ name: nb, privateKey: kb.sk, listenPort: BARE_PORT, addresses: [`${BARE_SUBNET}.2/24`], netns: this.B.host.ns, backend: 'userspace', log: wlog });
    await this.bare.a.setPeer({ publicKey: kb.pk, endpoint: `${this.B.host.ip}:${BARE_PORT}`, allowedIps: [`${BARE_SUBNET}.2/32`] });
    await this.bare.b.setPeer({ publicKey: ka.pk, endpoint: `${this.A.host.ip}:${BARE_PORT}`, allowedIps: [`${BARE_SUBNET}.1/32`] });
  }

  async bareDown(): Promise<void> {
    for (const i of [this.bare.a, this.bare.b]) await i?.destroy().catch((e: unknown) => log(`bare: destroy: ${String(e)}`));
    for (const name of this.bare.names) {
      try { fs.unlinkSync(socketPath(name)); } catch { /* gone, as it should be */ }
    }
  }

  async pingUntil(ip: string, ms: number): Promise<void> {
    const t = await this.w.pingUntil(this.A.name, ip, ms);
    if (t < 0) throw new Error(`${this.A.name} cannot ping ${ip} within ${ms} ms`);
    log(`${this.A.name} pings ${ip} (after ${t} ms)`);
  }

  /** The device `ip route get IP` names in A. */
  async routeDev(ip: string): Promise<string> {
    const out = await this.exec(this.A, ['ip', '-j', 'route', 'get', ip]);
    const r = JSON.parse(out) as { dev?: string; prefsrc?: string }[];
    return r[0]?.dev ?? '';
  }

  async mtu(n: WhNode, dev: string): Promise<number> {
    const out = await this.exec(n, ['ip', '-j', 'link', 'show', 'dev', dev]);
    return (JSON.parse(out) as { mtu: number }[])[0]!.mtu;
  }

  /** Every UDP port the daemon (Node) has open in its namespace, from `ss` (its DHT socket on
   *  listen-port + 1, and the socket it pokes WireGuard handshakes with). */
  async daemonPorts(n: WhNode): Promise<number[]> {
    const out = await this.exec(n, ['ss', '-Hanup']);
    const pid = n.daemon?.pid;
    if (pid === undefined) throw new Error(`${n.name}: no daemon pid`);
    const ports = out.split('\n')
      .filter((l) => l.includes(`pid=${pid},`))
      .map((l) => { const local = l.trim().split(/\s+/)[3] ?? ''; return Number(local.slice(local.lastIndexOf(':') + 1)); })
      .filter((p) => Number.isInteger(p) && p > 0);
    if (ports.length === 0) throw new Error(`${n.name}: ss shows no UDP socket of the daemon (pid ${pid})`);
    return [...new Set(ports)].sort((x, y) => x - y);
  }

  /** Our own counters in A and B (table ip whbench): datagrams to and from the daemon's UDP
   *  ports, and to the wh and bare WireGuard ports. */
  async installCounters(n: WhNode, daemonPorts: number[]): Promise<void> {
    const set = `{ ${daemonPorts.join(', ')} }`;
    const script = [
      'table ip whbench {',
      'counter daemon_in {',
      '}',
      'counter daemon_out {',
      '}',
      'counter wg_in {',
      '}',
      'counter bare_in {',
      '}',
      'chain in {',
      'type filter hook input priority 0; policy accept;',
      `udp dport ${set} counter name daemon_in`,
      `udp dport ${WH_PORT} counter name wg_in`,
      `udp dport ${BARE_PORT} counter name bare_in`,
      '}',
      'chain out {',
      // before wh's raw-priority (-300) rewrite of the daemon's source port
      'type filter hook output priority -400; policy accept;',
      `udp sport ${set} counter name daemon_out`,
      '}',
      '}',
    ].join('\n') + '\n';
    const r = await this.w.net.exec(n.host, ['nft', '-f', '-'], { input: script });
    if (r.code !== 0) throw new Error(`[${n.name}] nft -f: ${r.stderr}`);
  }

  async counters(n: WhNode): Promise<Record<string, number>> {
    const out = await this.exec(n, ['nft', '-j', 'list', 'counters', 'table', 'ip', 'whbench']);
    const res: Record<string, number> = {};
    for (const o of (JSON.parse(out) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables) {
      if (o.counter) res[o.counter.name] = o.counter.packets;
    }
    return res;
  }

  /** rx/tx bytes of every peer of a WireGuard interface (wg finds userspace ones by socket). */
  async wgTransfer(n: WhNode, iface: string): Promise<{ rx: number; tx: number }> {
    const out = await this.exec(n, ['wg', 'show', iface, 'transfer']);
    let rx = 0;
    let tx = 0;
    for (const l of out.trim().split('\n').filter((x) => x !== '')) {
      const f = l.split('\t');
      rx += Number(f[1]);
      tx += Number(f[2]);
    }
    return { rx, tx };
  }

  async startServer(path: Path, ip: string): Promise<void> {
    const port = IPERF_PORT[path];
    this.servers[path] = this.w.net.spawn(this.B.host, 'iperf3', ['-s', '-B', ip, '-p', String(port)], { stdio: 'ignore' });
    const end = Date.now() + 5000;
    while (Date.now() < end) {
      const out = await this.exec(this.B, ['ss', '-Hltn']);
      if (out.includes(`${ip}:${port} `)) return;
      await sleep(50);
    }
    throw new Error(`iperf3 -s on ${ip}:${port} in ${this.B.name} not listening after 5 s`);
  }

  /** One iperf3 TCP test A -> ip; returns Mbit/s received and iperf3's CPU figures. */
  async iperf(path: Path, ip: string, seconds: number): Promise<{ mbps: number; bytes: number; retransmits: number; cpuLocal: number; cpuRemote: number }> {
    const r = await this.w.net.exec(this.A.host, ['iperf3', '-c', ip, '-p', String(IPERF_PORT[path]), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
    let j: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number; bytes?: number }; cpu_utilization_percent?: { host_total?: number; remote_total?: number } } };
    try {
      j = JSON.parse(r.stdout) as typeof j;
    } catch {
      throw new Error(`iperf3 -c ${ip}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}, no JSON: ${r.stderr.trim() || r.stdout.slice(0, 300)}`);
    }
    if (j.error) throw new Error(`iperf3 -c ${ip}: ${j.error}`);
    const bps = j.end?.sum_received?.bits_per_second;
    if (typeof bps !== 'number') throw new Error(`iperf3 -c ${ip}: no end.sum_received.bits_per_second`);
    return {
      mbps: bps / 1e6,
      bytes: j.end?.sum_sent?.bytes ?? 0,
      retransmits: j.end?.sum_sent?.retransmits ?? 0,
      cpuLocal: j.end?.cpu_utilization_percent?.host_total ?? NaN,
      cpuRemote: j.end?.cpu_utilization_percent?.remote_total ?? NaN,
    };
  }
}

/** Runs a command in this process's namespace (only `wg genkey`/`wg pubkey`: no network). */
async function runLocal(argv: string[], input?: string): Promise<string> {
  const r = await runArgv(argv, input !== undefined ? { input } : {});
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`bench:throughput: ${e.message}\n${usage()}\n`); return 2; }
    throw e;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench:throughput needs root (network namespaces, WireGuard interfaces)\n');
    return 1;
  }

  const t0 = performance.now();
  let w: WhNet | undefined;
  let bench: Bench | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      log('cleaning up ...');
      await bench?.bareDown();
      await w?.destroy().catch((e: unknown) => log(`destroy: ${String(e)}`));
    })();
    return cleaning;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig}: stopping`);
    void cleanup().finally(() => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Last resort for a sudden exit: the bare interfaces' socket files (micronet's own exit
  // handler kills the processes in its namespaces and deletes them).
  const onExit = () => { for (const n of bench?.bare.names ?? []) { try { fs.unlinkSync(socketPath(n)); } catch { /* gone */ } } };
  process.on('exit', onExit);

  try {
    log(`building micronet: boot + public nodes a, b; wh up in each`);
    w = await WhNet.create('bench');
    await w.addPublicNode('boot', 'boot');
    const A = await w.addPublicNode('a');
    const B = await w.addPublicNode('b');
    w.writeConfigs(['a', 'b']);
    await w.up('boot');
    await w.up('a');
    await w.up('b');
    bench = new Bench(w, A, B);
    const b = bench;
    log(`a: ${A.host.ip} ${A.iface} ${A.overlayIp}; b: ${B.host.ip} ${B.iface} ${B.overlayIp} (${w.net.prefix})`);
    await b.pingUntil(B.overlayIp!, 15_000);

    log(`bare wireguard-go pair ${b.bare.names.join(' / ')}, ${BARE_SUBNET}.1 <-> ${BARE_SUBNET}.2, port ${BARE_PORT}`);
    await b.bareUp();
    await b.pingUntil(`${BARE_SUBNET}.2`, 15_000);

    // The paths really are the ones we mean.
    const overlayDev = await b.routeDev(B.overlayIp!);
    const bareDev = await b.routeDev(`${BARE_SUBNET}.2`);
    const vethDev = await b.routeDev(B.host.ip);
    log(`ip route get: ${B.overlayIp} dev ${overlayDev}; ${BARE_SUBNET}.2 dev ${bareDev}; ${B.host.ip} dev ${vethDev}`);
    if (overlayDev !== A.iface) throw new Error(`overlay traffic would leave A by ${overlayDev}, not the wh interface ${A.iface}`);
    if (bareDev !== b.bare.names[0]) throw new Error(`bare traffic would leave A by ${bareDev}, not ${b.bare.names[0]}`);
    log(`MTU: ${A.iface} ${await b.mtu(A, A.iface)}, ${b.bare.names[0]} ${await b.mtu(A, b.bare.names[0])}, ${vethDev} ${await b.mtu(A, vethDev)}`);

    for (const n of [A, B]) {
      const ports = await b.daemonPorts(n);
      log(`${n.name}: the daemon (Node, pid ${n.daemon?.pid}) has UDP ports ${ports.join(' ')}; wh's WireGuard listens on ${WH_PORT}`);
      if (ports.includes(WH_PORT)) throw new Error(`${n.name}: the daemon itself holds the WireGuard port ${WH_PORT}`);
      await b.installCounters(n, ports);
    }

    await b.startServer('overlay', B.overlayIp!);
    await b.startServer('bare', `${BARE_SUBNET}.2`);
    if (opts.veth) await b.startServer('veth', B.host.ip);

    const wgPids = {
      whA: socketOwners(socketPath(A.iface))[0], whB: socketOwners(socketPath(B.iface))[0],
      bareA: b.bare.a?.pid, bareB: b.bare.b?.pid,
    };
    const procs: Record<string, number | undefined> = { 'node-a': A.daemon?.pid, 'node-b': B.daemon?.pid, 'wg-wh-a': wgPids.whA, 'wg-wh-b': wgPids.whB, 'wg-bare-a': wgPids.bareA, 'wg-bare-b': wgPids.bareB };

    const results: Record<Path, number[]> = { overlay: [], bare: [], veth: [] };
    const daemonLeaks: number[] = [];
    const foreignCpu: number[] = [];
    const ourNetns = new Set(w.net.all.map((h) => fs.statSync(`/run/netns/${h.ns}`).ino));
    // CPU seconds the path's two wireguard-go processes spent per GB iperf3 carried: on this
    // CPU-bound machine, a drift-free measure of the per-byte cost of each path.
    const cpuPerGb: Record<'overlay' | 'bare', number[]> = { overlay: [], bare: [] };
    const one = async (path: Path, ip: string, label: string) => {
      const all0 = allProcessCpu();
      const m0 = machineCpu();
      const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, cpuSeconds(p)]));
      const c0 = { a: await b.counters(A), b: await b.counters(B) };
      const tw0 = path === 'overlay' ? await b.wgTransfer(A, A.iface) : path === 'bare' ? await b.wgTransfer(A, b.bare.names[0]) : undefined;
      const r = await b.iperf(path, ip, opts.seconds);
      const m1 = machineCpu();
      const all1 = allProcessCpu();
      const tw1 = path === 'overlay' ? await b.wgTransfer(A, A.iface) : path === 'bare' ? await b.wgTransfer(A, b.bare.names[0]) : undefined;
      const c1 = { a: await b.counters(A), b: await b.counters(B) };
      const cpu = Object.entries(procs).map(([k, p]) => `${k} ${(cpuSeconds(p) - cpu0[k]!).toFixed(2)}`).join(', ');
      const d = (side: 'a' | 'b', k: string) => (c1[side][k] ?? 0) - (c0[side][k] ?? 0);
      const daemonPkts = d('a', 'daemon_in') + d('a', 'daemon_out') + d('b', 'daemon_in') + d('b', 'daemon_out');
      if (path === 'overlay') daemonLeaks.push(daemonPkts);
      results[path].push(r.mbps);
      if (path !== 'veth') {
        const [pa, pb] = path === 'overlay' ? ['wg-wh-a', 'wg-wh-b'] : ['wg-bare-a', 'wg-bare-b'];
        const wgCpu = cpuSeconds(procs[pa!]) - cpu0[pa!]! + cpuSeconds(procs[pb!]) - cpu0[pb!]!;
        cpuPerGb[path].push(wgCpu / (r.bytes / 1e9));
      }
      log(`${label}: ${r.mbps.toFixed(1)} Mbit/s, ${r.retransmits} retransmits, iperf3 cpu client ${r.cpuLocal.toFixed(0)}% server ${r.cpuRemote.toFixed(0)}%`);
      log(`  udp datagrams during the run: daemon socket a in/out ${d('a', 'daemon_in')}/${d('a', 'daemon_out')}, b in/out ${d('b', 'daemon_in')}/${d('b', 'daemon_out')}; wh wg port in a/b ${d('a', 'wg_in')}/${d('b', 'wg_in')}; bare port in a/b ${d('a', 'bare_in')}/${d('b', 'bare_in')}`);
      if (tw0 && tw1) {
        const dev = path === 'overlay' ? A.iface : b.bare.names[0];
        log(`  wg transfer on a's ${dev}: tx +${((tw1.tx - tw0.tx) / 1e6).toFixed(0)} MB, rx +${((tw1.rx - tw0.rx) / 1e6).toFixed(0)} MB (iperf3 sent ${(r.bytes / 1e6).toFixed(0)} MB)`);
        if (tw1.tx - tw0.tx < 0.9 * r.bytes) throw new Error(`${dev} carried ${tw1.tx - tw0.tx} bytes, less than the ${r.bytes} iperf3 sent: the traffic did not go through it`);
      }
      log(`  cpu seconds: ${cpu}; machine busy ${pct(m1.busy - m0.busy, m1.total - m0.total)} (softirq ${pct(m1.softirq - m0.softirq, m1.total - m0.total)}, steal ${pct(m1.steal - m0.steal, m1.total - m0.total)}) of ${os.cpus().length} cores`);
      const deltas = cpuDeltas(all0, all1, ourNetns);
      const foreign = deltas.filter((x) => !x.mine && !x.kernel).reduce((t, x) => t + x.d, 0);
      foreignCpu.push(foreign);
      log(`  top processes (cpu s): ${deltas.slice(0, 6).map((x) => `${x.comm}[${x.pid}]${x.mine ? '' : x.kernel ? '(kernel)' : '(not ours)'} ${x.d.toFixed(2)}`).join(', ')}; other users' processes ${foreign.toFixed(2)} s`);
    };

    const runSeconds = opts.seconds * (2 * opts.runs + (opts.veth ? 1 : 0));
    for (let i = 0; i < opts.runs; i++) {
      await one('overlay', B.overlayIp!, `run ${i + 1}/${opts.runs} overlay (${A.iface} -> ${B.overlayIp})`);
      await one('bare', `${BARE_SUBNET}.2`, `run ${i + 1}/${opts.runs} bare wireguard-go (${b.bare.names[0]} -> ${BARE_SUBNET}.2)`);
    }
    if (opts.veth) await one('veth', B.host.ip, `veth (no WireGuard, ${vethDev} -> ${B.host.ip})`);

    // The relayed path, in the same run: two nodes behind symmetric NATs (no direct path
    // exists between them) talk through the public boot node, which relays.
    log('relayed pair: c and d behind symmetric NATs, relayed by the boot node');
    const C = await w.addNode('c', { nat: 'symmetric' });
    const D = await w.addNode('d', { nat: 'symmetric' });
    w.writeConfigs(['a', 'b', 'c', 'd']);
    await w.up('c');
    await w.up('d');
    if (await w.pingUntil('c', D.overlayIp!, 20_000) < 0) throw new Error('c cannot reach d over the relay');
    // (`relay` is printed once WireGuard received d through the link, at the next samples.)
    let cPath = (await w.show('c')).peers.find((p) => p.key === D.publicKey);
    for (let i = 0; i < 20 && cPath?.path !== 'relay'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      cPath = (await w.show('c')).peers.find((p) => p.key === D.publicKey);
    }
    if (cPath?.path !== 'relay') throw new Error(`c reaches d by ${cPath?.path}, not by a relay`);
    log(`c -> d: ${cPath.path} via ${cPath.relay} (${cPath.endpoint})`);
    // The relay forwards in its kernel once both sides bound their session port (about a
    // second); measure that path, the one users get, and say which one was measured.
    let forwarding: string | null = null;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
      const fc = (await w.show('c')).peers.find((p) => p.key === D.publicKey)?.relayForwarding ?? null;
      const fd = (await w.show('d')).peers.find((p) => p.key === C.publicKey)?.relayForwarding ?? null;
      forwarding = fc === fd ? fc : `c: ${fc}, d: ${fd}`;
      if (forwarding === 'kernel') break;
    }
    log(`relayed datagrams forwarded by: ${forwarding}`);
    const relaySrv = w.net.spawn(D.host, 'iperf3', ['-s', '-B', D.overlayIp!, '-p', '5204'], { stdio: 'ignore' });
    await sleep(500);
    const relayed: number[] = [];
    for (let i = 0; i < Math.max(2, Math.ceil(opts.runs / 2)); i++) {
      const r = await w.net.exec(C.host, ['iperf3', '-c', D.overlayIp!, '-p', '5204', '-t', String(opts.seconds), '-J'], { timeoutMs: (opts.seconds + 20) * 1000 });
      const bps = (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second;
      if (typeof bps !== 'number') throw new Error(`iperf3 over the relay: ${r.stderr || r.stdout.slice(0, 200)}`);
      relayed.push(bps / 1e6);
      log(`relayed run ${i + 1}: ${(bps / 1e6).toFixed(1)} Mbit/s`);
    }
    relaySrv.kill();

    const overlay = median(results.overlay);
    const bare = median(results.bare);
    const ratio = overlay / bare;
    const relayedMbps = median(relayed);
    log(`overlay runs: ${results.overlay.map((x) => x.toFixed(0)).join(' ')} Mbit/s; bare runs: ${results.bare.map((x) => x.toFixed(0)).join(' ')} Mbit/s`);
    log(`medians: overlay ${overlay.toFixed(1)}, bare ${bare.toFixed(1)} Mbit/s, ratio ${ratio.toFixed(3)} (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`);
    const pairRatios = results.overlay.map((o, i) => o / results.bare[i]!);
    log(`overlay/bare of each adjacent pair: ${pairRatios.map((x) => x.toFixed(3)).join(' ')}, median ${median(pairRatios).toFixed(3)}`);
    log(`wireguard-go cpu seconds per GB carried (both ends): overlay ${cpuPerGb.overlay.map((x) => x.toFixed(1)).join(' ')} (median ${median(cpuPerGb.overlay).toFixed(1)}), bare ${cpuPerGb.bare.map((x) => x.toFixed(1)).join(' ')} (median ${median(cpuPerGb.bare).toFixed(1)})`);
    const foreignTotal = foreignCpu.reduce((t, x) => t + x, 0);
    if (foreignTotal > 0.05 * runSeconds) log(`warning: other processes on this machine used ${foreignTotal.toFixed(1)} CPU seconds during the ${runSeconds} s of measurement: results are noisier than usual`);
    log(`datagrams through the daemons' socket during the overlay runs: ${daemonLeaks.join(', ')} (DHT/keepalive traffic only if small)`);
    log(`bench took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const result = {
      overlay_mbps: round(overlay, 1),
      bare_wireguard_mbps: round(bare, 1),
      ratio: round(ratio, 3),
      veth_mbps: opts.veth ? round(median(results.veth), 1) : null,
      seconds: opts.seconds,
      runs: opts.runs,
      target_ratio: TARGET_RATIO,
      relayed_mbps: round(relayedMbps, 1),
      relayed_ratio: round(relayedMbps / overlay, 3),
      relayed_forwarding: forwarding,
      relayed_target_ratio: 0.5,
    };
    await cleanup();
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`bench:throughput: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
    process.off('exit', onExit);
  }
}

process.exitCode = await main();

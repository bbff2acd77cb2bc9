// The two-namespace apparatus of bench:throughput (bench/throughput.ts): a bare wireguard-go pair
// beside the wh overlay in the same namespaces, iperf3 servers and clients, nftables counters
// of the daemon's and WireGuard's ports, routes, MTUs and WireGuard transfer counters.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { WhNet, WhNode } from '../../test/e2e/whnet.js';
import { createInterface, socketPath, type WgInterface } from '../../src/wg/index.js';
import { runArgv } from '../../src/util/exec.js';
import { log, sleep } from './args.js';

export const BARE_PORT = 51820;
export const WH_PORT = 62096; // wh's default listen-port (WireGuard); the daemon binds 62097
export const BARE_SUBNET = '10.99.0';
export const IPERF_PORT = { overlay: 5201, bare: 5202, veth: 5203 } as const;
export type Path = keyof typeof IPERF_PORT;

export class Bench {
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

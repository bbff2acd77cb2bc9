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
// 5. The relayed rows (bench/throughput/relayed.ts), in the same world: c and d behind symmetric
//    NATs relayed by the boot node over UDP; and e, whose router drops all UDP (it reaches the
//    boot node only over WebSocket, `listen ws://` there), to a public node f, every datagram
//    through the boot node's daemon (`--no-ws` skips it; `--prof` writes CPU profiles of the
//    boot, e and f daemons to a directory it names).
// Files: bench/throughput/{args,stats,bench,relayed}.ts.
//
// Progress goes to stderr; the LAST line of stdout is one JSON object:
//   {"overlay_mbps","bare_wireguard_mbps","ratio","veth_mbps","seconds","runs","target_ratio",
//    "relayed_mbps","relayed_ratio","relayed_forwarding","relayed_target_ratio",
//    "ws_relayed_mbps","ws_relayed_ratio","ws_relayed_target_ratio","ws_relayed_cpu"}
// Everything it made (namespaces, processes, interfaces, sockets, temp dirs) is removed, also
// on failure and on SIGINT/SIGTERM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WhNet } from '../test/e2e/whnet.js';
import { socketOwners, socketPath } from '../src/wg/index.js';
import { log, parseArgs, usage, UsageError, type Options } from './throughput/args.js';
import { allProcessCpu, cpuDeltas, cpuSeconds, machineCpu, median, pct, round } from './throughput/stats.js';
import { Bench, BARE_PORT, BARE_SUBNET, WH_PORT, type Path } from './throughput/bench.js';
import { blockUdp, symmetricRow, wsOnlyConfig, wsRow, WS_PORT } from './throughput/relayed.js';

const TARGET_RATIO = 0.95;
const WS_TARGET_RATIO = 0.3;

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
    const Boot = await w.addPublicNode('boot', 'boot');
    const A = await w.addPublicNode('a');
    const B = await w.addPublicNode('b');
    w.writeConfigs(['a', 'b']);
    // The boot node also serves WebSocket for the WebSocket-relayed row (idle until then).
    if (opts.ws) fs.appendFileSync(w.bootConfigFile, `listen ws://0.0.0.0:${WS_PORT}\n`);
    const profDir = opts.prof ? fs.mkdtempSync(path.join(os.tmpdir(), 'whbench-prof-')) : undefined;
    await w.up('boot', 15_000, profDir !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {});
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

    // The relayed paths, in the same run (bench/throughput/relayed.ts).
    log('relayed pair: c and d behind symmetric NATs, relayed by the boot node' + (opts.ws ? '; e (UDP blocked, WebSocket only) and public f' : ''));
    const C = await w.addNode('c', { nat: 'symmetric' });
    const D = await w.addNode('d', { nat: 'symmetric' });
    const E = opts.ws ? await w.addNode('e', { nat: 'port-restricted' }) : undefined;
    const F = opts.ws ? await w.addPublicNode('f') : undefined;
    w.writeConfigs(['a', 'b', 'c', 'd', ...(opts.ws ? ['e', 'f'] : [])]);
    const rel = await symmetricRow(w, C, D, opts.seconds, Math.max(2, Math.ceil(opts.runs / 2)));
    let wsr: Awaited<ReturnType<typeof wsRow>> | undefined;
    if (E !== undefined && F !== undefined) {
      await blockUdp(w, E);
      const env = profDir !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] } : {};
      await w.up('f', 30_000, env);
      await w.up('e', 30_000, { config: wsOnlyConfig(w, Boot), ...env });
      wsr = await wsRow(w, Boot, E, F, opts.seconds, Math.max(2, Math.ceil(opts.runs / 2)));
    }
    if (profDir !== undefined) {
      // A daemon writes its profile when it exits: stop them (SIGTERM) before the world goes.
      for (const n of [Boot, E, F]) { const d = n?.daemon; if (d && d.exitCode === null) { d.kill('SIGTERM'); await new Promise((r) => d.once('exit', r)); } }
      log(`CPU profiles (boot, e, f daemons): ${profDir}: ${fs.readdirSync(profDir).join(' ')}`);
    }

    const overlay = median(results.overlay);
    const bare = median(results.bare);
    const ratio = overlay / bare;
    const relayedMbps = rel.mbps;
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
      relayed_forwarding: rel.forwarding,
      relayed_target_ratio: 0.5,
      ...(wsr !== undefined ? {
        ws_relayed_mbps: round(wsr.mbps, 1),
        ws_relayed_ratio: round(wsr.mbps / overlay, 3),
        ws_relayed_target_ratio: WS_TARGET_RATIO,
        ws_relayed_runs: wsr.runs.map((x) => round(x, 1)),
        ws_relayed_cpu: wsr.cpu,
      } : {}),
    };
    if (wsr !== undefined) log(`websocket-relayed: ${wsr.mbps.toFixed(1)} Mbit/s, ${(wsr.mbps / overlay).toFixed(3)} of direct (target >= ${WS_TARGET_RATIO}: ${wsr.mbps / overlay >= WS_TARGET_RATIO ? 'met' : 'NOT met'})`);
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

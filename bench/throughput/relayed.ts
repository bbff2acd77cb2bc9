// The relayed rows of bench:throughput (bench/throughput.ts), in the same micronet world as the
// direct one:
// - `symmetricRow`: two nodes behind symmetric NATs (no direct path) relayed by the public boot
//   node, over UDP (in its kernel once both bound their session port);
// - `wsRow`: a node whose router drops every UDP datagram (only TCP leaves, as
//   test/e2e/wsrelay.test.ts), whose only boot line is the boot node's `ws://` URL, and a public
//   node: every WireGuard datagram crosses the boot node's daemon (WS_TO in, out of the
//   session's port to f's WireGuard, and back as WS_FROM: a session half in the kernel,
//   docs/NAT.md). During it, the CPU seconds of each process on the path and the relay and ws
//   counters of every stage (drops included) say where the time goes.
import fs from 'node:fs';
import path from 'node:path';
import type { WhNet, WhNode } from '../../test/e2e/whnet.js';
import { socketOwners, socketPath } from '../../src/wg/index.js';
import { log, sleep } from './args.js';
import { cpuSeconds, machineCpu, median, pct } from './stats.js';

/** The boot node's WebSocket port (its network file gets `listen ws://0.0.0.0:PORT`). */
export const WS_PORT = 8080;

async function iperfMbps(w: WhNet, from: WhNode, ip: string, port: number, seconds: number): Promise<{ mbps: number; retransmits: number }> {
  const r = await w.net.exec(from.host, ['iperf3', '-c', ip, '-p', String(port), '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 });
  let j: { error?: string; end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } } };
  try { j = JSON.parse(r.stdout) as typeof j; } catch { throw new Error(`iperf3 -c ${ip}: exit ${r.code}, no JSON: ${r.stderr.trim() || r.stdout.slice(0, 300)}`); }
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error(`iperf3 -c ${ip}: ${j.error ?? r.stderr.slice(0, 200)}`);
  return { mbps: bps / 1e6, retransmits: j.end?.sum_sent?.retransmits ?? 0 };
}

async function relayPath(w: WhNet, from: string, to: WhNode): Promise<{ path?: string | null; relay?: string | null; endpoint?: string | null; relayForwarding?: string | null }> {
  let p = (await w.show(from)).peers.find((x) => x.key === to.publicKey);
  for (let i = 0; i < 30 && p?.path !== 'relay'; i++) {
    await sleep(100);
    p = (await w.show(from)).peers.find((x) => x.key === to.publicKey);
  }
  return p ?? {};
}

/** c and d behind symmetric NATs, relayed by the boot node (after `writeConfigs` named them). */
export async function symmetricRow(w: WhNet, C: WhNode, D: WhNode, seconds: number, runs: number): Promise<{ mbps: number; forwarding: string | null }> {
  await w.up(C.name);
  await w.up(D.name);
  if (await w.pingUntil(C.name, D.overlayIp!, 20_000) < 0) throw new Error('c cannot reach d over the relay');
  // (`relay` is printed once WireGuard received d through the link, at the next samples.)
  const cPath = await relayPath(w, C.name, D);
  if (cPath.path !== 'relay') throw new Error(`c reaches d by ${cPath.path}, not by a relay`);
  log(`c -> d: ${cPath.path} via ${cPath.relay} (${cPath.endpoint})`);
  // The relay forwards in its kernel once both sides bound their session port (about a
  // second); measure that path, the one users get, and say which one was measured.
  let forwarding: string | null = null;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(250)) {
    const fc = (await w.show(C.name)).peers.find((p) => p.key === D.publicKey)?.relayForwarding ?? null;
    const fd = (await w.show(D.name)).peers.find((p) => p.key === C.publicKey)?.relayForwarding ?? null;
    forwarding = fc === fd ? fc : `c: ${fc}, d: ${fd}`;
    if (forwarding === 'kernel') break;
  }
  log(`relayed datagrams forwarded by: ${forwarding}`);
  const srv = w.net.spawn(D.host, 'iperf3', ['-s', '-B', D.overlayIp!, '-p', '5204'], { stdio: 'ignore' });
  await sleep(500);
  const relayed: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await iperfMbps(w, C, D.overlayIp!, 5204, seconds);
      relayed.push(r.mbps);
      log(`relayed run ${i + 1}: ${r.mbps.toFixed(1)} Mbit/s`);
    }
  } finally { srv.kill(); }
  return { mbps: median(relayed), forwarding };
}

/** Drops UDP forwarded by `n`'s router (only TCP gets out), as test/e2e/wsrelay.test.ts. */
export async function blockUdp(w: WhNet, n: WhNode): Promise<void> {
  const rules = 'table inet whbenchws {\nchain blockudp {\ntype filter hook forward priority -300; policy accept;\nmeta l4proto udp counter drop\n}\n}\n';
  const r = await w.net.exec(n.host.router!, ['nft', '-f', '-'], { input: rules });
  if (r.code !== 0) throw new Error(`block UDP at ${n.name}'s router: ${r.stderr}`);
}

/** A network file for `n` whose boot lines name the boot node's ws:// URL only. */
export function wsOnlyConfig(w: WhNet, boot: WhNode): string {
  const url = `ws://${boot.host.publicIp}:${WS_PORT}/`;
  const conf = fs.readFileSync(w.configFile, 'utf8').replace(/^boot (\S+) \S+$/m, `boot $1 ${url}`);
  if (!conf.includes(url)) throw new Error('no boot line to point at the WebSocket URL');
  const file = path.join(w.dir, 'wsonly.conf');
  fs.writeFileSync(file, conf);
  return file;
}

/** Counters of the stages (`show all`): the boot node's WebSocket server and DHT, the web-only
 *  node's client and DHT, the public peer's DHT; only the relay and ws ones. */
async function stageCounters(w: WhNet, names: string[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const name of names) {
    const s = await w.show(name, true) as unknown as { dht?: { counters?: Record<string, number> }; transports?: { kind: string; role?: string; counters?: Record<string, number> }[] };
    const pick = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => /^(ws-|relay|relayed)/.test(k)));
    out[`${name}.dht`] = pick(s.dht?.counters);
    for (const t of s.transports ?? []) if (t.kind === 'ws') out[`${name}.ws-${t.role ?? 'client'}`] = pick(t.counters);
  }
  return out;
}

const delta = (a: Record<string, Record<string, number>>, b: Record<string, Record<string, number>>) =>
  Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([c, n]) => [c, n - (a[k]?.[c] ?? 0)]).filter(([, n]) => n !== 0))]));

/** E (web-only, already up with `wsOnlyConfig`) -> F (public) through the boot node over WebSocket. */
export async function wsRow(w: WhNet, boot: WhNode, E: WhNode, F: WhNode, seconds: number, runs: number): Promise<{ mbps: number; runs: number[]; forwarding: string | null; cpu: Record<string, number>; counters: Record<string, Record<string, number>> }> {
  const ms = await w.pingUntil(E.name, F.overlayIp!, 20_000);
  if (ms < 0) throw new Error(`${E.name} cannot reach ${F.name} over WebSocket:\n${E.log.slice(-2000)}`);
  const p = await relayPath(w, E.name, F);
  if (p.path !== 'relay' || p.relayForwarding !== 'websocket') throw new Error(`${E.name} reaches ${F.name} by ${p.path} (${p.relayForwarding}), not relayed over WebSocket`);
  log(`${E.name} -> ${F.name}: relay over WebSocket via ${p.relay} (first ping after ${ms} ms)`);
  const procs: Record<string, number | undefined> = {
    'node-boot(relay)': boot.daemon?.pid, [`node-${E.name}`]: E.daemon?.pid, [`node-${F.name}`]: F.daemon?.pid,
    [`wg-${E.name}`]: socketOwners(socketPath(E.iface))[0], [`wg-${F.name}`]: socketOwners(socketPath(F.iface))[0],
  };
  const srv = w.net.spawn(F.host, 'iperf3', ['-s', '-B', F.overlayIp!, '-p', '5205'], { stdio: 'ignore' });
  await sleep(500);
  const mbps: number[] = [];
  const cpu: Record<string, number> = Object.fromEntries(Object.keys(procs).map((k) => [k, 0]));
  let busy = 0, total = 0;
  const c0 = await stageCounters(w, [boot.name, E.name, F.name]);
  try {
    for (let i = 0; i < runs; i++) {
      const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]));
      const m0 = machineCpu();
      const r = await iperfMbps(w, E, F.overlayIp!, 5205, seconds);
      const m1 = machineCpu();
      busy += m1.busy - m0.busy; total += m1.total - m0.total;
      const used = Object.entries(procs).map(([k, pid]) => { const d = cpuSeconds(pid) - before[k]!; cpu[k]! += d; return `${k} ${d.toFixed(2)}`; });
      mbps.push(r.mbps);
      log(`websocket-relayed run ${i + 1}: ${r.mbps.toFixed(1)} Mbit/s, ${r.retransmits} retransmits; cpu seconds: ${used.join(', ')}; machine busy ${pct(m1.busy - m0.busy, m1.total - m0.total)}`);
    }
  } finally { srv.kill(); }
  const counters = delta(c0, await stageCounters(w, [boot.name, E.name, F.name]));
  log(`websocket-relayed stage counters during the runs: ${JSON.stringify(counters)}`);
  log(`websocket-relayed cpu seconds per second of iperf3: ${Object.entries(cpu).map(([k, s]) => `${k} ${(s / (runs * seconds)).toFixed(2)}`).join(', ')}; machine busy ${pct(busy, total)}`);
  return { mbps: median(mbps), runs: mbps, forwarding: p.relayForwarding ?? null, cpu: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, Number((s / (runs * seconds)).toFixed(2))])), counters };
}

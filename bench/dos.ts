// `npm run bench:dos -- [--seconds 20] [--rate 20000] [--sources 100] [--workbit 16] [--keys 1]
//                        [--pings 20] [--size 160]`
// A real DhtNode on UDP loopback in a child process is flooded with forged datagrams (a header
// carrying a public key ground to the node's workbit, random ciphertext: the attacker has no
// private key) from `--sources` distinct source addresses 127.0.1.1 … 127.0.1.N, by a second
// child process, while this process, a legitimate client on 127.0.0.2, joins (time to its first
// pong) and then pings the node `--pings` times per second. The flooding process never reads
// what it is sent, as a spoofer would not see it. `--keys K` forged keys are used in turn
// (K = 1: one ground key reused for every packet, as in issue 8; K = 0: a fresh random key per
// packet, meaningful only with --workbit 0).
// Nothing leaves the machine (all of 127/8 is local). CPU is the node process's own
// (process.cpuUsage over the flood), so it stays meaningful on a machine shared with other work;
// the ping figures are not (a descheduled node answers late), so the load average is reported.
// Prints one JSON object as its last line.
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sodiumReady, type Sodium } from '../src/crypto/sodium.js';
import { searchKey } from '../src/crypto/keysearch.js';
import { workbit as computeWorkbit } from '../src/crypto/workbit.js';
import { DhtNode } from '../src/dht/node.js';
import { UdpTransport } from '../src/net/udp.js';
import { realClock } from '../src/util/clock.js';

const NAMESPACE = 'dos-bench';
const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '20000' },
    sources: { type: 'string', default: '100' },
    workbit: { type: 'string', default: '16' },
    keys: { type: 'string', default: '1' },
    pings: { type: 'string', default: '20' },
    size: { type: 'string', default: '160' },
    secret: { type: 'string' },
    port: { type: 'string' },
  },
});
const seconds = Number(values.seconds), rate = Number(values.rate), sources = Number(values.sources);
const wb = Number(values.workbit), keys = Number(values.keys), pings = Number(values.pings), size = Number(values.size);
if (![seconds, rate, sources, wb, keys, pings, size].every((n) => Number.isFinite(n) && n >= 0) || sources < 1 || sources > 250 || size < 70 || size > 1452) {
  process.stderr.write('usage: bench:dos -- [--seconds S] [--rate R] [--sources 1..250] [--workbit W] [--keys K] [--pings P] [--size 70..1452]\n');
  process.exit(2);
}
const self = fileURLToPath(import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const send = (m: unknown): void => { process.send?.(m); };

// ---- role node: the attacked DHT node ------------------------------------------------------
async function runNode(): Promise<void> {
  const sodium = await sodiumReady();
  let x25519 = 0;
  const scalarmult = sodium.crypto_scalarmult.bind(sodium);
  (sodium as { crypto_scalarmult: Sodium['crypto_scalarmult'] }).crypto_scalarmult = ((a: Uint8Array, b: Uint8Array) => {
    x25519++;
    return scalarmult(a, b);
  }) as Sodium['crypto_scalarmult'];
  const transport = await UdpTransport.bind('127.0.0.1', 0);
  const node = new DhtNode({
    sodium, secret: Buffer.from(values.secret!, 'hex'), workbit: wb, namespace: NAMESPACE, transport, clock: realClock, direct: true,
  });
  let start: { cpu: NodeJS.CpuUsage; t: number; x: number; rx: number } | undefined;
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') start = { cpu: process.cpuUsage(), t: performance.now(), x: x25519, rx: transport.counters.get('rx') };
    if (m.cmd === 'stop' && start !== undefined) {
      const cpu = process.cpuUsage(start.cpu);
      const wallMs = performance.now() - start.t;
      send({
        cpu_percent: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 1000) / 10,
        x25519: x25519 - start.x,
        received: transport.counters.get('rx') - start.rx,
        counters: node.rpc.counters.toJSON(),
      });
      node.close();
      transport.close();
      setTimeout(() => process.exit(0), 50);
    }
  });
  send({ port: transport.local.port });
}

// ---- role flood: the attacker ------------------------------------------------------------------
function groundKey(sodium: Sodium): Uint8Array {
  for (;;) {
    const k = new Uint8Array(randomBytes(32));
    if (computeWorkbit(sodium, k, NAMESPACE) >= wb) return k;
  }
}

async function runFlood(): Promise<void> {
  const sodium = await sodiumReady();
  const port = Number(values.port);
  const t0 = performance.now();
  const forgedKeys = Array.from({ length: Math.max(1, keys) }, () => groundKey(sodium));
  const grindSeconds = (performance.now() - t0) / 1000;
  const packets = Array.from({ length: 1024 }, (_, i) => {
    const p = new Uint8Array(randomBytes(size));
    p.set([0xf7, 1, 1, 0], 0);
    p.set(forgedKeys[i % forgedKeys.length]!, 4);
    return p;
  });
  const sockets = await Promise.all(Array.from({ length: sources }, (_, i) => new Promise<dgram.Socket>((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, `127.0.1.${i + 1}`, () => resolve(s));
  })));
  send({ ready: true, grindSeconds });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  let sent = 0, errors = 0;
  const began = performance.now();
  const until = began + seconds * 1000;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(Math.floor(((Math.min(now, until) - began) / 1000) * rate), sent + rate / 20);
      for (; sent < due; sent++) {
        const p = packets[sent % packets.length]!;
        if (keys === 0) p.set(randomBytes(32), 4); // a fresh random key for every packet
        try {
          sockets[sent % sources]!.send(p, port, '127.0.0.1');
        } catch {
          errors++;
        }
      }
      if (now >= until) resolve();
      else setTimeout(tick, 2);
    };
    tick();
  });
  const elapsed = (performance.now() - began) / 1000;
  for (const s of sockets) s.close();
  send({ sent, errors, rate: Math.round(sent / elapsed) });
  setTimeout(() => process.exit(0), 50);
}

// ---- role main: coordinator and legitimate client --------------------------------------------
function child(role: string, extra: string[]): ChildProcess {
  return fork(self, ['--role', role, '--seconds', String(seconds), '--rate', String(rate), '--sources', String(sources),
    '--workbit', String(wb), '--keys', String(keys), '--size', String(size), ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}
function nextMessage<T>(c: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    c.once('message', (m) => resolve(m as T));
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before answering`)));
  });
}
const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function runMain(): Promise<void> {
  const sodium = await sodiumReady();
  const nodeKey = await searchKey({ workbit: wb, namespace: NAMESPACE });
  const clientKey = await searchKey({ workbit: wb, namespace: NAMESPACE });
  const children: ChildProcess[] = [];
  const killAll = (): void => { for (const c of children) if (c.exitCode === null) c.kill(); };
  process.on('exit', killAll);
  const nodeProc = child('node', ['--secret', hex(nodeKey.secret)]);
  children.push(nodeProc);
  const { port } = await nextMessage<{ port: number }>(nodeProc);
  const floodProc = child('flood', ['--port', String(port)]);
  children.push(floodProc);
  const { grindSeconds } = await nextMessage<{ grindSeconds: number }>(floodProc);
  const target = { host: '127.0.0.1', port };

  const transport = await UdpTransport.bind('127.0.0.2', 0);
  const client = new DhtNode({ sodium, secret: clientKey.secret, workbit: wb, namespace: NAMESPACE, transport, clock: realClock, refresh: false });
  const floodDone = nextMessage<{ sent: number; errors: number; rate: number }>(floodProc);
  nodeProc.send({ cmd: 'start' });
  floodProc.send({ cmd: 'go' });
  const began = performance.now();
  // Let the flood run for a second, then join: time until the client's first pong.
  await new Promise((r) => setTimeout(r, 1000));
  const joinStart = performance.now();
  let joinMs: number | undefined;
  while (joinMs === undefined && performance.now() - began < seconds * 1000) {
    if ((await client.ping(nodeKey.public, target)) !== undefined) joinMs = Math.round(performance.now() - joinStart);
  }
  // Then ping at a steady rate until the flood ends.
  const rtts: number[] = [];
  let asked = 0;
  const inFlight: Promise<void>[] = [];
  const end = began + seconds * 1000;
  for (let next = performance.now(); next < end; next += 1000 / pings) {
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    asked++;
    const t = performance.now();
    inFlight.push(client.ping(nodeKey.public, target).then((r) => { if (r !== undefined) rtts.push(performance.now() - t); }));
  }
  const flood = await floodDone;
  nodeProc.send({ cmd: 'stop' });
  const nodeStats = await nextMessage<{ cpu_percent: number; x25519: number; received: number; counters: Record<string, number> }>(nodeProc);
  await Promise.all(inFlight);
  client.close();
  transport.close();
  // Let the children exit by themselves (they flush their output), else they are killed on exit.
  await Promise.race([Promise.all(children.map((ch) => ch.exitCode !== null ? undefined : new Promise((r) => ch.once('exit', r)))), new Promise((r) => setTimeout(r, 3000))]);
  const c = nodeStats.counters;
  console.log(JSON.stringify({
    seconds, workbit: wb, forged_keys: keys === 0 ? 'random per packet' : keys, sources, packet_bytes: size,
    flood_rate_asked: rate, flood_rate_sent: flood.rate, flood_sent: flood.sent, node_received: nodeStats.received,
    node_cpu_percent: nodeStats.cpu_percent, x25519: nodeStats.x25519,
    join_ms: joinMs ?? null, pings_asked: asked, pings_answered: rtts.length,
    ping_answer_rate: Math.round((rtts.length / Math.max(1, asked)) * 1000) / 1000,
    rtt_p50_ms: Math.round(percentile(rtts, 50) * 10) / 10, rtt_p99_ms: Math.round(percentile(rtts, 99) * 10) / 10,
    drops: Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('drop') || k.startsWith('cookie'))),
    attacker_grind_seconds: Math.round(grindSeconds * 100) / 100,
    load_average_1m: Math.round(loadavg()[0]! * 10) / 10, // the machine's load (other work shares it)
  }));
  process.exit(0);
}

if (values.role === 'node') await runNode();
else if (values.role === 'flood') await runFlood();
else await runMain();

// `npm run bench:wsabuse -- [--idle 1000] [--seconds 10] [--rounds 2]`: the WebSocket server
// (src/net/wsserver.ts, its default limits) in a child process, beside a UDP echo socket on the
// same event loop, under attack from this process over 127.0.0.1: `--idle` connections that
// upgrade and then only ping (from 127.0.0.2), pre-upgrade garbage, slowloris headers, junk and
// text messages past the message rate, oversized messages in a reconnect loop, ping floods, and
// clients that never read while their datagrams are echoed at them (from 127.0.0.3-6). A
// legitimate ws client (127.0.0.1) and a UDP client send a datagram and wait for its echo,
// before, during and after the attack (round-trip latency, losses). The child reports its RSS,
// heap and open fds. Nothing leaves the machine. Progress lines start with '#'; the LAST line is
// one JSON object.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { WsServerTransport } from '../src/net/wsserver.js';
import { realClock } from '../src/util/clock.js';
import { WS_MAX_MESSAGE, WS_SUBPROTOCOL } from '../src/params.js';

const { values } = parseArgs({ options: { idle: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, role: { type: 'string', default: 'main' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = (b: number) => +(b / 1048576).toFixed(1);

interface Stats { rss: number; heap: number; ext: number; cpuS: number; fds: number; connections: number; counters: Record<string, number> }

if (values.role === 'server') {
  const s = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  s.setReceiver((data, from) => s.send(from, data)); // echo: the legitimate client's round trip
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(m, r.port, r.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const stats = (): Stats => {
    global.gc?.();
    const m = process.memoryUsage();
    const c = process.cpuUsage();
    return { rss: m.rss, heap: m.heapUsed, ext: m.external + m.arrayBuffers, cpuS: (c.user + c.system) / 1e6, fds: readdirSync('/proc/self/fd').length, connections: s.connections, counters: s.counters.toJSON() };
  };
  process.on('message', (m: string) => { if (m === 'stats') process.send!({ stats: stats() }); else if (m === 'exit') { s.close(); udp.close(); process.exit(0); } });
  process.send!({ ports: { ws: s.local.port, udp: (udp.address()).port } });
} else {
  const idleN = Number(values.idle);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const child = fork(fileURLToPath(import.meta.url), ['--role', 'server'], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies: ((m: unknown) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m));
  const next = <T>() => new Promise<T>((r) => replies.push(r as (m: unknown) => void));
  const { ports } = await next<{ ports: { ws: number; udp: number } }>();
  const stats = async (): Promise<Stats> => { const p = next<{ stats: Stats }>(); child.send('stats'); return (await p).stats; };
  const url = `ws://127.0.0.1:${ports.ws}/`;
  const open = (localAddress: string) => new Promise<WebSocket>((res, rej) => {
    const w = new WebSocket(url, [WS_SUBPROTOCOL], { localAddress });
    w.once('open', () => res(w)); w.once('error', rej);
  });

  // The legitimate clients: one datagram at a time, its echo awaited (1 s without one = lost).
  const legit = await open('127.0.0.1');
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  let waiter: ((m: Buffer) => void) | undefined;
  legit.on('message', (m: Buffer) => waiter?.(m));
  udp.on('message', (m) => waiter?.(m));
  const rtt = async (n: number, over: 'ws' | 'udp') => {
    const ms: number[] = [];
    let lost = 0;
    for (let i = 0; i < n; i++) {
      const d = randomBytes(200);
      const t0 = performance.now();
      const got = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => r(false), 1000);
        waiter = (m) => { if (m.subarray(-200).equals(d)) { clearTimeout(timer); r(true); } };
        if (over === 'ws') legit.send(Buffer.concat([Buffer.from([1]), d])); else udp.send(d, ports.udp, '127.0.0.1');
      });
      if (got) ms.push(performance.now() - t0); else lost++;
      await sleep(10);
    }
    ms.sort((a, b) => a - b);
    const q = (f: number) => +(ms[Math.min(ms.length - 1, Math.floor(ms.length * f))] ?? NaN).toFixed(2);
    return { sent: n, lost, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1) };
  };

  await sleep(500);
  const before = await stats();
  const calm = { ws: await rtt(100, 'ws'), udp: await rtt(100, 'udp') };
  console.log(`# before: rss ${MiB(before.rss)} MiB, fds ${before.fds}; ws rtt p50 ${calm.ws.p50_ms} ms`);

  // The attack (run `--rounds` times: RSS that keeps growing from one round to the next would be a leak).
  const attack = async (round: number) => {
    const idle: WebSocket[] = [];
    for (let i = 0; i < idleN; i++) idle.push(await open('127.0.0.2'));
    const pinger = setInterval(() => { for (const w of idle) if (w.readyState === WebSocket.OPEN) w.ping(); }, 20_000);
    await sleep(500);
    const idleOnly = await stats();
    console.log(`# round ${round}: ${idle.length} idle connections open, rss ${MiB(idleOnly.rss)} MiB`);
    let stop = false;
    const raws = new Set<net.Socket>();
    const rawLoop = async (local: string, body: (s: net.Socket) => Promise<void>) => {
      while (!stop) {
        const s = net.connect({ port: ports.ws, host: '127.0.0.1', localAddress: local });
        raws.add(s);
        s.on('error', () => {});
        await new Promise((r) => { s.once('connect', r); s.once('close', r); });
        try { if (!s.destroyed) await body(s); } catch { /* the server closed it */ }
        await new Promise((r) => { if (s.destroyed) r(0); else { s.once('close', r); setTimeout(() => s.destroy(), 6000); } });
        raws.delete(s);
      }
    };
    const loops: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) loops.push(rawLoop('127.0.0.3', async (s) => { while (!stop && !s.destroyed) { s.write(randomBytes(1024)); await sleep(20); } }));
    for (let i = 0; i < 10; i++) loops.push(rawLoop('127.0.0.3', async (s) => { s.write('GET / HTTP/1.1\r\nHost: x\r\n'); while (!stop && !s.destroyed) { s.write('X-a: b\r\n'); await sleep(500); } }));
    const attackers: WebSocket[] = [];
    const wsLoop = async (local: string, body: (w: WebSocket) => Promise<void>) => {
      while (!stop) {
        try {
          const w = await open(local);
          attackers.push(w);
          await body(w);
          await new Promise((r) => { if (w.readyState === WebSocket.CLOSED) r(0); else { w.once('close', r); setTimeout(() => w.terminate(), 2000); } });
        } catch { await sleep(50); }
      }
    };
    for (let i = 0; i < 10; i++) loops.push(wsLoop('127.0.0.4', async (w) => { while (!stop && w.readyState === WebSocket.OPEN) { for (let j = 0; j < 50; j++) { w.send(randomBytes(1 + (j % 200))); w.send('junk'); } await sleep(5); } }));
    for (let i = 0; i < 5; i++) loops.push(wsLoop('127.0.0.4', async (w) => { w.send(Buffer.alloc(WS_MAX_MESSAGE + 1000, 1)); await sleep(100); }));
    for (let i = 0; i < 5; i++) loops.push(wsLoop('127.0.0.5', async (w) => { while (!stop && w.readyState === WebSocket.OPEN) { for (let j = 0; j < 20; j++) w.ping(randomBytes(125)); await sleep(2); } }));
    for (let i = 0; i < 20; i++) loops.push(wsLoop('127.0.0.6', async (w) => {
      (w as unknown as { _socket: net.Socket })._socket.pause(); // never reads what is echoed at it
      const d = Buffer.concat([Buffer.from([1]), randomBytes(1400)]);
      while (!stop && w.readyState === WebSocket.OPEN) { for (let j = 0; j < 20; j++) w.send(d); await sleep(10); }
    }));
    await sleep(1000);
    const cpu0 = process.cpuUsage();
    const start = await stats();
    const t0 = performance.now();
    const during = { ws: await rtt(Math.round(seconds * 40), 'ws'), udp: await rtt(100, 'udp') };
    const under = await stats();
    const wallS = +((performance.now() - t0) / 1000).toFixed(1);
    const c1 = process.cpuUsage(cpu0);
    const load = loadavg()[0]!;
    console.log(`# round ${round} under attack: rss ${MiB(under.rss)} MiB, fds ${under.fds}, ${under.connections} connections; ws rtt p50 ${during.ws.p50_ms} p99 ${during.ws.p99_ms} ms`);
    stop = true;
    clearInterval(pinger);
    for (const w of [...idle, ...attackers]) w.terminate();
    for (const s of raws) s.destroy();
    await Promise.all(loops);
    await sleep(1500);
    const after = await stats();
    return { idleOnly, during, under, after, load, serverCpuS: +(under.cpuS - start.cpuS).toFixed(1), wallS, attackerCpuS: +((c1.user + c1.system) / 1e6).toFixed(1) };
  };
  const runs = [];
  for (let r = 1; r <= rounds; r++) runs.push(await attack(r));
  const { during, under, load } = runs[0]!;
  const after = runs[runs.length - 1]!.after;
  const calmAgain = { ws: await rtt(100, 'ws'), udp: await rtt(100, 'udp') };
  child.send('exit');
  legit.terminate();
  udp.close();
  const keep = ['ws-accept', 'ws-accept-rate', 'ws-open', 'ws-full', 'ws-full-ip', 'ws-evicted', 'ws-handshake-timeout', 'ws-bad-request', 'ws-oversize', 'ws-error', 'ws-rate', 'ws-ping-rate', 'ws-text', 'ws-type', 'ws-short', 'ws-send-full', 'ws-send-full-total', 'ws-rx', 'ws-tx'];
  const counters = Object.fromEntries(keep.map((k) => [k, under.counters[k] ?? 0]));
  console.log(JSON.stringify({
    idle_connections: idleN, attack_seconds: +(during.ws.sent / 40).toFixed(0), rounds,
    attackers: { garbage_tcp: 10, slowloris: 10, junk_ws: 10, oversize_loop: 5, ping_flood: 5, never_read: 20 },
    server: {
      rss_mib: { before: MiB(before.rss), idle_only: runs.map((r) => MiB(r.idleOnly.rss)), under_attack: runs.map((r) => MiB(r.under.rss)), after_each_round: runs.map((r) => MiB(r.after.rss)) },
      kib_per_idle_connection: +((runs[0]!.idleOnly.rss - before.rss) / 1024 / idleN).toFixed(1),
      heap_mib: { before: MiB(before.heap), idle_only: runs.map((r) => MiB(r.idleOnly.heap)), under_attack: runs.map((r) => MiB(r.under.heap)), after_each_round: runs.map((r) => MiB(r.after.heap)) },
      buffers_mib: { before: MiB(before.ext), under_attack: runs.map((r) => MiB(r.under.ext)), after_each_round: runs.map((r) => MiB(r.after.ext)) },
      fds: { before: before.fds, under_attack: under.fds, after: after.fds },
      connections: { under_attack: under.connections, after: after.connections },
      counters_under_attack: counters,
    },
    legit_ws_rtt: { before: calm.ws, under_attack: during.ws, after: calmAgain.ws },
    legit_udp_rtt: { before: calm.udp, under_attack: during.udp, after: calmAgain.udp },
    server_cpu_s_under_attack: runs.map((r) => r.serverCpuS), over_s: runs.map((r) => r.wallS), attacker_cpu_s: runs.map((r) => r.attackerCpuS), loadavg_1m: +load.toFixed(2),
  }));
}

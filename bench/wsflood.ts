// `npm run bench:wsflood -- [--seconds 2]`: what one WebSocket connection flooding WS_TO
// frames costs a relay (docs/NODE.md "WebSocket relay throughput", the relayed-frame budget
// WS_RELAY_FRAMES_PER_SEC). The relay (a real WsServerTransport on 127.0.0.1 and a real
// Traversal, its DHT over the in-memory net of test/unit/fakenet.ts, real clock) runs in this
// process; the flooding client in a child process, so that its masking and framing are not
// counted. Three floods of 148-byte frames for `--seconds` each, as fast as TCP takes them: from a
// member of a session with a UDP member (forwarded within the fair share, sealed as `relayed`;
// the rest dropped as relay-rate-limited), from a connection that is nobody's member (refused
// frames cost the message rate, the rest dropped on the type byte), and junk type bytes (the
// message rate). For each: the relay's CPU seconds, the frames it took per second, and the CPU
// per frame (a connection beyond a rate is paused, WS_RATE_PAUSE: TCP holds the rest back). Nothing leaves the machine. Progress lines start with '#'; the LAST line is JSON.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { sodiumReady } from '../src/crypto/sodium.js';
import { generateSecret } from '../src/crypto/keys.js';
import { DhtNode } from '../src/dht/node.js';
import { wsAddr, type Addr } from '../src/proto/addr.js';
import { encodeWsFrame, WS_TO } from '../src/proto/wsframe.js';
import { Traversal } from '../src/nat/traversal.js';
import { WsRelayPorts } from '../src/net/wsrelayport.js';
import { WsServerTransport } from '../src/net/wsserver.js';
import { realClock } from '../src/util/clock.js';
import { WS_SUBPROTOCOL } from '../src/params.js';
import { FakeNet, initiation, quietLog } from '../test/unit/fakenet.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, role: { type: 'string', default: 'main' }, port: { type: 'string' }, key: { type: 'string' }, type: { type: 'string' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (values.role === 'client') {
  // Connects, says its local port, floods on 'go' (keeping at most 1 MiB in its own buffer).
  const ws = new WebSocket(`ws://127.0.0.1:${values.port}/`, WS_SUBPROTOCOL, { perMessageDeflate: false });
  ws.once('open', () => process.send!({ port: (ws as unknown as { _socket: { localPort: number } })._socket.localPort }));
  process.on('message', async () => {
    const key = Buffer.from(values.key!, 'hex');
    const frame = values.type === 'junk' ? (() => { const f = encodeWsFrame({ type: WS_TO, key, data: initiation(1) }); f[0] = 0x7f; return f; })() : encodeWsFrame({ type: WS_TO, key, data: initiation(1) });
    for (;;) {
      ws.send(frame);
      if (ws.bufferedAmount > 1 << 20) while (ws.bufferedAmount > 1 << 18) await sleep(1);
    }
  });
} else {
  const seconds = Number(values.seconds);
  const sodium = await sodiumReady();
  const net = new FakeNet(), NS = 'wsflood';
  const R_ADDR: Addr = { host: '192.0.2.1', port: 8080 };
  const server = await WsServerTransport.listen({ host: '127.0.0.1', port: 0, clock: realClock });
  const node = (addr: Addr) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: NS, transport: net.bind(addr), clock: realClock, refresh: false });
  const R = node(R_ADDR), B = node({ host: '198.51.100.2', port: 51820 });
  const relay = new Traversal({
    clock: realClock, log: quietLog(), announceAddr: () => undefined, isDirect: () => false,
    dht: R, isTrusted: () => false, canRelay: () => true, wgPort: undefined, relayReady: () => undefined,
    isRendezvous: () => false, relayCandidates: () => [], ws: new WsRelayPorts([server]),
  });
  const rT = net.nodes.get('192.0.2.1:8080')!;
  const open = async (from: DhtNode, to: DhtNode) => {
    const r = await from.rpc.request(R_ADDR, R.id, (x) => ({ t: 'relay-open', x, k: to.id }));
    if (r?.msg.t !== 'relay-ok') throw new Error(`relay-open: ${r?.msg.t}`);
  };
  const run = async (name: string, member: boolean, type: 'to' | 'junk') => {
    const child = fork(fileURLToPath(import.meta.url), ['--role', 'client', '--port', String(server.local.port), '--key', Buffer.from(B.id).toString('hex'), '--type', type]);
    const port = await new Promise<number>((res) => child.once('message', (m: { port: number }) => res(m.port)));
    let A: DhtNode | undefined;
    if (member) {
      A = node(wsAddr({ host: '127.0.0.1', port }));
      await open(A, B);
      await open(B, A);
    }
    net.nodes.get('198.51.100.2:51820')!.deaf = true; // B's daemon is not what is measured
    const names = ['ws-to-rx', 'ws-relay-rate', 'ws-rate', 'ws-type'] as const;
    const before = Object.fromEntries([...names, 'relay-forwarded', 'relay-rate-limited', 'relay-ws-no-session'].map((n) => [n, n.startsWith('ws-') ? server.counters.get(n) : R.counters.get(n)]));
    const taken = () => names.reduce((s, n) => s + server.counters.get(n), 0) - names.reduce((s, n) => s + before[n]!, 0);
    const cpu0 = process.cpuUsage(), t0 = performance.now();
    child.send({ go: true });
    const drain = setInterval(() => { rT.sent.length = 0; }, 50);
    await sleep(seconds * 1000);
    clearInterval(drain);
    const wall = (performance.now() - t0) / 1000, cpu = process.cpuUsage(cpu0), cpuS = (cpu.user + cpu.system) / 1e6;
    const delta = (n: string) => (n.startsWith('ws-') ? server.counters.get(n) : R.counters.get(n)) - before[n]!;
    const row = {
      flood: name, taken: taken(), wallS: +wall.toFixed(2), framesPerS: Math.round(taken() / wall), relayCpuS: +cpuS.toFixed(2),
      cpuShare: +(cpuS / wall).toFixed(2), usPerFrame: +((cpuS * 1e6) / Math.max(1, taken())).toFixed(2),
      counters: Object.fromEntries([...names, 'relay-forwarded', 'relay-rate-limited', 'relay-ws-no-session'].map((n) => [n, delta(n)])),
    };
    process.stdout.write(`# ${JSON.stringify(row)}\n`);
    child.kill();
    A?.close();
    net.nodes.get('198.51.100.2:51820')!.deaf = false;
    await sleep(200);
    return row;
  };
  const rows = [];
  try {
    rows.push(await run('member', true, 'to'));
    rows.push(await run('non-member', false, 'to'));
    rows.push(await run('junk-type', false, 'junk'));
  } finally {
    await relay.close();
    server.close();
    R.close();
    B.close();
  }
  process.stdout.write(`${JSON.stringify({ bench: 'wsflood', seconds, rows })}\n`);
}

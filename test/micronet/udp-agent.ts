// A UDP test agent, run inside a namespace (`ip netns exec NS node udp-agent.js`), driven by
// JSON lines on stdin; it reports on stdout, one JSON object per line:
//   {"ev":"ready"}                                      once, at start
//   {"id":N,"ok":true,...} / {"id":N,"ok":false,"error":"..."}   the answer to command N
//   {"ev":"recv","port":P,"from":"IP:PORT","data":"..."}        every datagram received
// Commands:
//   {"id":N,"op":"bind","port":P}                 open a socket on 0.0.0.0:P (0: any) -> {"port":P}
//   {"id":N,"op":"echo","port":P}                 the same, and answer every datagram DATA with
//                                                 "seen IP:PORT DATA" (the sender as seen here: a STUN-like reflector)
//   {"id":N,"op":"send","port":P,"to":"IP:PORT","data":"..."}   send from socket P
//   {"id":N,"op":"close","port":P}
//   {"id":N,"op":"natpmp","gateway":"IP","internal":P,"external":P,"lifetime":S}
//                                                 a NAT-PMP UDP mapping request (RFC 6886)
//                                                 -> {"result":R,"external":P,"lifetime":S}
// It exits when stdin closes.
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';

const sockets = new Map<number, Socket>();

function out(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function parseAddr(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad address "${s}"`);
  return { host: s.slice(0, i), port };
}

function open(port: number, echo: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', reject);
    sock.on('message', (msg, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`;
      out({ ev: 'recv', port: (sock.address()).port, from, data: msg.toString('utf8') });
      if (echo) sock.send(`seen ${from} ${msg.toString('utf8')}`, rinfo.port, rinfo.address);
    });
    sock.bind(port, '0.0.0.0', () => {
      sock.off('error', reject);
      sock.on('error', (e) => out({ ev: 'error', error: e.message }));
      const p = sock.address().port;
      sockets.set(p, sock);
      resolve(p);
    });
  });
}

function socketOf(port: unknown): Socket {
  const s = sockets.get(Number(port));
  if (!s) throw new Error(`no socket on port ${String(port)}`);
  return s;
}

async function natpmp(gateway: string, internal: number, external: number, lifetime: number): Promise<Record<string, unknown>> {
  const req = Buffer.alloc(12);
  req.writeUInt8(0, 0); // version
  req.writeUInt8(1, 1); // opcode 1: map UDP
  req.writeUInt16BE(internal, 4);
  req.writeUInt16BE(external, 6);
  req.writeUInt32BE(lifetime, 8);
  const sock = createSocket('udp4');
  try {
    for (let attempt = 0; attempt < 4; attempt++) {
      const reply = await new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => { sock.off('message', onMsg); resolve(null); }, 250 * 2 ** attempt);
        const onMsg = (msg: Buffer): void => { clearTimeout(timer); sock.off('message', onMsg); resolve(msg); };
        sock.on('message', onMsg);
        sock.send(req, 5351, gateway);
      });
      if (reply && reply.length >= 16 && reply.readUInt8(1) === 129) {
        return { result: reply.readUInt16BE(2), internal: reply.readUInt16BE(8), external: reply.readUInt16BE(10), lifetime: reply.readUInt32BE(12) };
      }
    }
    throw new Error(`no NAT-PMP answer from ${gateway}`);
  } finally {
    sock.close();
  }
}

async function handle(cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (cmd.op) {
    case 'bind':
    case 'echo':
      return { port: await open(Number(cmd.port ?? 0), cmd.op === 'echo') };
    case 'send': {
      const to = parseAddr(String(cmd.to));
      const sock = socketOf(cmd.port);
      await new Promise<void>((resolve, reject) => sock.send(String(cmd.data ?? ''), to.port, to.host, (e) => (e ? reject(e) : resolve())));
      return {};
    }
    case 'close':
      socketOf(cmd.port).close();
      sockets.delete(Number(cmd.port));
      return {};
    case 'natpmp':
      return natpmp(String(cmd.gateway), Number(cmd.internal), Number(cmd.external), Number(cmd.lifetime ?? 3600));
    default:
      throw new Error(`unknown op ${String(cmd.op)}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let cmd: Record<string, unknown>;
  try {
    cmd = JSON.parse(line) as Record<string, unknown>;
  } catch {
    out({ ok: false, error: 'bad JSON' });
    return;
  }
  handle(cmd).then(
    (r) => out({ id: cmd.id, ok: true, ...r }),
    (e: Error) => out({ id: cmd.id, ok: false, error: e.message }),
  );
});
rl.on('close', () => {
  for (const s of sockets.values()) s.close();
  process.exit(0);
});
out({ ev: 'ready' });

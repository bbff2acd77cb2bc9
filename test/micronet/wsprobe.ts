// A WebSocket probe run inside a micronet namespace (`node wsprobe.js ...` through net.spawn or
// net.exec), so that tests drive src/net/wsdial.ts where the network is:
//   serve HOST PORT    a ws:// echo server; prints "listening" once it listens
//   dial URL [MS]      dials URL with the process's environment (HTTPS_PROXY, ...), sends a
//                      datagram-sized binary message, waits for its echo; prints one JSON line
//                      { ok, ms, code?, message? } and exits 0 (ok) or 1
// WSPROBE_CA=FILE makes `dial` trust that certificate (the nginx fixture's).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';
import { dialWs, WsDialError } from '../../src/net/wsdial.js';
import { MAX_PACKET } from '../../src/params.js';

async function dial(url: string, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  const ca = process.env.WSPROBE_CA ? readFileSync(process.env.WSPROBE_CA, 'utf8') : undefined;
  try {
    const ws = await dialWs(url, { env: process.env, timeoutMs, ws: ca ? { ca } : {} });
    const msg = randomBytes(1 + 32 + MAX_PACKET);
    const echo = await new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no echo')), timeoutMs);
      ws.once('message', (m) => { clearTimeout(t); resolve(Buffer.from(m as Buffer)); });
      ws.once('error', reject);
      ws.send(msg, { binary: true });
    });
    ws.terminate();
    const ok = echo.equals(msg);
    console.log(JSON.stringify({ ok, ms: Date.now() - t0, ...(ok ? {} : { message: 'echo differs' }) }));
    return ok ? 0 : 1;
  } catch (err) {
    const code = err instanceof WsDialError ? err.code : 'error';
    console.log(JSON.stringify({ ok: false, ms: Date.now() - t0, code, message: err instanceof Error ? err.message : String(err) }));
    return 1;
  }
}

function serve(host: string, port: number): void {
  const wss = new WebSocketServer({ host, port });
  wss.on('listening', () => console.log('listening'));
  wss.on('connection', (c) => c.on('message', (d, isBinary) => c.send(d, { binary: isBinary })));
  process.on('SIGTERM', () => process.exit(0));
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'serve' && a && b) serve(a, Number(b));
else if (mode === 'dial' && a) process.exitCode = await dial(a, Number(b ?? 5000));
else {
  console.error('usage: wsprobe serve HOST PORT | wsprobe dial URL [TIMEOUT_MS]');
  process.exitCode = 2;
}

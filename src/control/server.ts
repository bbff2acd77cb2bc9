// The daemon's side of the control socket. Bounded (src/params.ts): at most
// CONTROL_MAX_CONNECTIONS connections at once (more are closed as they are accepted), at most
// CONTROL_MAX_REQUEST bytes per request (kept as bytes, not concatenated strings), the whole
// request within CONTROL_REQUEST_DEADLINE of the accept and the whole connection within
// CONTROL_CONNECTION_DEADLINE: absolute deadlines on the injected clock, not idle timeouts that
// each byte would reset.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CONTROL_CONNECTION_DEADLINE, CONTROL_MAX_CONNECTIONS, CONTROL_MAX_REQUEST, CONTROL_REQUEST_DEADLINE } from '../params.js';
import { realClock, type Clock } from '../util/clock.js';
import { socketAccepts } from '../util/unixsocket.js';
import { parseRequest, type ControlRequest, type ControlResponse } from './protocol.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export class ControlServer {
  private constructor(private readonly server: net.Server, readonly file: string, private readonly conns: Set<net.Socket>) {}

  /** Listens on `file`; refuses if a live daemon already owns it, replaces a stale socket. */
  static async listen(file: string, handler: ControlHandler, clock: Clock = realClock): Promise<ControlServer> {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (fs.existsSync(file)) {
      if (await socketAccepts(file)) throw new Error(`a daemon is already running on ${file}`);
      fs.unlinkSync(file);
    }
    const conns = new Set<net.Socket>();
    const server = net.createServer((conn) => {
      conns.add(conn);
      conn.once('close', () => conns.delete(conn));
      serve(conn, handler, clock);
    });
    // Node closes connections over the limit as soon as they are accepted.
    server.maxConnections = CONTROL_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => { server.off('error', reject); resolve(); });
    });
    fs.chmodSync(file, 0o600);
    return new ControlServer(server, file, conns);
  }

  /** Stops listening and ends the connections still open (an answer being written is
   *  flushed first): the daemon's stop does not wait for their deadlines. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.destroySoon();
    await closed;
    try { fs.unlinkSync(this.file); } catch { /* already gone */ }
  }
}

function serve(conn: net.Socket, handler: ControlHandler, clock: Clock): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let reading = true; // until the request's newline; later bytes are read and dropped
  let done = false;
  const readTimer = clock.setTimeout(() => { if (reading) conn.destroy(); }, CONTROL_REQUEST_DEADLINE);
  const lifeTimer = clock.setTimeout(() => conn.destroy(), CONTROL_CONNECTION_DEADLINE);
  conn.once('close', () => { clock.clearTimeout(readTimer); clock.clearTimeout(lifeTimer); });
  const reply = (r: ControlResponse): void => {
    if (done) return;
    done = true;
    reading = false;
    clock.clearTimeout(readTimer);
    conn.end(JSON.stringify(r) + '\n');
  };
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk: Buffer) => {
    if (!reading) return;
    const nl = chunk.indexOf(0x0a);
    const part = nl < 0 ? chunk : chunk.subarray(0, nl);
    if (size + part.length > CONTROL_MAX_REQUEST) {
      chunks.length = 0;
      return reply({ ok: false, error: 'request too large' });
    }
    chunks.push(part);
    size += part.length;
    if (nl < 0) return;
    reading = false;
    clock.clearTimeout(readTimer);
    let value: unknown;
    try { value = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return reply({ ok: false, error: 'request is not JSON' }); }
    chunks.length = 0;
    const req = parseRequest(value);
    if (req === undefined) return reply({ ok: false, error: 'unknown request' });
    handler(req).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

// The daemon's side of the control socket.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MAX_CONTROL_MESSAGE } from '../params.js';
import { socketAccepts } from '../util/unixsocket.js';
import { parseRequest, type ControlRequest, type ControlResponse } from './protocol.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export class ControlServer {
  private constructor(private readonly server: net.Server, readonly file: string) {}

  /** Listens on `file`; refuses if a live daemon already owns it, replaces a stale socket. */
  static async listen(file: string, handler: ControlHandler): Promise<ControlServer> {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (fs.existsSync(file)) {
      if (await socketAccepts(file)) throw new Error(`a daemon is already running on ${file}`);
      fs.unlinkSync(file);
    }
    const server = net.createServer((conn) => serve(conn, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => { server.off('error', reject); resolve(); });
    });
    fs.chmodSync(file, 0o600);
    return new ControlServer(server, file);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try { fs.unlinkSync(this.file); } catch { /* already gone */ }
  }
}

function serve(conn: net.Socket, handler: ControlHandler): void {
  let buf = '';
  let done = false;
  conn.setTimeout(10_000, () => conn.destroy());
  const reply = (r: ControlResponse): void => {
    if (done) return;
    done = true;
    conn.end(JSON.stringify(r) + '\n');
  };
  conn.on('error', () => conn.destroy());
  conn.on('data', (chunk) => {
    if (done) return;
    buf += chunk.toString('utf8');
    if (buf.length > MAX_CONTROL_MESSAGE) return reply({ ok: false, error: 'request too large' });
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    let value: unknown;
    try { value = JSON.parse(buf.slice(0, nl)); } catch { return reply({ ok: false, error: 'request is not JSON' }); }
    const req = parseRequest(value);
    if (req === undefined) return reply({ ok: false, error: 'unknown request' });
    handler(req).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

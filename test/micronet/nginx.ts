// A real TLS-terminating reverse proxy for tests: Debian's nginx, serving wss:// (HTTPS with the
// WebSocket upgrade) on LISTEN:PORT with a throwaway certificate (tlscert.ts) and proxying it to
// a plain ws:// backend (the Upgrade and Connection headers passed on, as a deployment in front
// of a node's `listen ws://` does). Runs in the foreground (`daemon off`) with its own prefix,
// config, pid, logs and temp paths in a private directory, on loopback or in a micronet
// namespace (pass a `spawn`). stop() ends it (master and workers) and waits for it.
import { spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestCert, type TestCert } from './tlscert.js';

export const NGINX = '/usr/sbin/nginx';

/** Why nginx cannot be used here, or null when it can. */
export function nginxMissing(): string | null {
  if (!existsSync(NGINX)) return 'nginx is not installed (Debian package nginx; scripts/install-deps.sh installs it)';
  return null;
}

export interface NginxOptions {
  /** The address it listens on for wss:// (an IP address of the namespace it runs in). */
  listen: string;
  port: number;
  /** The plain WebSocket backend, "HOST:PORT". */
  backend: string;
  /** A private directory: prefix, config, certificate, logs, pid, temp files. */
  dir: string;
  /** Names and IP addresses the certificate is for (default: the listen address). */
  names?: readonly string[];
  spawn?: (cmd: string, args: string[]) => ChildProcess;
  readyMs?: number;
}

/** The nginx.conf of the fixture (pure: the unit test reads it too). */
export function nginxConfig(o: { listen: string; port: number; backend: string; dir: string; cert: string; key: string }): string {
  const listen = o.listen.includes(':') ? `[${o.listen}]:${o.port}` : `${o.listen}:${o.port}`;
  const p = (f: string): string => join(o.dir, f);
  return `daemon off;
master_process on;
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} notice;
events { worker_connections 256; }
http {
  access_log ${p('access.log')};
  client_body_temp_path ${p('tmp/body')};
  proxy_temp_path ${p('tmp/proxy')};
  fastcgi_temp_path ${p('tmp/fastcgi')};
  uwsgi_temp_path ${p('tmp/uwsgi')};
  scgi_temp_path ${p('tmp/scgi')};
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen ${listen} ssl;
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    location / {
      proxy_pass http://${o.backend};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
`;
}

export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
    readonly cert: TestCert,
    readonly url: string,
  ) {}

  static async start(o: NginxOptions): Promise<Nginx> {
    mkdirSync(join(o.dir, 'tmp'), { recursive: true });
    const cert = makeTestCert(o.dir, o.names ?? [o.listen]);
    const conf = join(o.dir, 'nginx.conf');
    writeFileSync(conf, nginxConfig({ ...o, cert: cert.certFile, key: cert.keyFile }));
    writeFileSync(join(o.dir, 'error.log'), '');
    const args = ['-p', `${o.dir}/`, '-e', join(o.dir, 'error.log'), '-c', conf];
    const child = o.spawn ? o.spawn(NGINX, args) : spawnChild(NGINX, args, { stdio: 'ignore' });
    const host = o.listen.includes(':') ? `[${o.listen}]` : o.listen;
    const n = new Nginx(child, o.dir, cert, `wss://${host}:${o.port}/`);
    let exited = false;
    child.once('exit', () => { exited = true; });
    const deadline = Date.now() + (o.readyMs ?? 5000);
    // With `notice`, the master logs "start worker process N" once it listens.
    while (!/start worker process/.test(n.errorLog())) {
      if (exited || Date.now() > deadline) {
        await n.stop();
        throw new Error(`nginx did not start (${exited ? 'it exited' : 'timeout'}); its error log:\n${n.errorLog().slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return n;
  }

  errorLog(): string {
    return readLog(join(this.dir, 'error.log'));
  }

  accessLog(): string {
    return readLog(join(this.dir, 'access.log'));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM'); // fast shutdown: the master ends its workers, then exits
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

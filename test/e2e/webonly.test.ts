// micronet's restrictive routers (test/micronet/nat.ts), for real: 'web-only' (all UDP dropped,
// only TCP 80/443 out) and 'proxy-only' (nothing forwarded; a real tinyproxy on the router is
// the only way out). Probes are socat (TCP, UDP) and test/micronet/wsprobe.ts, which dials with
// src/net/wsdial.ts inside the namespace: through the router's proxy to a real nginx
// terminating wss:// on a public host. Needs root; nothing leaves the run's namespaces.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Micronet, type Host, type Router } from '../micronet/index.js';
import { ROUTER_PROXY_PORT } from '../micronet/nat.js';
import { Nginx, nginxMissing } from '../micronet/nginx.js';
import { startRouterProxy, tinyproxyMissing, type Tinyproxy } from '../micronet/tinyproxy.js';

const PROBE = fileURLToPath(new URL('../micronet/wsprobe.js', import.meta.url));
const socatMissing = spawnSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' }).status !== 0;
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)'
  : (tinyproxyMissing() ?? nginxMissing() ?? (socatMissing ? 'socat is not installed' : false));

const WS_PORT = 443; // the ws:// echo server (a "web" port)
const OTHER_TCP = 8080; // a TCP port that is not a web port
const UDP_PORT = 5000;
const BACKEND = 8000; // the ws:// backend behind nginx
const TLS_PORT = 443; // nginx, on a second public host
const TRIES = 3; // probes per verdict: "blocked" means every one failed

/** The environment of a probe: this one's without any proxy variable, plus `extra`. */
function probeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/_proxy$/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

describe('micronet web-only and proxy-only routers', { skip }, () => {
  let net: Micronet;
  let web: Host;
  let tls: Host;
  let r1: Router;
  let r2: Router;
  let a: Host;
  let b: Host;
  let nginx: Nginx;
  let proxy: Tinyproxy;

  /** Starts a long-running server in `host` and waits for `ready` on its stdout (5 s at most). */
  async function serve(host: Host, cmd: string, args: string[], ready?: RegExp): Promise<ChildProcess> {
    const child = net.spawn(host, cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const deadline = Date.now() + 5000;
    while (ready ? !ready.test(out) : Date.now() < deadline - 4700) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${cmd} did not start in ${host.name}: ${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return child;
  }

  /** Whether any of TRIES TCP connections from `from` to ip:port gets the server's greeting. */
  async function tcp(from: Host, ip: string, port: number): Promise<boolean> {
    for (let i = 0; i < TRIES; i++) {
      const r = await net.exec(from, ['socat', '-T1', '-', `TCP4:${ip}:${port},connect-timeout=1`], { timeoutMs: 4000 });
      if (r.stdout.includes('tcp-ok')) return true;
    }
    return false;
  }

  /** Whether any of TRIES UDP datagrams (each from a new socket) from `from` to ip:UDP_PORT
   *  gets its answer: one lost datagram, say right after a ruleset swap, decides nothing. */
  async function udp(from: Host, ip: string): Promise<boolean> {
    for (let i = 0; i < TRIES; i++) {
      const r = await net.exec(from, ['socat', '-T1', '-', `UDP4:${ip}:${UDP_PORT}`], { input: 'ping\n', timeoutMs: 4000 });
      if (r.stdout.includes('udp-ok')) return true;
    }
    return false;
  }

  async function wsDial(from: Host, url: string, env: Record<string, string> = {}, timeoutMs = 3000): Promise<{ ok: boolean; ms: number; code?: string; message?: string }> {
    const r = await net.exec(from, [process.execPath, PROBE, 'dial', url, String(timeoutMs)], { env: probeEnv(env), timeoutMs: timeoutMs + 5000 });
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return JSON.parse(line) as { ok: boolean; ms: number; code?: string; message?: string };
    } catch {
      throw new Error(`wsprobe printed no result (exit ${r.code}): ${r.stdout} ${r.stderr}`);
    }
  }

  before(async () => {
    net = await Micronet.create();
    web = await net.addPublicHost('web'); // 20.0.1.1
    tls = await net.addPublicHost('tls'); // 20.0.1.2
    r1 = await net.addRouter('r1', { nat: 'port-restricted' });
    r2 = await net.addRouter('r2', { nat: 'proxy-only' });
    a = await net.addHost('a', r1);
    b = await net.addHost('b', r2);
    await serve(web, process.execPath, [PROBE, 'serve', '0.0.0.0', String(WS_PORT)], /listening/);
    await serve(web, 'socat', [`TCP4-LISTEN:${OTHER_TCP},fork,reuseaddr`, 'SYSTEM:echo tcp-ok']);
    await serve(web, 'socat', [`UDP4-RECVFROM:${UDP_PORT},fork`, 'SYSTEM:echo udp-ok']);
    await serve(tls, process.execPath, [PROBE, 'serve', '127.0.0.1', String(BACKEND)], /listening/);
    const ndir = join(net.tmpdir, 'nginx-tls');
    mkdirSync(ndir);
    nginx = await Nginx.start({ listen: tls.ip, port: TLS_PORT, backend: `127.0.0.1:${BACKEND}`, dir: ndir, spawn: (cmd, args) => net.spawn(tls, cmd, args, { stdio: 'ignore' }) });
    proxy = await startRouterProxy(net, r2, [TLS_PORT]);
  });

  after(async () => {
    await net?.destroy(); // ends nginx, tinyproxy and the servers with the namespaces
  });

  test('port-restricted (control): UDP and any TCP port get through', async () => {
    assert.equal(await udp(a, web.ip), true, 'UDP answered');
    assert.equal(await tcp(a, web.ip, OTHER_TCP), true, 'TCP 8080 answered');
  });

  test('web-only: UDP and TCP 8080 are dropped, a WebSocket on TCP 443 works; back to UDP live', async () => {
    await net.setNat(r1, 'web-only');
    assert.equal(await udp(a, web.ip), false, 'UDP dropped');
    assert.equal(await tcp(a, web.ip, OTHER_TCP), false, 'TCP 8080 dropped');
    const ws = await wsDial(a, `ws://${web.ip}:${WS_PORT}/`);
    assert.ok(ws.ok, `ws:// on 443: ${JSON.stringify(ws)}`);
    const wss = await wsDial(a, `wss://${tls.ip}:${TLS_PORT}/`, { WSPROBE_CA: nginx.cert.certFile });
    assert.ok(wss.ok, `wss:// through nginx on 443: ${JSON.stringify(wss)}`);
    await net.setNat(r1, 'port-restricted');
    assert.equal(await udp(a, web.ip), true, 'UDP answered again after unblocking');
  });

  test('proxy-only: direct TCP and UDP fail, wss:// through the router\'s tinyproxy and nginx works', async () => {
    assert.equal(await udp(b, web.ip), false, 'UDP dropped');
    assert.equal(await tcp(b, web.ip, OTHER_TCP), false, 'direct TCP dropped');
    const direct = await wsDial(b, `wss://${tls.ip}:${TLS_PORT}/`, { WSPROBE_CA: nginx.cert.certFile }, 1500);
    assert.equal(direct.ok, false);
    assert.equal(direct.code, 'timeout', JSON.stringify(direct));
    const via = `http://${r2.lanIp}:${ROUTER_PROXY_PORT}`;
    const before = proxy.connects().length;
    const ws = await wsDial(b, `wss://${tls.ip}:${TLS_PORT}/`, { HTTPS_PROXY: via, WSPROBE_CA: nginx.cert.certFile });
    assert.ok(ws.ok, `through the proxy: ${JSON.stringify(ws)}`);
    assert.deepEqual(proxy.connects().slice(before), [`${tls.ip}:${TLS_PORT}`]);
    assert.match(nginx.accessLog(), /"GET \/ HTTP\/1\.1" 101 /);
    const refused = await wsDial(b, `ws://${web.ip}:${OTHER_TCP}/`, { http_proxy: via });
    assert.equal(refused.code, 'proxy-refused', JSON.stringify(refused));
    assert.match(refused.message ?? '', /HTTP 403/);
    // The same host on an ordinary NAT: what failed above was the router's rules.
    await net.setNat(r2, 'port-restricted');
    assert.equal(await udp(b, web.ip), true, 'UDP answered on port-restricted');
    assert.equal(await tcp(b, web.ip, OTHER_TCP), true, 'TCP answered on port-restricted');
  });
});

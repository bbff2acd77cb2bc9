// Two proxy forms no other test covers, with real parts: an `https://` proxy URL (the client
// speaks TLS to the proxy itself: socat's OPENSSL-LISTEN in front of a real tinyproxy, with a
// throwaway certificate) and an IPv6 proxy (tinyproxy listening on ::1, `http://[::1]:PORT`).
// Each dial is test/micronet/wsprobe.ts in its own process, so that the proxy variables and
// NODE_EXTRA_CA_CERTS (how a daemon trusts a private CA: docs/NODE.md) are read as a daemon
// reads them, at start. Everything listens on loopback.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tinyproxy, tinyproxyMissing } from '../micronet/tinyproxy.js';
import { makeTestCert, type TestCert } from '../micronet/tlscert.js';
import { freePort } from './freeport.js';

const PROBE = fileURLToPath(new URL('../micronet/wsprobe.js', import.meta.url));
const socatMissing = spawnSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' }).status !== 0 ? 'socat is not installed' : null;
const ipv6Missing = (() => {
  const r = spawnSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()})"], { stdio: 'ignore' });
  return r.status === 0 ? null : 'no IPv6 loopback';
})();
const skip = tinyproxyMissing() ?? socatMissing ?? false;

let dir: string;
let cert: TestCert;
const children: ChildProcess[] = [];

/** Starts `cmd` and resolves once it prints `ready` (a probe's echo server) or `port` accepts TCP. */
async function start(cmd: string, args: string[], ready: { stdout?: RegExp; port?: { host: string; port: number } }): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const deadline = Date.now() + 5000;
  for (;;) {
    if (ready.stdout?.test(out)) return child;
    if (ready.port && await new Promise<boolean>((r) => {
      const s = net.connect(ready.port!.port, ready.port!.host, () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    })) return child;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${cmd} did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ProbeResult { ok: boolean; ms: number; code?: string; message?: string }

/** Dials `url` from a fresh process with exactly `env` (plus PATH), and reads its one JSON line. */
function probe(url: string, env: Record<string, string>): ProbeResult {
  const r = spawnSync(process.execPath, [PROBE, 'dial', url, '4000'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 15_000 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`probe printed no result (status ${r.status}): ${r.stdout}${r.stderr}`);
  }
}

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'whpxtls-'));
  cert = makeTestCert(dir, ['127.0.0.1']);
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('an https:// proxy: TLS to the proxy (trusted through NODE_EXTRA_CA_CERTS), then CONNECT; an untrusted proxy certificate is refused and said', { skip }, async () => {
  const echoPort = await freePort();
  await start(process.execPath, [PROBE, 'serve', '127.0.0.1', String(echoPort)], { stdout: /listening/ });
  const tpDir = join(dir, 'tp4');
  mkdirSync(tpDir);
  const proxy = await Tinyproxy.start({ listen: '127.0.0.1', port: await freePort(), allow: ['127.0.0.1'], connectPorts: [echoPort], dir: tpDir });
  try {
    const tlsPort = await freePort();
    await start('socat', [`OPENSSL-LISTEN:${tlsPort},bind=127.0.0.1,reuseaddr,fork,cert=${cert.certFile},key=${cert.keyFile},verify=0`, `TCP:127.0.0.1:${proxy.port}`], { port: { host: '127.0.0.1', port: tlsPort } });
    const url = `ws://127.0.0.1:${echoPort}/`;
    const proxyUrl = `https://127.0.0.1:${tlsPort}`;

    const ok = probe(url, { http_proxy: proxyUrl, NODE_EXTRA_CA_CERTS: cert.certFile });
    assert.ok(ok.ok, `dial through the https:// proxy: ${JSON.stringify(ok)}`);
    assert.equal(proxy.connects().length, 1, `tinyproxy saw the CONNECT through TLS: ${proxy.log().slice(-1000)}`);

    // The same proxy without its CA: the TLS handshake with the proxy fails, nothing is tunnelled,
    // and the error names the proxy (not the target) and why.
    const bad = probe(url, { http_proxy: proxyUrl });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'proxy-unreachable', JSON.stringify(bad));
    assert.match(bad.message ?? '', new RegExp(`cannot reach proxy https://127\\.0\\.0\\.1:${tlsPort}: (SELF_SIGNED|DEPTH_ZERO|UNABLE_TO)`), JSON.stringify(bad));
    assert.equal(proxy.connects().length, 1, 'no CONNECT came through without trust');
  } finally {
    await proxy.stop();
  }
});

test('an IPv6 proxy: http://[::1]:PORT, CONNECT to an IPv6 target ([::1]); credentials in the URL are not printed', { skip: skip || ipv6Missing || false }, async () => {
  const echoPort = await freePort();
  await start(process.execPath, [PROBE, 'serve', '::1', String(echoPort)], { stdout: /listening/ });
  const tpDir = join(dir, 'tp6');
  mkdirSync(tpDir);
  const port = await freePort();
  const proxy = await Tinyproxy.start({ listen: '::1', port, allow: ['::1'], connectPorts: [echoPort], dir: tpDir, basicAuth: { user: 'wh', password: 's3cret-pw' } });
  try {
    const ok = probe(`ws://[::1]:${echoPort}/`, { http_proxy: `http://wh:s3cret-pw@[::1]:${port}` });
    assert.ok(ok.ok, `dial through the IPv6 proxy: ${JSON.stringify(ok)}`);
    assert.equal(proxy.connects().length, 1, proxy.log().slice(-1000));
    assert.match(proxy.connects()[0]!, /\[?::1\]?/);
    // Wrong password: refused (tinyproxy answers 401, others 407), said with the proxy's address and without the password.
    const bad = probe(`ws://[::1]:${echoPort}/`, { http_proxy: `http://wh:wrong-pw@[::1]:${port}` });
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'proxy-refused', JSON.stringify(bad));
    assert.match(bad.message ?? '', /\[::1\].*HTTP 40[17] \(proxy authentication/);
    assert.doesNotMatch(bad.message ?? '', /wrong-pw|s3cret/);
  } finally {
    await proxy.stop();
  }
});

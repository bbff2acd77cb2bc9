// `wh metrics` and the `metrics HOST:PORT` endpoint end to end, as root in micronet namespaces
// with real wireguard-go: two public nodes and a boot node; `wh metrics IFACE` and curl of
// http://127.0.0.1:PORT/metrics inside a node's namespace, both read by the real Prometheus
// parser (python3-prometheus-client), peers and bytes as `wh show` sees them; `wh reload`
// moving the endpoint, refusing a bad line (file, line, reason) and turning it off; `wh down`
// closing it. Every wait is bounded; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WH, WhNet, type WhNode } from './whnet.js';
import { parseProm, parserSkip, type PromFamily } from '../unit/promparse.js';
import { until } from './until.js';

const sample = (families: PromFamily[], family: string, labels: Record<string, string>): number | null | undefined =>
  families.find((f) => f.name === family)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

/** curl of the endpoint in the node's namespace: the response's head and body apart. (curl
 *  7.88's `-D /dev/stderr` crashes when stderr is a pipe, so `-D -` and a split.) */
async function curl(w: WhNet, n: WhNode, port: number): Promise<{ code: number; head: string; body: string; stderr: string }> {
  const r = await w.net.exec(n.host, ['curl', '-sS', '--max-time', '10', '-D', '-', `http://127.0.0.1:${port}/metrics`], { timeoutMs: 15_000 });
  const cut = r.stdout.indexOf('\r\n\r\n');
  return { code: r.code ?? -1, head: cut >= 0 ? r.stdout.slice(0, cut) : '', body: cut >= 0 ? r.stdout.slice(cut + 4) : '', stderr: r.stderr };
}

test('wh metrics and the metrics endpoint: parsed by the real parser, moved and stopped by wh reload, closed by wh down', { timeout: 240_000, skip: parserSkip() }, async () => {
  const w = await WhNet.create(`met${process.pid % 10000}`);
  try {
    await w.addPublicNode('boot', 'boot');
    const a = await w.addPublicNode('a');
    const b = await w.addPublicNode('b');
    w.writeConfigs(['a', 'b']);
    fs.appendFileSync(w.configFile, 'metrics 127.0.0.1:9586\n');
    const metricsLine = fs.readFileSync(w.configFile, 'utf8').split('\n').length - 1;
    // A port in use stops wh up, naming the file, the line and the reason; then b starts.
    const blocker = w.net.spawn(b.host, process.execPath, ['-e', "require('net').createServer().listen(9586, '127.0.0.1', () => console.log('listening'))"], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((res) => blocker.stdout!.once('data', res));
    for (const n of ['boot', 'a']) await w.up(n, 30_000);
    await assert.rejects(w.up('b', 30_000), (e: Error) => e.message.includes(`${w.configFile}:${metricsLine}: metrics: cannot listen on 127.0.0.1:9586: the port is in use`));
    blocker.kill('SIGKILL');
    await new Promise((res) => blocker.once('exit', res));
    await w.up('b', 30_000);
    assert.ok(await w.pingUntil('a', b.overlayIp!, 40_000) >= 0, 'a -> b over the overlay');

    // The CLI: b direct, with the bytes the ping moved.
    let shown = '';
    const cli = await until('wh metrics shows b direct', 30_000, async () => {
      const r = await w.wh(a, ['metrics', a.iface]);
      assert.equal(r.code, 0, r.stderr);
      shown = r.stdout;
      const f = parseProm(r.stdout);
      return sample(f, 'wirehub_peer_info', { peer: 'b', path: 'direct' }) === 1 ? f : undefined;
    });
    process.stdout.write(`wh metrics ${a.iface} (its peer lines):\n${shown.split('\n').filter((l) => l.includes('peer="b"')).join('\n')}\n`);
    assert.equal(sample(cli, 'wirehub_peers', { interface: a.iface, path: 'direct' }), 1);
    assert.ok((sample(cli, 'wirehub_peer_receive_bytes', { peer: 'b' }) ?? 0) > 0, 'bytes received from b');
    assert.ok((sample(cli, 'wirehub_peer_last_handshake_age_seconds', { peer: 'b' }) ?? -1) >= 0, 'a handshake with b');
    assert.ok((sample(cli, 'wirehub_dht_nodes', { interface: a.iface }) ?? 0) >= 1, 'the DHT knows nodes');
    // Without an argument: every running node (the control sockets of all namespaces share
    // /run), each sample labelled with its interface, one valid text.
    const every = await w.wh(a, ['metrics'], 60_000);
    assert.equal(every.code, 0, every.stderr);
    const all = parseProm(every.stdout);
    for (const n of [a, b, w.nodes.get('boot')!]) assert.equal(sample(all, 'wirehub_node_info', { interface: n.iface, network: w.networkName }), 1, n.name);

    // Shell completion of a peer name, from the real daemon: bash's function as TAB calls it.
    const bin = fs.mkdtempSync(path.join(w.dir, 'bin-'));
    fs.symlinkSync(WH, path.join(bin, 'wh'));
    const tab = await w.net.exec(a.host, ['bash', '-c', `export PATH=${bin}:$PATH; source <(wh completion bash); COMP_WORDS=(wh ping -i ${a.iface} ''); COMP_CWORD=4; _wh; printf '%s\\n' "\${COMPREPLY[@]}"`], { timeoutMs: 20_000 });
    assert.equal(tab.code, 0, tab.stderr);
    assert.deepEqual(tab.stdout.trim().split('\n'), ['b'], 'wh ping -i IFACE <TAB>: the peer of that node (without -i, every node of the machine: /run is shared)');

    // The endpoint, inside a's namespace: the same families; it says the format's content type.
    const r = await curl(w, a, 9586);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.head, /^HTTP\/1\.1 200 OK\r?$/mi);
    assert.match(r.head, /^content-type: text\/plain; version=0\.0\.4; charset=utf-8\r?$/mi);
    const served = parseProm(r.body);
    process.stdout.write(`GET /metrics: ${r.body.length} bytes, ${served.length} families, ${served.reduce((s, f) => s + f.samples.length, 0)} samples\n`);
    assert.equal(sample(served, 'wirehub_peer_info', { interface: a.iface, peer: 'b' }), 1);
    assert.deepEqual(served.map((f) => f.name).sort(), cli.map((f) => f.name).sort());
    assert.ok(!r.body.includes(a.secret) && !r.body.includes(b.secret), 'no private key is served');

    // wh reload moves it; then a bad line is refused, naming file and line; then it is turned off.
    const text = fs.readFileSync(w.configFile, 'utf8');
    fs.writeFileSync(w.configFile, text.replace('metrics 127.0.0.1:9586', 'metrics 127.0.0.1:9587'));
    const moved = await w.wh(a, ['reload', a.iface]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal((await curl(w, a, 9587)).code, 0);
    assert.notEqual((await curl(w, a, 9586)).code, 0, 'the old port is closed');
    fs.writeFileSync(w.configFile, text.replace('metrics 127.0.0.1:9586', 'metrics localhost:9587'));
    const bad = await w.wh(a, ['reload', a.iface]);
    assert.equal(bad.code, 1);
    assert.ok(bad.stderr.includes(`${w.configFile}:${metricsLine}: "metrics" takes an IP address, not a hostname`), bad.stderr);
    assert.equal((await curl(w, a, 9587)).code, 0, 'a refused reload keeps the endpoint');
    fs.writeFileSync(w.configFile, text.replace('metrics 127.0.0.1:9586\n', ''));
    const off = await w.wh(a, ['reload', a.iface]);
    assert.equal(off.code, 0, off.stderr);
    assert.notEqual((await curl(w, a, 9587)).code, 0, 'turned off');

    // b still serves (its daemon read the first file); wh down closes it.
    assert.equal((await curl(w, b, 9586)).code, 0);
    const down = await w.down('b');
    assert.equal(down.code, 0, down.stderr);
    assert.notEqual((await curl(w, b, 9586)).code, 0, 'closed by wh down');
  } finally {
    await w.destroy();
  }
});

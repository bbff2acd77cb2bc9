// The WebSocket transport end to end, as root in micronet namespaces with real wireguard-go: a
// public boot node with `listen ws://0.0.0.0:8080`, and a node behind a router whose nftables
// drop every UDP datagram it would forward (only TCP gets out), whose only boot line is
// `boot KEY ws://BOOT:8080/`. The node joins the DHT over the WebSocket; `wh show` (text and
// --json) says the transport is ws and the boot node answered; the router's counter shows a
// UDP datagram from the node really is dropped. Then `wh reload` (the real CLI) on both sides:
// the boot node's listener to a port in use is refused (exit 1, running state kept, the link
// stays open), to a free port it moves; the node's boot line to the new URL re-creates its
// link and it joins again, without a restart. Every wait is bounded; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { until } from './until.js';
import { WhNet } from './whnet.js';

const WS_PORT = 8080;

test('behind a router that drops all UDP, a node joins the DHT over WebSocket and wh show says ws', { timeout: 180_000 }, async () => {
  const w = await WhNet.create(`wsb${process.pid % 10000}`);
  try {
    const boot = await w.addPublicNode('boot', 'boot');
    const a = await w.addNode('a', { nat: 'port-restricted' });
    w.writeConfigs(['a']);
    fs.appendFileSync(w.bootConfigFile, `listen ws://0.0.0.0:${WS_PORT}\n`);
    const url = `ws://${boot.host.publicIp}:${WS_PORT}/`;
    const conf = fs.readFileSync(w.configFile, 'utf8').replace(/^boot (\S+) \S+$/m, `boot $1 ${url}`);
    assert.ok(conf.includes(url));
    fs.writeFileSync(w.configFile, conf);
    const router = a.host.router!;
    const rules = 'table inet wsblock {\nchain blockudp {\ntype filter hook forward priority -300; policy accept;\nmeta l4proto udp counter drop\n}\n}\n';
    const nft = await w.net.exec(router, ['nft', '-f', '-'], { input: rules });
    assert.equal(nft.code, 0, nft.stderr);

    await w.up('boot', 30_000);
    await w.up('a', 30_000);
    const t0 = Date.now();
    const shown = await until('a joins over WebSocket', 30_000, async () => {
      const s = await w.show('a');
      const link = s.transports?.find((t) => t.kind === 'ws');
      return s.boots?.[0]?.state === 'answered' && link?.state === 'open' && s.dhtNodes >= 1 ? s : undefined;
    });
    process.stdout.write(`# joined over WebSocket in ${Date.now() - t0} ms after wh up; ${shown.dhtNodes} DHT node(s) known\n`);

    const text = await w.wh(a, ['show', a.iface]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`transports: .*ws link to ${url.replace(/[.]/g, '\\.')} \\(open\\)`));
    const json = await w.wh(a, ['show', a.iface, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const iface = (JSON.parse(json.stdout) as { interfaces: { transports: { kind: string; role: string; address: string; state: string | null }[] }[] }).interfaces[0]!;
    assert.deepEqual(iface.transports.find((t) => t.kind === 'ws'), { kind: 'ws', role: 'client', address: url, state: 'open', connections: null });

    const bootShown = await w.show('boot');
    assert.equal(bootShown.transports?.find((t) => t.role === 'server')?.connections, 1);
    // UDP really is blocked: a datagram from a to the boot node's UDP port is dropped (counted).
    const sent = await w.net.exec(a.host, [process.execPath, '-e',
      `const s = require('dgram').createSocket('udp4'); s.send('x', 62096, '${boot.host.publicIp}', () => s.close())`]);
    assert.equal(sent.code, 0, sent.stderr);
    const counted = await w.net.exec(router, ['nft', 'list', 'table', 'inet', 'wsblock']);
    const packets = Number(/counter packets (\d+)/.exec(counted.stdout)?.[1] ?? 0);
    process.stdout.write(`# the router dropped ${packets} UDP datagrams\n`);
    assert.ok(packets > 0, counted.stdout);

    // wh reload applies listen and ws:// boot lines. A port in use: refused, state kept.
    const squatter = w.net.spawn(boot.host, process.execPath, ['-e', `require('net').createServer().listen(${WS_PORT + 2}, '0.0.0.0', () => console.log('ready'))`]);
    await new Promise<void>((resolve, reject) => { squatter.stdout!.once('data', () => resolve()); squatter.once('exit', () => reject(new Error('the squatter exited'))); });
    const bootText = fs.readFileSync(w.bootConfigFile, 'utf8');
    const listenLine = bootText.split('\n').findIndex((l) => l.startsWith('listen ')) + 1;
    fs.writeFileSync(w.bootConfigFile, bootText.replace(`listen ws://0.0.0.0:${WS_PORT}`, `listen ws://0.0.0.0:${WS_PORT + 2}`));
    const refused = await w.wh(boot, ['reload', boot.iface]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, new RegExp(`refused, running state kept: .*public\\.conf:${listenLine}: listen: cannot listen on 0\\.0\\.0\\.0:${WS_PORT + 2}: the port is in use`));
    assert.equal((await w.show('boot')).transports?.find((t) => t.role === 'server')?.connections, 1, 'the link stayed');
    squatter.kill();
    // A free port: the listener moves (the node's link to the old one is cut).
    fs.writeFileSync(w.bootConfigFile, bootText.replace(`listen ws://0.0.0.0:${WS_PORT}`, `listen ws://0.0.0.0:${WS_PORT + 1}`));
    const moved = await w.wh(boot, ['reload', boot.iface]);
    assert.equal(moved.code, 0, moved.stderr);
    assert.match(moved.stdout, new RegExp(`WebSocket: listen ws://0\\.0\\.0\\.0:${WS_PORT}/ closed, ws://0\\.0\\.0\\.0:${WS_PORT + 1}/ opened`));
    const url2 = `ws://${boot.host.publicIp}:${WS_PORT + 1}/`;
    fs.writeFileSync(w.configFile, conf.replace(url, url2));
    const t1 = Date.now();
    const relinked = await w.wh(a, ['reload', a.iface]);
    assert.equal(relinked.code, 0, relinked.stderr);
    assert.match(relinked.stdout, new RegExp(`link ${url.replace(/[.]/g, '\\.')} closed, link ${url2.replace(/[.]/g, '\\.')} opened`));
    await until('a joins again over the new link', 15_000, async () => {
      const s = await w.show('a');
      const links = s.transports?.filter((t) => t.kind === 'ws') ?? [];
      return links.length === 1 && links[0]!.address === url2 && links[0]!.state === 'open' && s.boots?.[0]?.state === 'answered' ? s : undefined;
    });
    process.stdout.write(`# after wh reload of both sides: joined over ${url2} in ${Date.now() - t1} ms\n`);
  } finally {
    await w.destroy();
  }
});

// Relaying WireGuard over WebSocket end to end (docs/PROTOCOL.md section 12.2, WS_TO/WS_FROM),
// as root in micronet namespaces with real wireguard-go: a public boot node with
// `listen ws://0.0.0.0:8080`; a node `a` behind a router whose nftables drop every UDP datagram
// it would forward, whose only boot line is `boot KEY ws://BOOT:8080/`; a public node `p` and a
// node `c` behind a port-restricted NAT, both on UDP. `a` pings `p` and `c` over the overlay
// within 15 s each, and both ends say the path is a relay through the boot node, `a`'s over
// WebSocket (`relayForwarding: websocket`); the boot node's counters show WS_TO and WS_FROM
// frames were relayed. Every wait is bounded; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { until } from './until.js';
import { WhNet } from './whnet.js';

const WS_PORT = 8080;

test('a node whose UDP is blocked reaches a public and a NATed peer, relayed over WebSocket', { timeout: 240_000 }, async () => {
  const w = await WhNet.create(`wsr${process.pid % 10000}`);
  try {
    const boot = await w.addPublicNode('boot', 'boot');
    const a = await w.addNode('a', { nat: 'port-restricted' });
    await w.addPublicNode('p');
    await w.addNode('c', { nat: 'port-restricted' });
    w.writeConfigs(['a', 'p', 'c']);
    fs.appendFileSync(w.bootConfigFile, `listen ws://0.0.0.0:${WS_PORT}\n`);
    const url = `ws://${boot.host.publicIp}:${WS_PORT}/`;
    // Only a's network file has the ws boot line; p and c use UDP.
    const aConfig = path.join(w.dir, 'a.conf');
    const conf = fs.readFileSync(w.configFile, 'utf8').replace(/^boot (\S+) \S+$/m, `boot $1 ${url}`);
    assert.ok(conf.includes(url));
    fs.writeFileSync(aConfig, conf);
    const rules = 'table inet wsblock {\nchain blockudp {\ntype filter hook forward priority -300; policy accept;\nmeta l4proto udp counter drop\n}\n}\n';
    const nft = await w.net.exec(a.host.router!, ['nft', '-f', '-'], { input: rules });
    assert.equal(nft.code, 0, nft.stderr);

    await w.up('boot', 30_000);
    await w.up('p', 30_000);
    await w.up('c', 30_000);
    await w.up('a', 30_000, { config: aConfig });
    await until('a joins over WebSocket', 30_000, async () => {
      const s = await w.show('a');
      return s.boots?.[0]?.state === 'answered' && s.transports?.find((t) => t.kind === 'ws')?.state === 'open' ? s : undefined;
    });
    for (const peer of ['p', 'c']) {
      const ms = await w.pingUntil('a', w.nodes.get(peer)!.overlayIp!, 15_000);
      process.stdout.write(`# a -> ${peer}: first overlay ping after ${ms} ms\n`);
      assert.ok(ms >= 0, `a -> ${peer} within 15 s:\n${w.nodes.get('a')!.log.slice(-3000)}`);
      assert.ok(await w.ping(peer, w.nodes.get('a')!.overlayIp!), `${peer} -> a`);
      // (A relayed path is shown once the peer was heard through it: the next WireGuard sample.)
      const ap = await until(`a's path to ${peer} shown relayed`, 5000, async () => {
        const x = (await w.show('a')).peers.find((y) => y.key === w.nodes.get(peer)!.publicKey)!;
        return x.path === 'relay' ? x : undefined;
      });
      assert.equal(ap.relay, boot.publicKey);
      assert.equal(ap.relayForwarding, 'websocket', `a's path to ${peer} is relay over WebSocket`);
      assert.match(ap.wgEndpoint ?? '', /^127\.0\.0\.1:/, 'WireGuard sends to the daemon loopback endpoint');
      const pp = await until(`${peer}'s path to a shown relayed`, 5000, async () => {
        const x = (await w.show(peer)).peers.find((y) => y.key === a.publicKey)!;
        return x.path === 'relay' ? x : undefined;
      });
      assert.notEqual(pp.relayForwarding, 'websocket', `${peer} reaches the relay over UDP`);
      const text = await w.wh(a, ['show', a.iface]);
      assert.match(text.stdout, /relay over WebSocket/);
    }
    const json = await w.wh(a, ['show', a.iface, '--json']);
    const peers = (JSON.parse(json.stdout) as { interfaces: { peers: { relayForwarding: string | null }[] }[] }).interfaces[0]!.peers;
    assert.deepEqual(peers.map((x) => x.relayForwarding), ['websocket', 'websocket']);
    const server = (await w.show('boot', true)).transports?.find((t) => t.role === 'server');
    const counters = server?.counters ?? {};
    process.stdout.write(`# boot's WebSocket server: ${JSON.stringify(counters)}\n`);
    assert.ok((counters['ws-to-rx'] ?? 0) > 0 && (counters['ws-from-tx'] ?? 0) > 0, JSON.stringify(counters));
    assert.equal(counters['ws-unrelayed'] ?? 0, 0);
  } finally {
    await w.destroy();
  }
});

// The UDP/WebSocket fallback end to end (docs/NAT.md "Falling back to WebSocket"), as root in
// micronet namespaces with real wireguard-go: a public boot node with `listen ws://0.0.0.0:8080`
// and, in the one shared network file, two boot lines for its key (its UDP address and its
// ws:// URL); a node `a` behind a port-restricted router whose nftables drop every UDP datagram
// it would forward, and a node `c` behind a port-restricted NAT. With UDP blocked from the
// start, `a` falls back to WebSocket by itself and pings `c` relayed over WebSocket; UDP
// unblocked, `a` is back on UDP (WebSocket link closed, path not over WebSocket) within 30 s,
// without a restart; blocked again, back on WebSocket within 15 s. `wh netcheck` says UDP is
// blocked and WebSocket would be used, then that UDP works. Every wait is bounded;
// everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { until } from './until.js';
import { WhNet } from './whnet.js';
import type { ShowResult } from '../../src/control/show.js';

const WS_PORT = 8080;
const BLOCK = 'table inet wsblock {\nchain blockudp {\ntype filter hook forward priority -300; policy accept;\nmeta l4proto udp counter drop\n}\n}\n';

test('UDP blocked: falls back to WebSocket by itself; unblocked: back to UDP within 30 s; blocked again: WebSocket within 15 s', { timeout: 300_000 }, async (t) => {
  const w = await WhNet.create(`wsf${process.pid % 10000}`);
  try {
    const boot = await w.addPublicNode('boot', 'boot');
    const a = await w.addNode('a', { nat: 'port-restricted' });
    const c = await w.addNode('c', { nat: 'port-restricted' });
    w.writeConfigs(['a', 'c']);
    fs.appendFileSync(w.bootConfigFile, `listen ws://0.0.0.0:${WS_PORT}\n`);
    const url = `ws://${boot.host.publicIp}:${WS_PORT}/`;
    const conf = fs.readFileSync(w.configFile, 'utf8').replace(/^(boot (\S+) \S+)$/m, `$1\nboot $2 ${url}`);
    assert.match(conf, new RegExp(`boot \\S+ ${boot.host.publicIp}:62096\\nboot \\S+ ${url}`));
    fs.writeFileSync(w.configFile, conf);
    const router = a.host.router!;
    const block = async () => { const r = await w.net.exec(router, ['nft', '-f', '-'], { input: BLOCK }); assert.equal(r.code, 0, r.stderr); };
    const unblock = async () => { const r = await w.net.exec(router, ['nft', 'delete', 'table', 'inet', 'wsblock']); assert.equal(r.code, 0, r.stderr); };
    const wsLink = (s: ShowResult) => s.transports?.find((x) => x.kind === 'ws' && x.role === 'client');
    const toC = async () => (await w.show('a')).peers.find((p) => p.key === c.publicKey)!;
    const pings = () => w.ping('a', c.overlayIp!);

    await block();
    await w.up('boot', 30_000);
    await w.up('c', 30_000);
    const t0 = Date.now();
    await w.up('a', 30_000);
    await until('a falls back to WebSocket', 30_000, async () => (wsLink(await w.show('a'))?.state === 'open' ? true : undefined));
    t.diagnostic(`fallback: ws link open ${Date.now() - t0} ms after wh up`);
    await until('a pings c relayed over WebSocket', 30_000, async () => ((await pings()) && (await toC()).relayForwarding === 'websocket' ? true : undefined));
    t.diagnostic(`first ping relayed over WebSocket ${Date.now() - t0} ms after wh up`);
    const netcheck = async () => {
      const r = await w.wh(a, ['netcheck', w.configFile, '--json'], 30_000);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { udp: string; transport: string; via: string | null; wsBoots: { url: string; rttSeconds: number | null }[] };
    };
    const nb = await netcheck();
    assert.deepEqual({ udp: nb.udp, transport: nb.transport, via: nb.via }, { udp: 'blocked', transport: 'ws', via: url }, 'wh netcheck: UDP blocked, WebSocket would be used');
    assert.ok(nb.wsBoots[0]!.rttSeconds !== null);

    await unblock();
    const t1 = Date.now();
    const back = await until('back on UDP', 30_000, async () => {
      const p = await toC();
      return wsLink(await w.show('a'))?.state === 'closed' && p.path !== 'searching' && p.relayForwarding !== 'websocket' && (await pings()) ? p : undefined;
    });
    t.diagnostic(`UDP unblocked: back on UDP (${back.path}${back.relayForwarding ? `, ${back.relayForwarding}` : ''}) in ${Date.now() - t1} ms`);
    const nu = await netcheck();
    assert.deepEqual({ udp: nu.udp, transport: nu.transport }, { udp: 'works', transport: 'udp' }, 'wh netcheck: UDP works');

    await block();
    const t2 = Date.now();
    let diagOn = process.env.WSF_DIAG === '1';
    const diag = (async () => {
      while (diagOn) {
        for (const [n, other] of [['a', c], ['c', a]] as const) {
          const s = await w.show(n).catch(() => undefined);
          const p = s?.peers.find((x) => x.key === other.publicKey);
          const wg = (await w.net.exec(w.nodes.get(n)!.host, ['wg', 'show', w.nodes.get(n)!.iface, 'dump']).catch(() => undefined))?.stdout.trim().split('\n').slice(1).map((l) => l.split('\t').slice(2, 7).join(' '));
          process.stdout.write(`# DIAG +${Date.now() - t2} ${n}: ${JSON.stringify(p)} ws=${s && wsLink(s)?.state} wg=${JSON.stringify(wg)}\n`);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    t.after(() => { diagOn = false; });
    await until('back on WebSocket', 40_000, async () => {
      const p = await toC();
      return wsLink(await w.show('a'))?.state === 'open' && p.relayForwarding === 'websocket' && (await pings()) ? true : undefined;
    });
    const again = Date.now() - t2;
    diagOn = false;
    await diag;
    t.diagnostic(`UDP blocked again: relayed over WebSocket in ${again} ms`);
    assert.ok(again <= 15_000, `back on WebSocket in ${again} ms`);
  } catch (e) {
    for (const n of ['a', 'c', 'boot']) {
      const sh = await w.show(n, true).catch(() => undefined);
      const pick = (c: Record<string, number> | undefined) => Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => /^(relay|punch|intro|ws-)/.test(k)));
      process.stdout.write(`# ${n}'s counters: ${JSON.stringify({ ...pick(sh?.dht?.counters), ...pick(sh?.dht?.rpc) })} transports: ${JSON.stringify(sh?.transports?.map((t) => pick(t.counters)))}\n`);
    }
    for (const n of ['a', 'c']) process.stdout.write(`# ${n}'s log:\n${w.nodes.get(n)?.log.slice(-5000).replace(/^/gm, '# ')}\n`);
    throw e;
  } finally {
    await w.destroy();
  }
});

// `wh ping` and `wh netcheck` in micronet, real WireGuard: a direct peer (port-restricted on both
// sides) and a relayed one (port-restricted <-> symmetric, which cannot punch), each pinged
// through the tunnel with its path printed; `--until-direct`'s exit codes; `wh netcheck` behind
// a full-cone router running miniupnpd, a port-restricted and a symmetric router, and on a
// public host. Every wait is bounded; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WhNet } from './whnet.js';
import { processesMatching } from './traces.js';
import { validate } from '../unit/jsonschema.js';
import { ROOT } from '../unit/runwh.js';

const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs', 'wh-json.schema.json'), 'utf8')) as Record<string, unknown>;

const POLL = 250;

async function waitPath(w: WhNet, from: string, to: string, want: string, ms: number): Promise<string> {
  const t0 = Date.now();
  let path = '';
  while (Date.now() - t0 < ms) {
    path = (await w.show(from)).peers.find((p) => p.name === to)?.path ?? '';
    if (path === want) return path;
    await new Promise((r) => setTimeout(r, POLL));
  }
  return path;
}

test('wh ping: a direct peer via its endpoint, a relayed peer via the relay; --until-direct exit codes', { timeout: 150_000 }, async () => {
  const w = await WhNet.create('wping');
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    await w.addNode('a', { nat: 'port-restricted' });
    const b = await w.addNode('b', { nat: 'port-restricted' });
    await w.addNode('c', { nat: 'symmetric' });
    w.writeConfigs(['a', 'b', 'c']);
    for (const n of ['boot1', 'boot2', 'a', 'b', 'c']) await w.up(n);
    const a = w.nodes.get('a')!;
    assert.ok(await w.pingUntil('a', b.overlayIp!, 20_000) >= 0, 'a -> b over the overlay');
    assert.ok(await w.pingUntil('a', w.nodes.get('c')!.overlayIp!, 30_000) >= 0, 'a -> c over the overlay');
    assert.equal(await waitPath(w, 'a', 'b', 'direct', 10_000), 'direct');
    assert.equal(await waitPath(w, 'a', 'c', 'relay', 10_000), 'relay');
    const shown = await w.show('a');
    const relayKey = shown.peers.find((p) => p.name === 'c')!.relay!;
    const relayHost = [...w.nodes.values()].find((n) => n.publicKey === relayKey)!.host.publicIp;

    const direct = await w.wh(a, ['ping', 'b', '-i', a.iface]);
    process.stdout.write(`wh ping b: ${direct.stdout}`);
    assert.equal(direct.code, 0, direct.stderr);
    const lines = direct.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'stops at the first pong');
    assert.match(lines[0]!, new RegExp(`^pong from b \\(10\\.77\\.0\\.2\\) via ${b.host.router!.ip.replaceAll('.', '\\.')}:\\d+ in [\\d.]+ms$`));

    const relayed = await w.wh(a, ['ping', 'c', '-i', a.iface, '-c', '3']);
    process.stdout.write(`wh ping c -c 3: ${relayed.stdout}`);
    assert.equal(relayed.code, 0, relayed.stderr);
    const rl = relayed.stdout.trim().split('\n');
    assert.equal(rl.length, 3, '-c 3 sends three');
    for (const l of rl) assert.match(l, new RegExp(`^pong from c \\(10\\.77\\.0\\.3\\) via relay \\S+ at ${relayHost!.replaceAll('.', '\\.')}:62096 \\((kernel|daemon) forwarding\\) in [\\d.]+ms$`));
    assert.ok(rl[0]!.includes(relayKey), 'names the relay in use');

    const untilDirectRelay = await w.wh(a, ['ping', 'c', '-i', a.iface, '--until-direct', '-c', '2']);
    assert.equal(untilDirectRelay.code, 1, untilDirectRelay.stdout);
    assert.match(untilDirectRelay.stderr, /no direct path after 2 pings \(2 answered\)/);
    const untilDirect = await w.wh(a, ['ping', '10.77.0.2', '-i', a.iface, '--until-direct']);
    assert.equal(untilDirect.code, 0, untilDirect.stderr);
    assert.match(untilDirect.stdout, /^pong from b .* via [\d.]+:\d+ in/);

    const unknown = await w.wh(a, ['ping', 'nobody', '-i', a.iface]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no peer is named "nobody"/);
    // The data plane is recreated under the tunnel ping socket (bound to the overlay address,
    // which goes and comes back with the interface): it still answers.
    const wgGo = processesMatching((cmd) => /^(\S*\/)?wireguard-go -f /.test(cmd) && cmd.includes(b.iface));
    assert.equal(wgGo.length, 1, wgGo.join('; '));
    process.kill(Number(wgGo[0]!.split(' ')[0]), 'SIGKILL');
    assert.ok(await w.pingUntil('a', b.overlayIp!, 15_000) >= 0, 'the overlay is back');
    const afterRestart = await w.wh(a, ['ping', 'b', '-i', a.iface, '--timeout', '2']);
    assert.equal(afterRestart.code, 0, `${afterRestart.stdout}${afterRestart.stderr}`);
    // c pings a back: the relay carries the answer both ways.
    const back = await w.wh(w.nodes.get('c')!, ['ping', 'a', '-i', w.nodes.get('c')!.iface]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /^pong from a \(10\.77\.0\.1\) via relay /);
  } finally {
    await w.destroy();
  }
});

test('wh ping through a relay whose daemon forwards (its kernel path blocked): says daemon forwarding', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('wpingd');
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    await w.addNode('a', { nat: 'port-restricted' });
    await w.addNode('c', { nat: 'symmetric' });
    w.writeConfigs(['a', 'c']);
    // The relays' session ports never hear a relay-bind (new flows to any port but the DHT's
    // are dropped; answers to their own checks still come in), so they forward in the daemons.
    for (const n of ['boot1', 'boot2']) {
      const host = w.nodes.get(n)!.host;
      const rules = 'table inet pcblock {\nchain in {\ntype filter hook input priority -300; policy accept;\nudp dport != 62096 ct state new drop\n}\n}\n';
      const r = await w.net.exec(host, ['nft', '-f', '-'], { input: rules });
      assert.equal(r.code, 0, r.stderr);
    }
    for (const n of ['boot1', 'boot2', 'a', 'c']) await w.up(n);
    const a = w.nodes.get('a')!;
    assert.ok(await w.pingUntil('a', w.nodes.get('c')!.overlayIp!, 30_000) >= 0, 'a -> c over the overlay');
    assert.equal(await waitPath(w, 'a', 'c', 'relay', 10_000), 'relay');
    const r = await w.wh(a, ['ping', 'c', '-i', a.iface, '-c', '2']);
    process.stdout.write(`wh ping c (daemon relay): ${r.stdout}`);
    assert.equal(r.code, 0, r.stderr);
    for (const l of r.stdout.trim().split('\n')) assert.match(l, /^pong from c \(10\.77\.0\.2\) via relay \S+ at [\d.]+:62096 \(daemon forwarding\) in [\d.]+ms$/);
  } finally {
    await w.destroy();
  }
});

interface NetcheckJSON {
  schema: string; mapping: string; publicAddress: string | null; reachable: boolean | null; natType: string;
  portMapper: { method: string; gateway: string; externalIp: string | null } | null;
  boots: { address: string; rttSeconds: number | null; seenAs: string | null }[];
  localPort: number;
}

test('wh netcheck: full cone with miniupnpd, port-restricted, symmetric, public', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('wnetc');
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    const fc = await w.addNode('fc', { nat: 'full-cone', upnp: 'igd2' });
    const pr = await w.addNode('pr', { nat: 'port-restricted' });
    const sy = await w.addNode('sy', { nat: 'symmetric' });
    const pub = await w.addNode('pub');
    w.writeConfigs([]);
    await Promise.all([w.up('boot1'), w.up('boot2')]);
    const run = async (n: typeof fc) => {
      const r = await w.wh(n, ['netcheck', w.bootConfigFile, '--json'], 30_000);
      assert.equal(r.code, 0, `${n.name}: ${r.stderr}`);
      return JSON.parse(r.stdout) as NetcheckJSON;
    };
    const [rfc, rpr, rsy, rpub] = await Promise.all([run(fc), run(pr), run(sy), run(pub)]);
    process.stdout.write(`netcheck full-cone: ${JSON.stringify(rfc)}\n`);
    for (const r of [rfc, rpr, rsy, rpub]) {
      assert.equal(r.schema, 'wirehub.netcheck');
      assert.equal(r.boots.length, 2);
      for (const b of r.boots) assert.ok(b.rttSeconds !== null && b.rttSeconds >= 0, `answered: ${JSON.stringify(b)}`);
      assert.deepEqual(validate(SCHEMA, r), [], 'fits docs/wh-json.schema.json');
    }
    assert.equal(rfc.mapping, 'endpoint-independent');
    assert.equal(rfc.reachable, true);
    assert.equal(rfc.publicAddress?.split(':')[0], fc.host.router!.ip);
    assert.equal(rfc.portMapper?.method, 'upnp-igd2');
    assert.match(rfc.natType, /^full cone/);
    assert.equal(rpr.mapping, 'endpoint-independent');
    assert.equal(rpr.reachable, false);
    assert.equal(rpr.publicAddress, `${pr.host.router!.ip}:${rpr.localPort}`, 'port-restricted keeps the port');
    assert.equal(rpr.portMapper, null);
    assert.match(rpr.natType, /^restricted cone/);
    assert.equal(rsy.mapping, 'symmetric');
    assert.equal(rsy.publicAddress, null);
    assert.ok(rsy.boots.every((b) => b.seenAs?.startsWith(`${sy.host.router!.ip}:`)), 'seen at its router');
    assert.notEqual(rsy.boots[0]!.seenAs, rsy.boots[1]!.seenAs, 'one port per boot node');
    assert.equal(rpub.mapping, 'none');
    assert.equal(rpub.publicAddress, `${pub.host.publicIp}:${rpub.localPort}`);
    // The readable report, once.
    const text = await w.wh(pr, ['netcheck', w.bootConfigFile], 30_000);
    process.stdout.write(`netcheck port-restricted:\n${text.stdout}`);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /public address: [\d.]+:\d+/);
    assert.match(text.stdout, /NAT: restricted cone/);
  } finally {
    await w.destroy();
  }
});

// IPv6 underlay, end to end, as root, on micronet's IPv6 internet (2001:db8::/48, on the same
// bridge as 20.0.0.0/16, never linked to the machine's network): a dual-stack boot node, an
// IPv6-only, a dual-stack and an IPv4-only pair, all trusting each other, with real WireGuard,
// nftables port sharing and ping. Each pair connects directly (the IPv6-only pair's WireGuard
// endpoint is its IPv6 address); IPv6-only and IPv4-only nodes reach each other through the
// dual-stack boot node.
// Then an IPv6-only pair whose direct path is blocked is relayed by the dual-stack boot node:
// by the daemons, since the relay's kernel path is IPv4 only (docs/NAT.md "IPv6").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WhNet } from './whnet.js';
import { PEER_TICK } from '../../src/params.js';
import type { ShowPeer } from '../../src/control/show.js';

const PORT = 62096;

/** `from`'s view of the peer with key `key`; a relayed one is printed `relay` once WireGuard
 *  received the peer through the link, at the daemon's next samples (every PEER_TICK) after
 *  the first echo: waited for that long. */
async function peerView(w: WhNet, from: string, key: string): Promise<ShowPeer> {
  const end = Date.now() + 4 * PEER_TICK;
  let p = (await w.show(from)).peers.find((q) => q.key === key)!;
  while (p.path === 'searching' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    p = (await w.show(from)).peers.find((q) => q.key === key)!;
  }
  return p;
}

test('IPv6: an IPv6-only pair and a dual-stack pair connect directly', {  timeout: 180_000 }, async (t) => {
  const w = await WhNet.create('v6');
  try {
    await w.addNode('boot', { role: 'boot', ip: 'dual' });
    for (const n of ['six1', 'six2']) await w.addNode(n, { ip: 'v6' });
    for (const n of ['dual1', 'dual2']) await w.addNode(n, { ip: 'dual' });
    for (const n of ['four1', 'four2']) await w.addNode(n);
    const names = ['six1', 'six2', 'dual1', 'dual2', 'four1', 'four2'];
    w.writeConfigs(names);
    const host = (n: string) => w.nodes.get(n)!.host;

    await t.test('micronet: IPv6-only hosts have no IPv4 address; hosts reach each other over IPv6', async () => {
      const six = await w.net.exec(host('six1'), ['ip', '-4', '-o', 'addr', 'show', 'scope', 'global']);
      assert.equal(six.stdout.trim(), '', 'six1 has no global IPv4 address');
      assert.match(host('six1').ip, /^2001:db8:/);
      const p = await w.net.exec(host('six1'), ['ping', '-6', '-c1', '-W2', host('dual1').ip6!]);
      assert.equal(p.code, 0, `six1 -> dual1 over IPv6: ${p.stdout}${p.stderr}`);
      const v4 = await w.net.exec(host('six1'), ['ping', '-4', '-c1', '-W1', host('dual1').ip]);
      assert.notEqual(v4.code, 0, 'an IPv6-only host cannot reach IPv4');
      const routes = await w.net.exec(w.net.internet, ['ip', '-6', 'route', 'show', 'default']);
      assert.equal(routes.stdout.trim(), '', 'the internet namespace has no IPv6 default route');
    });

    const config = (await import('node:fs')).readFileSync(w.configFile, 'utf8');
    assert.match(config, new RegExp(`boot \\S+ 20\\.0\\.1\\.1:${PORT}\\nboot \\S+ \\[2001:db8:0:1::1\\]:${PORT}`), 'the dual-stack boot node has one line per family');

    await w.up('boot');
    for (const n of names) await w.up(n);
    const lastUp = Date.now();

    // (An IPv4-only pair too: the same DHT holds IPv6 records it cannot use.)
    const pairs: [string, string][] = [['six1', 'six2'], ['dual1', 'dual2'], ['four1', 'four2']];
    await t.test('each pair pings over the overlay within 15 s of the last wh up', async () => {
      for (const [a, b] of pairs) {
        for (const [x, y] of [[a, b], [b, a]] as const) {
          const ms = await w.pingUntil(x, w.nodes.get(y)!.overlayIp!, Math.max(15_000 - (Date.now() - lastUp), 1000));
          assert.ok(ms >= 0, `${x} -> ${y}: no overlay ping within 15 s`);
          t.diagnostic(`${x} -> ${y}: first overlay ping after ${Date.now() - lastUp} ms from the last wh up`);
        }
      }
    });

    await t.test('wh show says direct; the IPv6-only pair\'s WireGuard endpoint is the peer\'s IPv6 address, and wg agrees', async () => {
      for (const [a, b] of pairs) {
        for (const [x, y] of [[a, b], [b, a]] as const) {
          const s = await w.show(x);
          const ny = w.nodes.get(y)!;
          const p = s.peers.find((q) => q.key === ny.publicKey);
          assert.ok(p, `${x} shows ${y}`);
          assert.equal(p.path, 'direct', `${x} -> ${y}: path ${p.path}`);
          const dump = (await w.net.exec(host(x), ['wg', 'show', s.interface, 'endpoints'])).stdout;
          const wgEndpoint = dump.split('\n').map((l) => l.split('\t')).find((r) => r[0] === ny.publicKey)?.[1];
          assert.equal(wgEndpoint, p.endpoint, `${x}: wg's endpoint for ${y} is the one wh show reports`);
          const allowed = x.startsWith('six') ? [`[${ny.host.ip6}]:${PORT}`] : x.startsWith('four') ? [`${ny.host.ip}:${PORT}`] : [`${ny.host.ip}:${PORT}`, `[${ny.host.ip6}]:${PORT}`];
          assert.ok(allowed.includes(p.endpoint ?? ''), `${x} -> ${y}: endpoint ${p.endpoint} is not one of ${allowed.join(', ')}`);
          t.diagnostic(`${x} -> ${y}: direct, endpoint ${p.endpoint}`);
        }
      }
    });

    await t.test('mixed pairs: within 30 s every node reaches every other; IPv6-only and IPv4-only through the dual-stack boot node (by the daemons), the rest directly in a family both have', async () => {
      const fam = (n: string) => n.slice(0, -1); // six, dual, four
      for (const x of names) {
        for (const y of names.filter((n) => n !== x)) {
          const ms = await w.pingUntil(x, w.nodes.get(y)!.overlayIp!, Math.max(30_000 - (Date.now() - lastUp), 1000));
          assert.ok(ms >= 0, `${x} -> ${y}: no overlay ping within 30 s`);
          const p = await peerView(w, x, w.nodes.get(y)!.publicKey);
          t.diagnostic(`${x} -> ${y}: ping at ${Date.now() - lastUp} ms, path ${p.path}, endpoint ${p.endpoint}, forwarding ${p.relayForwarding}`);
          const pair = [fam(x), fam(y)].sort().join('-');
          const hy = host(y), boot = host('boot');
          if (pair === 'four-six') {
            assert.equal(p.path, 'relay', `${x} -> ${y}`);
            assert.equal(p.relayForwarding, 'daemon', `${x} -> ${y}: a session with an IPv6 member is relayed by the daemons`);
            assert.equal(p.endpoint, fam(x) === 'six' ? `[${boot.ip6}]:${PORT}` : `${boot.ip}:${PORT}`, `${x} reaches the relay in its own family`);
          } else {
            assert.equal(p.path, 'direct', `${x} -> ${y}`);
            const shared = pair.includes('six') ? [`[${hy.ip6}]:${PORT}`] : pair.includes('four') ? [`${hy.ip}:${PORT}`] : [`${hy.ip}:${PORT}`, `[${hy.ip6}]:${PORT}`];
            assert.ok(shared.includes(p.endpoint ?? ''), `${x} -> ${y}: endpoint ${p.endpoint} is not one of ${shared.join(', ')}`);
          }
        }
      }
    });

    await t.test('the overlay traffic of the IPv6-only pair really crosses the underlay as IPv6 UDP to the shared port', async () => {
      // A counter of six2's inbound IPv6 UDP from six1 to the shared port (its own table, gone
      // with the namespace).
      const rules = `table ip6 v6count {\n  chain pre {\n    type filter hook prerouting priority -400; policy accept;\n    ip6 saddr ${host('six1').ip6} udp dport ${PORT} counter\n  }\n}\n`;
      const add = await w.net.exec(host('six2'), ['nft', '-f', '-'], { input: rules });
      assert.equal(add.code, 0, add.stderr);
      const packets = async () => Number(/counter packets (\d+)/.exec((await w.net.exec(host('six2'), ['nft', 'list', 'table', 'ip6', 'v6count'])).stdout)?.[1] ?? -1);
      const before = await packets();
      for (let i = 0; i < 3; i++) assert.ok(await w.ping('six1', w.nodes.get('six2')!.overlayIp!), 'overlay ping six1 -> six2');
      const after = await packets();
      assert.ok(after - before >= 3, `six2 counted ${after - before} IPv6 datagrams from six1 to port ${PORT} for 3 overlay pings`);
    });
  } finally {
    await w.destroy();
  }
});

test('IPv6: an IPv6-only pair without a direct path is relayed through the daemons (the kernel path is IPv4 only)', { timeout: 180_000 }, async (t) => {
  const w = await WhNet.create('v6r');
  try {
    await w.addNode('boot', { role: 'boot', ip: 'dual' });
    for (const n of ['six3', 'six4']) await w.addNode(n, { ip: 'v6' });
    w.writeConfigs(['six3', 'six4']);
    const host = (n: string) => w.nodes.get(n)!.host;
    // Each drops everything from the other: only the boot node can carry their traffic.
    for (const [a, b] of [['six3', 'six4'], ['six4', 'six3']] as const) {
      const rules = `table ip6 nodirect {\n  chain pre {\n    type filter hook prerouting priority -400; policy accept;\n    ip6 saddr ${host(b).ip6} drop\n  }\n}\n`;
      const r = await w.net.exec(host(a), ['nft', '-f', '-'], { input: rules });
      assert.equal(r.code, 0, r.stderr);
    }
    await w.up('boot');
    for (const n of ['six3', 'six4']) await w.up(n);
    const t0 = Date.now();
    const ms = await w.pingUntil('six3', w.nodes.get('six4')!.overlayIp!, 45_000);
    assert.ok(ms >= 0, `six3 -> six4: no overlay ping within 45 s:\n${w.nodes.get('six3')!.log.slice(-3000)}`);
    t.diagnostic(`six3 -> six4: first overlay ping ${Date.now() - t0} ms after wh up`);
    assert.ok(await w.ping('six4', w.nodes.get('six3')!.overlayIp!), 'six4 -> six3');
    for (const [a, b] of [['six3', 'six4'], ['six4', 'six3']] as const) {
      const p = await peerView(w, a, w.nodes.get(b)!.publicKey);
      assert.equal(p.path, 'relay', `${a} -> ${b}: path ${p.path}`);
      assert.equal(p.relayForwarding, 'daemon', `${a} -> ${b}: an IPv6 session is relayed by the daemons`);
      assert.equal(p.endpoint, `[${host('boot').ip6}]:62096`, 'relayed by the boot node, over IPv6');
      assert.match(p.wgEndpoint ?? '', /^127\.0\.0\.1:\d+$/, 'WireGuard\'s endpoint is the relay link\'s loopback socket (daemon path)');
      t.diagnostic(`${a} -> ${b}: ${p.path} via ${p.endpoint}, forwarded by the ${p.relayForwarding}s, WireGuard endpoint ${p.wgEndpoint}`);
    }
    const boot = await w.show('boot');
    assert.ok(boot.relaying.sessions >= 1, 'the boot node relays the session');
    assert.equal(boot.relaying.kernel, 0, 'none of it in its kernel');
    t.diagnostic(`boot relaying: ${JSON.stringify(boot.relaying)}`);
  } finally {
    await w.destroy();
  }
});

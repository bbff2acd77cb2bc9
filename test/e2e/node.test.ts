// End to end, as root, in network namespaces built by micronet: real wireguard-go, real
// nftables, real ping. One bootstrap public node and three public nodes sharing a trust config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WhNet } from './whnet.js';
import { assertNoTraces } from './traces.js';
import { interfaceNameForKey } from '../../src/wg/index.js';

const others = (names: string[], me: string) => names.filter((n) => n !== me);


test('public nodes: overlay up, show, reload, SIGKILL recovery, down', { timeout: 180_000 }, async (t) => {
  const w = await WhNet.create('e2e');
  try {
    await w.addPublicNode('boot', 'boot');
    for (const n of ['n1', 'n2', 'n3', 'n4']) await w.addPublicNode(n);
    const names = ['n1', 'n2', 'n3'];
    w.writeConfigs(names);
    await w.up('boot');
    for (const n of names) await w.up(n);
    const lastUp = Date.now();

    await t.test('within 10 s of the last wh up, every node pings every other over the overlay', async () => {
      for (const a of names) {
        for (const b of others(names, a)) {
          const left = 10_000 - (Date.now() - lastUp);
          const ms = await w.pingUntil(a, w.nodes.get(b)!.overlayIp!, Math.max(left, 0));
          assert.ok(ms >= 0, `${a} -> ${b}: no ping within 10 s of the last wh up`);
        }
      }
    });

    await t.test('wh show --json reports every peer as direct, and wg show agrees', async () => {
      for (const a of names) {
        const s = await w.show(a);
        assert.equal(s.role, 'node');
        assert.equal(s.ipv4, w.nodes.get(a)!.overlayIp);
        const dump = (await w.net.exec(w.nodes.get(a)!.host, ['wg', 'show', s.interface, 'dump'])).stdout.trim().split('\n').slice(1).map((l) => l.split('\t'));
        for (const b of others(names, a)) {
          const nb = w.nodes.get(b)!;
          const p = s.peers.find((x) => x.key === nb.publicKey);
          assert.ok(p, `${a} shows ${b}`);
          assert.equal(p.path, 'direct', `${a} -> ${b} path`);
          assert.equal(p.endpoint, `${nb.host.ip}:62096`);
          const row = dump.find((r) => r[0] === nb.publicKey);
          assert.ok(row, `wg show ${s.interface} has ${b}`);
          assert.equal(row[2], `${nb.host.ip}:62096`, 'wg endpoint');
          assert.equal(row[3], `${nb.overlayIp}/32`, 'wg allowed ips');
          assert.ok(Date.now() / 1000 - Number(row[4]) < 60, 'recent handshake');
        }
      }
    });

    await t.test('wh reload adds a fourth node without restarting the others; tunnels keep their handshake', async () => {
      const before = await w.show('n1');
      const hs = before.peers.find((p) => p.key === w.nodes.get('n2')!.publicKey)!;
      w.writeConfigs(['n1', 'n2', 'n3', 'n4']);
      for (const n of names) {
        const r = await w.wh(w.nodes.get(n)!, ['reload', w.nodes.get(n)!.iface]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /added: n4/);
      }
      await w.up('n4');
      for (const a of names) assert.ok(await w.pingUntil(a, w.nodes.get('n4')!.overlayIp!, 10_000) >= 0, `${a} -> n4`);
      assert.ok(await w.pingUntil('n4', w.nodes.get('n1')!.overlayIp!, 10_000) >= 0, 'n4 -> n1');
      const after = (await w.show('n1')).peers.find((p) => p.key === w.nodes.get('n2')!.publicKey)!;
      assert.ok(after.lastHandshake !== null && hs.lastHandshake !== null && after.lastHandshake >= hs.lastHandshake, 'handshake kept');
      assert.ok(after.rxBytes >= hs.rxBytes, `n1<-n2 counters not reset (${hs.rxBytes} -> ${after.rxBytes})`);
      // An invalid edit is refused and the running state kept.
      const good = fs.readFileSync(w.configFile, 'utf8');
      fs.writeFileSync(w.configFile, good + 'trsut bogus\n');
      const bad = await w.wh(w.nodes.get('n1')!, ['reload', w.nodes.get('n1')!.iface]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /network\.conf:\d+: unknown directive "trsut"/);
      fs.writeFileSync(w.configFile, good);
      assert.ok(await w.ping('n1', w.nodes.get('n4')!.overlayIp!), 'still up after a refused reload');
    });

    await t.test('a daemon killed with SIGKILL and restarted: the overlay recovers within 15 s', async () => {
      const n2 = w.nodes.get('n2')!;
      n2.daemon!.kill('SIGKILL');
      await new Promise((r) => n2.daemon!.once('exit', r));
      const t0 = Date.now();
      await w.up('n2');
      for (const a of ['n1', 'n3']) {
        const ms = await w.pingUntil(a, n2.overlayIp!, 15_000 - (Date.now() - t0));
        assert.ok(ms >= 0, `${a} -> n2 after restart`);
      }
      assert.ok(await w.pingUntil('n2', w.nodes.get('n1')!.overlayIp!, 15_000 - (Date.now() - t0)) >= 0, 'n2 -> n1 after restart');
    });

    await t.test('wh down on each node leaves no interface, table, socket or process', async () => {
      for (const n of ['n1', 'n2', 'n3', 'n4', 'boot']) {
        const iface = w.nodes.get(n)!.iface;
        const r = await w.down(n);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`${iface} is down`));
        await assertNoTraces(w, n, iface);
      }
      const again = await w.down('n1');
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /is not up/);
    });
  } finally {
    await w.destroy();
  }
});

test('wh up refuses bad input with a clear error and leaves nothing behind', { timeout: 60_000 }, async () => {
  const w = await WhNet.create('bad');
  try {
    await w.addPublicNode('boot', 'boot');
    const n = await w.addPublicNode('n1');
    w.writeConfigs(['n1']);
    const iface = interfaceNameForKey(n.publicKey);
    const cases: { what: string; args: string[]; expect: RegExp; setup?: () => void }[] = [
      { what: 'bad config', args: ['up', `${w.dir}/broken.conf`, 'private-key', n.keyFile], expect: /broken\.conf:2: unknown directive "trsut"/,
        setup: () => fs.writeFileSync(`${w.dir}/broken.conf`, 'name x\ntrsut a\n') },
      { what: 'missing key file', args: ['up', w.configFile, 'private-key', `${w.dir}/nope.sk`], expect: /nope\.sk: cannot read the private key: no such file/ },
      { what: 'bad key', args: ['up', w.configFile, 'private-key', `${w.dir}/bad.sk`], expect: /bad\.sk: the private key is not a WireGuard key/,
        setup: () => fs.writeFileSync(`${w.dir}/bad.sk`, 'hello\n') },
      { what: 'key not trusted', args: ['up', w.configFile, 'private-key', w.nodes.get('boot')!.keyFile], expect: /no trust line for this node's key/ },
      { what: 'missing private-key', args: ['up', w.configFile], expect: /has trust lines, so this node needs the key its trust line names: give private-key FILE/ },
    ];
    for (const c of cases) {
      c.setup?.();
      const r = await w.wh(n, c.args);
      assert.notEqual(r.code, 0, `${c.what}: non-zero exit`);
      assert.match(r.stderr, c.expect, `${c.what}: ${r.stderr}`);
      await assertNoTraces(w, 'n1', iface);
    }
    // Wrong workbit: the network requires 16 bits, which this key (almost surely) lacks.
    fs.writeFileSync(`${w.dir}/wb.conf`, `name wb\nworkbit 16\n`);
    const wb = await w.wh(n, ['up', `${w.dir}/wb.conf`, 'private-key', n.keyFile]);
    assert.notEqual(wb.code, 0);
    assert.match(wb.stderr, /workbit is \d+, network 'wb' requires 16; make one with: wh genkey --workbit 16 --namespace public/);
    // Port in use: something already listens on UDP 62096 in the node's namespace.
    const squatter = w.net.spawn(n.host, 'socat', ['-u', 'UDP4-RECV:62096', '/dev/null']);
    await new Promise((r) => setTimeout(r, 300));
    const busy = await w.wh(n, ['up', w.configFile, 'private-key', n.keyFile]);
    squatter.kill();
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /UDP port 62096 is already in use/);
    await assertNoTraces(w, 'n1', iface);
  } finally {
    await w.destroy();
  }
});

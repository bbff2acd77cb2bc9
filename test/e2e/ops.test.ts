// Operator safety, end to end as root in micronet namespaces with real wireguard-go: WireHub
// touches only the interfaces it made (a hand-made WireGuard interface and eth0 are left
// alone, with a clear refusal), still cleans up its own leftovers, and a non-root user gets
// "permission denied (needs root)" instead of false answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WH, WhNet, type WhNode } from './whnet.js';
import { socketAccepts } from '../../src/util/unixsocket.js';
import { waitFor } from './traces.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];


async function linkExists(w: WhNet, n: WhNode, name: string): Promise<boolean> {
  return (await w.net.exec(n.host, ['ip', 'link', 'show', 'dev', name])).code === 0;
}

test('wh up and wh down leave a WireGuard interface WireHub did not make alone, and refuse clearly', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('hand');
  const name = `ophand${process.pid % 10000}`;
  let hand: ReturnType<WhNet['net']['spawn']> | undefined;
  try {
    await w.addPublicNode('boot', 'boot');
    const n = await w.addPublicNode('n1');
    const other = await w.addPublicNode('n2');
    w.writeConfigs(['n1', 'n2']);
    // An operator's own userspace WireGuard interface, made by hand in the node's namespace.
    hand = w.net.spawn(n.host, 'env', ['LOG_LEVEL=error', 'wireguard-go', '-f', name], { stdio: 'ignore' });
    assert.ok(await waitFor(() => socketAccepts(`/var/run/wireguard/${name}.sock`), 5000), 'the hand-made wireguard-go serves its socket');
    const handAlive = (): boolean => hand!.exitCode === null && hand!.signalCode === null;

    const up = await w.wh(n, ['up', w.configFile, 'private-key', n.keyFile, 'interface', name]);
    assert.equal(up.code, 1, `wh up over a foreign interface: exit 1 (stdout: ${up.stdout} stderr: ${up.stderr})`);
    assert.match(up.stderr, new RegExp(`interface ${name} exists and was not made by WireHub`));
    assert.doesNotMatch(up.stderr, /leftovers/);
    assert.ok(handAlive(), 'the hand-made wireguard-go still runs after wh up');
    assert.ok(await linkExists(w, n, name), 'its link is still there');

    // From another namespace the link is not visible, but its socket in the shared /run is.
    const across = await w.wh(other, ['up', w.configFile, 'private-key', other.keyFile, 'interface', name]);
    assert.equal(across.code, 1, `wh up from another namespace: exit 1 (stderr: ${across.stderr})`);
    assert.match(across.stderr, new RegExp(`interface ${name} exists and was not made by WireHub \\(a userspace WireGuard serves /var/run/wireguard/${name}\\.sock, with no link ${name} in this network namespace\\)`));
    assert.ok(handAlive(), 'the hand-made wireguard-go still runs after wh up in another namespace');

    const down = await w.wh(n, ['down', name]);
    assert.equal(down.code, 1, `wh down of a foreign interface: exit 1 (stdout: ${down.stdout} stderr: ${down.stderr})`);
    assert.match(down.stderr, new RegExp(`${name} was not made by WireHub`));
    assert.equal(down.stdout, '');
    assert.ok(handAlive(), 'the hand-made wireguard-go still runs after wh down');
    assert.ok(await linkExists(w, n, name));

    const eth0 = await w.wh(n, ['down', 'eth0']);
    assert.equal(eth0.code, 1, `wh down eth0: exit 1, not 70 (stderr: ${eth0.stderr})`);
    assert.match(eth0.stderr, /^wh: eth0 was not made by WireHub .*left alone\n$/);
    assert.doesNotMatch(eth0.stderr, /internal error|at /);
    assert.ok(await linkExists(w, n, 'eth0'));
  } finally {
    // On the old code wh up replaced the interface with a detached daemon: stop it too.
    for (const node of ['n1', 'n2']) if (w.nodes.has(node)) await w.wh(w.nodes.get(node)!, ['down', name]).catch(() => undefined);
    if (hand && hand.exitCode === null) {
      hand.kill('SIGTERM');
      await new Promise((r) => { const t = setTimeout(r, 3000); hand!.once('exit', () => { clearTimeout(t); r(undefined); }); });
    }
    fs.rmSync(`/var/run/wireguard/${name}.sock`, { force: true });
    await w.destroy();
  }
});

test('what a SIGKILLed daemon left (its marked interface) is still removed by wh down and wh up', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('left');
  try {
    await w.addPublicNode('boot', 'boot');
    const n = await w.addPublicNode('n1');
    w.writeConfigs(['n1']);
    for (const cmd of ['down', 'up'] as const) {
      await w.up('n1');
      n.daemon!.kill('SIGKILL');
      await new Promise((r) => n.daemon!.once('exit', r));
      assert.ok(await linkExists(w, n, n.iface), 'the interface outlives its daemon');
      if (cmd === 'down') {
        const r = await w.down('n1');
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`${n.iface} is down \\(removed: .*interface ${n.iface}`));
      } else {
        await w.up('n1');
        assert.match(n.log, new RegExp(`removed leftovers of an earlier run: interface ${n.iface}`));
        const r = await w.down('n1');
        assert.equal(r.code, 0, r.stderr);
      }
      assert.ok(!(await linkExists(w, n, n.iface)), `after ${cmd}: no interface left`);
    }
  } finally {
    await w.destroy();
  }
});

test('as a non-root user, wh down, show and reload say "permission denied (needs root)" and change nothing', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('perm');
  try {
    await w.addPublicNode('boot', 'boot');
    const n = await w.addPublicNode('n1');
    w.writeConfigs(['n1']);
    await w.up('n1');
    for (const args of [['down', n.iface], ['show'], ['show', n.iface], ['show', '--json'], ['reload', n.iface]]) {
      const r = await w.net.exec(n.host, [...NOBODY, process.execPath, WH, ...args]);
      assert.equal(r.code, 1, `wh ${args.join(' ')} as nobody: exit 1 (stdout: ${r.stdout} stderr: ${r.stderr})`);
      assert.match(r.stderr, /permission denied \(needs root\)/, `wh ${args.join(' ')}`);
      assert.doesNotMatch(r.stdout, /is down|no WireHub interface/);
      assert.doesNotMatch(r.stderr, /no WireHub interface is up|no daemon/);
    }
    assert.ok(n.daemon!.exitCode === null, 'the daemon still runs');
    assert.equal((await w.show('n1')).interface, n.iface, 'and still answers root');
    assert.ok(await linkExists(w, n, n.iface));
  } finally {
    await w.destroy();
  }
});

// First contact (issue 9), end to end as root in micronet namespaces with real wireguard-go:
// what `wh up` refuses before it changes anything (a key that already runs, an interface that
// is not WireHub's), what `wh reload` applies (boot and peer lines), trust endpoints written as
// DNS names, and why `wh show` says NAT unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WhNet, type WhNode } from './whnet.js';
import { validate } from '../unit/jsonschema.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { waitFor } from './traces.js';

const SCHEMA = JSON.parse(fs.readFileSync(new URL('../../../docs/wh-json.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function assertSchema(stdout: string): Record<string, unknown> {
  const v = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(validate(SCHEMA, v), [], `fits docs/wh-json.schema.json: ${stdout}`);
  return v;
}

const trustLine = (n: WhNode, ip: string, endpoint = '') => `trust ${n.name} ${ip} ${n.publicKey}${endpoint ? ' ' + endpoint : ''}`;


test('wh up refuses, before changing anything, a key that already runs and an interface that is not WireHub\'s', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('twice');
  const dup = `whdup${process.pid % 10000}`;
  try {
    await w.addPublicNode('boot', 'boot');
    const a = await w.addPublicNode('a');
    w.writeConfigs(['a']);

    // eth0 exists in the namespace and carries no WireHub mark: refused, no log file made.
    const log = '/var/log/wirehub/eth0.log';
    const logBefore = fs.existsSync(log) ? fs.statSync(log).size : -1;
    const eth0 = await w.wh(a, ['up', w.configFile, 'private-key', a.keyFile, 'interface', 'eth0']);
    assert.equal(eth0.code, 1, `wh up interface eth0: exit 1 (stdout: ${eth0.stdout} stderr: ${eth0.stderr})`);
    assert.match(eth0.stderr, /^wh: interface eth0 exists and was not made by WireHub/);
    assert.equal(fs.existsSync(log) ? fs.statSync(log).size : -1, logBefore, `${log} is neither made nor written`);
    const link = await w.net.exec(a.host, ['ip', '-d', '-j', 'link', 'show', 'dev', 'eth0']);
    assert.equal(link.code, 0);
    assert.doesNotMatch(link.stdout, /wireguard/);

    // The same key again, under another interface name and port: refused, naming the first.
    await w.up('a');
    const again = await w.wh(a, ['up', w.configFile, 'private-key', a.keyFile, 'interface', dup, 'listen-port', '40000']);
    assert.equal(again.code, 1, `second wh up of the same key: exit 1 (stdout: ${again.stdout} stderr: ${again.stderr})`);
    // The interface name may end in '-' or hold '+' or '.': escape it, and end it at the ':'.
    const re = (t: string) => t.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    assert.match(again.stderr, new RegExp(`^wh: this key \\(${re(a.publicKey)}\\) already runs as interface ${re(a.iface)}:`));
    // And under another interface name on the same (default) port: the key is named, not the port.
    const samePort = await w.wh(a, ['up', w.configFile, 'private-key', a.keyFile, 'interface', dup]);
    assert.equal(samePort.code, 1);
    assert.match(samePort.stderr, new RegExp(`already runs as interface ${re(a.iface)}:`));
    assert.doesNotMatch(samePort.stderr, /UDP port/);
    const dupLink = await w.net.exec(a.host, ['ip', 'link', 'show', 'dev', dup]);
    assert.notEqual(dupLink.code, 0, `no interface ${dup} was made`);
  } finally {
    // On the old code the second wh up started a detached daemon: stop it too.
    if (w.nodes.has('a')) await w.wh(w.nodes.get('a')!, ['down', dup]).catch(() => undefined);
    await w.destroy();
  }
});

test('wh reload applies added boot and peer lines; NAT unknown says why; wh show/reload --json fit the schema', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('seeds');
  try {
    const boot = await w.addPublicNode('boot', 'boot');
    const seed = await w.addPublicNode('seed', 'boot');
    const a = await w.addPublicNode('a');
    const b = await w.addPublicNode('b');
    const n = await w.addNode('n', { nat: 'port-restricted' });
    w.writeConfigs(['a', 'b', 'n']);
    // The public DHT nodes know each other; a and b start with no boot line at all.
    const head = ['name seeds', 'workbit 0', 'subnet 10.77.0.0/24', trustLine(a, '10.77.0.1'), trustLine(b, '10.77.0.2'), trustLine(n, '10.77.0.3')];
    const bootLine = `boot ${boot.publicKey} ${boot.host.publicIp}:62096`;
    const peerLine = `peer seed ${seed.publicKey} ${seed.host.publicIp}:62096`;
    const write = (lines: string[]) => fs.writeFileSync(w.configFile, lines.join('\n') + '\n');
    await w.up('boot');
    await w.up('seed');
    write(head);
    await w.up('a');
    await w.up('b');
    assert.equal((await w.show('a')).dhtNodes, 0, 'a knows no DHT node without a boot line');

    // A peer line with an endpoint seeds the DHT: b joins through it.
    write([...head, peerLine]);
    const rb = await w.wh(b, ['reload', b.iface]);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(rb.stdout, `${b.iface}: boot nodes added: ${seed.host.publicIp}:62096\n`);
    assert.ok(await waitFor(async () => (await w.show('b')).dhtNodes > 0, 15_000), 'b joined the DHT through the peer line');

    // A boot line added to a running node's config: applied, and said so.
    write([...head, bootLine, peerLine]);
    const ra = await w.wh(a, ['reload', a.iface, '--json']);
    assert.equal(ra.code, 0, ra.stderr);
    const rj = assertSchema(ra.stdout);
    assert.deepEqual((rj.bootsAdded as string[]).sort(), [`${boot.host.publicIp}:62096`, `${seed.host.publicIp}:62096`].sort());
    assert.ok(await waitFor(async () => (await w.show('a')).dhtNodes > 0, 15_000), 'a joined the DHT through the new boot line');
    assert.ok(await w.pingUntil('a', '10.77.0.2', 30_000) >= 0, 'a reaches b over the overlay, both found through the DHT');

    // One boot node: the NAT type of n (behind a NAT) cannot be told, and wh show says why.
    await w.up('n');
    assert.ok(await waitFor(async () => (await w.show('n')).natObservers === 1, 15_000), 'n heard from its one boot node');
    const text = await w.wh(n, ['show', n.iface]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /NAT: unknown \(seen as [0-9.]+:\d+\): seen by 1 node only: telling the NAT type takes 2 observers/);
    const js = await w.wh(n, ['show', n.iface, 'all', '--json']);
    assert.equal(js.code, 0, js.stderr);
    const sj = assertSchema(js.stdout) as { interfaces: Record<string, unknown>[] };
    assert.match(String(sj.interfaces[0]!.natReason), /2 observers/);
    const every = await w.wh(a, ['show', '--json']);
    assert.equal(every.code, 0, every.stderr);
    assertSchema(every.stdout);
  } finally {
    await w.destroy();
  }
});

test('trust endpoints written as DNS names are resolved; one that does not resolve is refused', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('dns');
  const made: string[] = [];
  try {
    const c = await w.addPublicNode('c');
    const d = await w.addPublicNode('d');
    const e = await w.addPublicNode('e');
    // Names only these namespaces know (`ip netns exec` mounts /etc/netns/NS/hosts over
    // /etc/hosts); their resolver is loopback, so no query leaves the namespace.
    for (const x of [c, d, e]) {
      const dir = `/etc/netns/${x.host.ns}`;
      fs.mkdirSync(dir, { recursive: true });
      made.push(dir);
      fs.writeFileSync(path.join(dir, 'hosts'), `127.0.0.1 localhost\n${c.host.ip} c.wh.test\n${d.host.ip} d.wh.test\n`);
      fs.writeFileSync(path.join(dir, 'resolv.conf'), 'nameserver 127.0.0.1\n');
    }
    const good = ['name dns', 'workbit 0', 'subnet 10.78.0.0/24', trustLine(c, '10.78.0.1', 'c.wh.test:62096'), trustLine(d, '10.78.0.2', 'd.wh.test:62096')];
    fs.writeFileSync(w.configFile, good.join('\n') + '\n');
    // No boot node, no DHT: only the endpoints in the file can connect c and d.
    await w.up('c');
    await w.up('d');
    assert.ok(await w.pingUntil('c', '10.78.0.2', 20_000) >= 0, 'c reaches d through the resolved endpoint d.wh.test');

    const bad = [...good, trustLine(e, '10.78.0.3', 'nosuch.invalid:62096')];
    fs.writeFileSync(w.configFile, bad.join('\n') + '\n');
    const r = await w.wh(c, ['reload', c.iface]);
    assert.equal(r.code, 1, `reload with an endpoint that does not resolve: exit 1 (stdout: ${r.stdout} stderr: ${r.stderr})`);
    assert.match(r.stderr, /refused, running state kept: .*nosuch\.invalid:62096 of e does not resolve/);
    assert.deepEqual((await w.show('c')).peers.map((p) => p.name).sort(), ['d'], 'the running state is kept');

    const up = await w.wh(e, ['up', w.configFile, 'private-key', e.keyFile]);
    assert.equal(up.code, 1, `wh up with an endpoint that does not resolve: exit 1 (stdout: ${up.stdout} stderr: ${up.stderr})`);
    assert.match(up.stderr, /^wh: .*the endpoint nosuch\.invalid:62096 of e does not resolve/);
  } finally {
    // On the old code wh up e started a detached daemon: stop it.
    if (w.nodes.has('e')) await w.wh(w.nodes.get('e')!, ['down', interfaceNameForKey(w.nodes.get('e')!.publicKey)]).catch(() => undefined);
    await w.destroy();
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
  }
});

// First contact (issue 9), end to end as root in micronet namespaces with real wireguard-go:
// what `wh up` refuses before it changes anything (a key that already runs, an interface that
// is not WireHub's), what `wh reload` applies (boot and peer lines), trust endpoints written as
// DNS names, and why `wh show` says NAT unknown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WhNet } from './whnet.js';

async function waitFor(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

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
    assert.match(again.stderr, new RegExp(`^wh: this key \\(${a.publicKey.replace(/[+/]/g, '\\$&')}\\) already runs as interface ${a.iface}\\b`));
    // And under another interface name on the same (default) port: the key is named, not the port.
    const samePort = await w.wh(a, ['up', w.configFile, 'private-key', a.keyFile, 'interface', dup]);
    assert.equal(samePort.code, 1);
    assert.match(samePort.stderr, new RegExp(`already runs as interface ${a.iface}\\b`));
    assert.doesNotMatch(samePort.stderr, /UDP port/);
    const dupLink = await w.net.exec(a.host, ['ip', 'link', 'show', 'dev', dup]);
    assert.notEqual(dupLink.code, 0, `no interface ${dup} was made`);
  } finally {
    // On the old code the second wh up started a detached daemon: stop it too.
    if (w.nodes.has('a')) await w.wh(w.nodes.get('a')!, ['down', dup]).catch(() => undefined);
    await w.destroy();
  }
});

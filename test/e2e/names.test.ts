// Nodes started by name and peers named on the command line, end to end as root in micronet
// namespaces with real wireguard-go: `wh up NAME` reading WH_CONFIG_DIR/NAME.conf and NAME.sk
// (in the foreground, and detached), `wh down NAME` by network name, an ephemeral key for a
// public node (its workbit met, said on stderr, no file written, gone after `wh down`),
// `wh resolve` by hostname, HOSTNAME.NETWORK, overlay IP and key prefix with the unknown and
// ambiguous errors, `wh show IFACE PEER`, and `wh show all`'s list of DHT nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { workbit } from '../../src/crypto/workbit.js';
import { searchKey } from '../../src/crypto/keysearch.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { WH, WhNet, type WhNode } from './whnet.js';
import { waitFor } from './traces.js';

/** Two real public keys whose base64 shares its first 4 characters (24 bits): a birthday search
 *  over at most 60 000 keys (about 6 000 are expected). */
async function prefixTwins(): Promise<[string, string]> {
  const sodium = await sodiumReady();
  const seen = new Map<string, string>();
  for (let i = 0; i < 60_000; i++) {
    const pub = keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
    const other = seen.get(pub.slice(0, 4));
    if (other !== undefined) return [other, pub];
    seen.set(pub.slice(0, 4), pub);
  }
  throw new Error('no two keys of 60 000 share 4 base64 characters');
}

test('wh up NAME, wh down NAME, ephemeral keys, wh resolve and wh show all', { timeout: 180_000 }, async () => {
  const net = `names${process.pid % 100000}`;
  const w = await WhNet.create(net);
  const dirs: string[] = [];
  const cfgDir = (): string => { const d = fs.mkdtempSync(path.join(w.dir, 'etc-')); dirs.push(d); return d; };
  const started: { n: WhNode; dir: string; arg: string }[] = [];
  const wh = (n: WhNode, dir: string, args: string[], timeoutMs = 30_000) =>
    w.net.exec(n.host, [process.execPath, WH, ...args], { timeoutMs, env: { ...process.env, WH_CONFIG_DIR: dir } });
  try {
    const boot = await w.addPublicNode('boot', 'boot');
    const a = await w.addPublicNode('na');
    const b = await w.addPublicNode('nb');
    const c = await w.addPublicNode('nc');
    // The boot node's key meets workbit 4 (the ephemeral node's network asks it of boot lines
    // too), and its own network has another name (wh down NAME counts nodes by network).
    const bk = await searchKey({ workbit: 4, namespace: 'public' });
    Object.assign(boot, { secret: keyToBase64(bk.secret), publicKey: keyToBase64(bk.public) });
    fs.writeFileSync(boot.keyFile, boot.secret + '\n', { mode: 0o600 });
    w.writeConfigs([]);
    fs.writeFileSync(w.bootConfigFile, fs.readFileSync(w.bootConfigFile, 'utf8').replace(`name ${net}\n`, `name ${net}b\n`));
    await w.up('boot');
    const [twin1, twin2] = await prefixTwins();
    const bootLine = `boot ${boot.publicKey} ${boot.host.publicIp}:62096`;
    const conf = [`name ${net}`, 'workbit 0', bootLine, 'subnet 10.78.0.0/24', 'subnet fd78::/64',
      `trust node_a 10.78.0.1 ${a.publicKey}`, `trust node_b 10.78.0.2 ${b.publicKey}`,
      `trust twin_1 10.78.0.3 ${twin1}`, `trust twin_2 10.78.0.4 ${twin2}`].join('\n') + '\n';
    const dirA = cfgDir(), dirB = cfgDir(), dirC = cfgDir();
    for (const [dir, n] of [[dirA, a], [dirB, b]] as const) {
      fs.writeFileSync(path.join(dir, `${net}.conf`), conf);
      fs.copyFileSync(n.keyFile, path.join(dir, `${net}.sk`));
      fs.chmodSync(path.join(dir, `${net}.sk`), 0o600);
    }

    // node_a: `wh up NAME --foreground`, its key from NAME.sk (mode 0600: no warning).
    a.iface = interfaceNameForKey(a.publicKey);
    a.daemon = w.net.spawn(a.host, process.execPath, [WH, 'up', net, '--foreground'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WH_CONFIG_DIR: dirA } });
    a.daemon.stderr!.on('data', (d: Buffer) => { if (a.log.length < 100_000) a.log += d.toString(); });
    started.push({ n: a, dir: dirA, arg: a.iface });
    assert.ok(await waitFor(() => fs.existsSync(`/var/run/wirehub/${a.iface}.sock`), 15_000), `node_a up: ${a.log}`);
    assert.doesNotMatch(a.log, /world accessible/);

    // node_b: detached `wh up NAME`, its key file readable by others: wg-quick's warning.
    fs.chmodSync(path.join(dirB, `${net}.sk`), 0o644);
    b.iface = interfaceNameForKey(b.publicKey);
    started.push({ n: b, dir: dirB, arg: b.iface });
    const upB = await wh(b, dirB, ['up', net]);
    assert.equal(upB.code, 0, upB.stderr);
    assert.match(upB.stdout, new RegExp(`^${b.iface} is up \\(log: `));
    assert.ok(upB.stderr.startsWith(`Warning: \`${path.join(dirB, `${net}.sk`)}' is world accessible\n`), upB.stderr);

    // The path to node_b, then wh resolve in every form.
    assert.ok(await waitFor(async () => (await w.show('na')).peers.find((p) => p.name === 'node_b')?.path === 'direct', 20_000, 200), 'node_a reaches node_b directly');
    const v6 = (await w.show('na')).peers.find((p) => p.name === 'node_b')!.ipv6!; // allocated from its key
    const esc = (t: string) => t.replace(/[.+/[\]]/g, '\\$&');
    const resolve = (q: string, extra: string[] = []) => wh(a, dirA, ['resolve', q, '-i', a.iface, ...extra], 10_000);
    for (const q of ['node_b', 'NODE_B', `node_b.${net}`, '10.78.0.2', v6, v6.toUpperCase(), `[${v6}]`, b.publicKey, b.publicKey.slice(0, 6)]) {
      const r = await resolve(q);
      assert.equal(r.code, 0, `wh resolve ${q}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^node_b\n  key: ${b.publicKey.replace(/[+/]/g, '\\$&')}\n  hostname: node_b\n  overlay: 10\\.78\\.0\\.2, ${esc(v6)}\n  interface: ${a.iface} \\(network ${net}\\)\n  path: direct ${b.host.publicIp!.replace(/\./g, '\\.')}:\\d+ `), `wh resolve ${q}`);
    }
    const json = await resolve('10.78.0.2', ['--json']);
    assert.equal(json.code, 0, json.stderr);
    const v = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual([v.schema, v.hostname, v.key, v.matchedBy, v.path], ['wirehub.resolve', 'node_b', b.publicKey, 'ip', 'direct']);
    const unknown = await resolve('node_z');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.match(unknown.stderr, /^wh: .*: no peer is named "node_z" or has a key starting with it\n$/);
    const amb = await resolve(twin1.slice(0, 4));
    assert.equal(amb.code, 1);
    assert.match(amb.stderr, new RegExp(`^wh: .*: key prefix "${twin1.slice(0, 4).replace(/[+/]/g, '\\$&')}" is ambiguous: it names 2 peers: twin_1 .*, twin_2 .*; give more characters of the key\n$`));
    const twin = await resolve(twin2.slice(0, 8) === twin1.slice(0, 8) ? twin2 : twin2.slice(0, 8));
    assert.equal(twin.code, 0, twin.stderr);
    assert.match(twin.stdout, /^twin_2\n[\s\S]*path: (searching|offline) /, 'a peer that never came up resolves, with its path');

    // wh show IFACE PEER, and wh show all's DHT node list (the boot node is in it).
    const one = await wh(a, dirA, ['show', a.iface, v6], 10_000);
    assert.equal(one.code, 0, one.stderr);
    assert.equal((one.stdout.match(/^peer: /gm) ?? []).length, 1);
    assert.match(one.stdout, /^peer: node_b /m);
    const all = await wh(a, dirA, ['show', a.iface, 'all'], 10_000);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^dht: \d+ nodes? in \d+ buckets?/m);
    assert.match(all.stdout, /^  key +address +bucket +last seen +reach +rtt$/m);
    assert.match(all.stdout, new RegExp(`^  ${boot.publicKey.slice(0, 8).replace(/[+/]/g, '\\$&')} +${boot.host.publicIp!.replace(/\./g, '\\.')}:62096 +\\d+ +\\d+ seconds? ago`, 'm'));
    assert.doesNotMatch(all.stdout, /buckets: \[|counters: \{/, 'no JSON dumps');
    const allJson = JSON.parse((await wh(a, dirA, ['show', a.iface, 'all', '--json'], 10_000)).stdout) as { interfaces: { dht: { nodes: { key: string; address: string }[] } }[] };
    assert.ok(allJson.interfaces[0]!.dht.nodes.some((n) => n.key === boot.publicKey && n.address === `${boot.host.publicIp}:62096`));

    // wh down NAME stops the one node of that network; but node_a and node_b both run it:
    // refused, naming both. Once only node_b runs it, wh down NAME stops node_b.
    const both = await wh(b, dirB, ['down', net]);
    assert.equal(both.code, 1, both.stdout);
    assert.match(both.stderr, /names 2 running nodes \(/);
    for (const n of [a, b]) assert.ok(both.stderr.includes(n.iface), both.stderr);
    const downA = await wh(a, dirA, ['down', a.iface]);
    assert.equal(downA.code, 0, downA.stderr);
    await new Promise<void>((r) => { if (a.daemon!.exitCode !== null) r(); else a.daemon!.once('exit', () => r()); });
    const downB = await wh(b, dirB, ['down', net]);
    assert.equal(downB.code, 0, downB.stderr);
    assert.equal(downB.stdout, `${b.iface} is down\n`);

    // An ephemeral key: a public node's config by name, no NAME.sk, workbit 4.
    const pubName = `${net}p`;
    fs.writeFileSync(path.join(dirC, `${pubName}.conf`), `name ${pubName}\nworkbit 4\n${bootLine}\n`);
    const keys: string[] = [];
    for (let round = 0; round < 2; round++) {
      const up = await wh(c, dirC, ['up', pubName]);
      // Whatever the assertions below say, the node it started is stopped in the end.
      const started1 = /^(\S+) is up/.exec(up.stdout)?.[1];
      if (started1 !== undefined) started.push({ n: c, dir: dirC, arg: started1 });
      assert.equal(up.code, 0, up.stderr);
      const m = /^wh: no private key given: using the ephemeral key (\S+) \(workbit 4 in namespace "public", found in [\d.]+ s\); it is never written to disk and is forgotten on wh down\n/.exec(up.stderr);
      assert.ok(m, up.stderr);
      const key = m[1]!;
      keys.push(key);
      const iface = interfaceNameForKey(key);
      assert.equal(up.stdout.split(' ')[0], iface);
      assert.ok(workbit(await sodiumReady(), Buffer.from(key, 'base64'), 'public') >= 4, 'the key meets the workbit');
      const shown = await wh(c, dirC, ['show', iface, '--json'], 10_000);
      assert.equal((JSON.parse(shown.stdout) as { interfaces: { publicKey: string }[] }).interfaces[0]!.publicKey, key);
      assert.deepEqual(fs.readdirSync(dirC), [`${pubName}.conf`], 'nothing written next to the config');
      const down = await wh(c, dirC, ['down', pubName]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout, `${iface} is down\n`);
      assert.ok(!fs.existsSync(`/var/run/wirehub/${iface}.sock`));
    }
    assert.notEqual(keys[0], keys[1], 'a second wh up makes a new key: the first was forgotten');
  } finally {
    for (const s of started) await wh(s.n, s.dir, ['down', s.arg], 15_000).catch(() => undefined);
    await w.destroy();
  }
});

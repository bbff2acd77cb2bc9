// End to end, as root, in micronet (real wireguard-go, real glibc, real dig): names for every
// program (`hosts yes`, `dns yes`). Each node's hosts file is /etc/netns/NS/hosts, which
// `ip netns exec` (how micronet runs every command) bind-mounts over /etc/hosts, so `getent`
// in the namespace reads it; the daemons are told its path with WH_HOSTS_FILE (the machine's
// own /etc/hosts is never touched). node_a runs two networks at once, e2e and lab, whose two
// daemons start together and write the one file at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { loadConfig } from '../../src/config/index.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { hostsBlocks } from '../../src/daemon/hostsblock.js';
import { WH, WhNet, type WhNode } from './whnet.js';
import { waitFor } from './traces.js';

const ORIGINAL = '127.0.0.1\tlocalhost\n# the namespace\'s own line\n';

test('hosts file and DNS: getent and dig in the namespaces, reload, two networks, removal on wh down', { timeout: 240_000 }, async (t) => {
  const w = await WhNet.create('e2e');
  const made: string[] = [];
  try {
    const sodium = await sodiumReady();
    await w.addPublicNode('boot', 'boot');
    const a = await w.addPublicNode('node_a');
    const b = await w.addPublicNode('bob');
    w.writeConfigs(['node_a', 'bob']);
    fs.appendFileSync(w.configFile, 'subnet fd00:77::/64\nhosts yes\ndns yes\n');
    const cfg = await loadConfig(w.configFile);
    const v6 = (name: string) => cfg.peers.find((p) => p.hostname === name)!.ipv6!;

    // Each namespace's hosts file, as `ip netns exec` finds it.
    const hostsOf = (n: WhNode): string => path.join('/etc/netns', n.host.ns, 'hosts');
    const hadNetns = fs.existsSync('/etc/netns');
    for (const n of [a, b]) {
      fs.mkdirSync(path.dirname(hostsOf(n)), { recursive: true });
      made.push(path.dirname(hostsOf(n)));
      fs.writeFileSync(hostsOf(n), ORIGINAL, { mode: 0o644 });
    }
    if (!hadNetns) made.push('/etc/netns');
    const env = (n: WhNode) => ({ WH_HOSTS_FILE: hostsOf(n) });

    // The second network of node_a: its own key, subnet, port and interface.
    const labSk = generateSecret(sodium);
    const labKey = keyToBase64(sodium.crypto_scalarmult_base(labSk));
    const labKeyFile = path.join(w.dir, 'lab.sk');
    fs.writeFileSync(labKeyFile, keyToBase64(labSk) + '\n', { mode: 0o600 });
    const carol = keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
    const labConf = path.join(w.dir, 'lab.conf');
    const boot = w.nodes.get('boot')!;
    fs.writeFileSync(labConf, ['name lab', `boot ${boot.publicKey} ${boot.host.publicIp}:62096`, 'subnet 10.88.0.0/24',
      `trust node_a 10.88.0.1 ${labKey}`, `trust carol 10.88.0.2 ${carol}`, 'hosts yes', ''].join('\n'));
    const labIface = interfaceNameForKey(labKey);
    const labDaemon = w.net.spawn(a.host, process.execPath, [WH, 'up', labConf, 'private-key', labKeyFile, 'listen-port', '62098', '--foreground'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env(a) } });
    let labLog = '';
    labDaemon.stderr?.on('data', (d: Buffer) => { labLog += d.toString(); });

    await w.up('boot');
    // node_a's two daemons start at the same moment, both writing node_a's hosts file.
    await Promise.all([w.up('node_a', 15_000, { env: env(a) }), w.up('bob', 15_000, { env: env(b) }),
      waitFor(() => fs.existsSync(`/var/run/wirehub/${labIface}.sock`), 15_000)]);
    assert.ok(fs.existsSync(`/var/run/wirehub/${labIface}.sock`), `lab is up: ${labLog}`);
    assert.ok(await w.pingUntil('bob', a.overlayIp!, 15_000) >= 0, 'bob reaches node_a over the overlay');

    const getent = async (n: WhNode, db: string, name: string) => (await w.net.exec(n.host, ['getent', db, name])).stdout;
    const dig = async (from: WhNode, server: string, ...args: string[]) =>
      (await w.net.exec(from.host, ['dig', `@${server}`, '+time=2', '+tries=2', ...args], { timeoutMs: 10_000 })).stdout;

    await t.test('getent in the namespace: NAME.NETWORK and NAME, with `_`, both families, both networks', async () => {
      const text = fs.readFileSync(hostsOf(a), 'utf8');
      assert.ok(text.startsWith(ORIGINAL), text);
      assert.deepEqual(hostsBlocks(text).sort(), [a.iface, labIface].sort(), text);
      assert.match(await getent(a, 'hosts', 'bob.e2e'), new RegExp(`^${v6('bob')}\\s+bob\\.e2e bob$`, 'm'));
      const ahosts = await getent(a, 'ahosts', 'bob.e2e');
      assert.ok(ahosts.includes(b.overlayIp!) && ahosts.includes(v6('bob')), ahosts);
      assert.match(await getent(a, 'ahosts', 'node_a'), new RegExp(`^${a.overlayIp!.replace(/\./g, '\\.')}\\s`, 'm'));
      assert.match(await getent(a, 'hosts', 'node_a.e2e'), /node_a\.e2e node_a/);
      assert.match(await getent(a, 'hosts', 'carol.lab'), /^10\.88\.0\.2\s+carol\.lab carol$/m);
      assert.match(await getent(b, 'hosts', 'node_a.e2e'), new RegExp(`^${v6('node_a')}\\s+node_a\\.e2e`, 'm'));
    });

    await t.test('dig @OVERLAY_IP from another node: A, AAAA, NXDOMAIN, REFUSED, over IPv4 and IPv6', async () => {
      assert.equal((await dig(b, a.overlayIp!, '+short', 'node_a.e2e', 'A')).trim(), a.overlayIp);
      assert.equal((await dig(b, a.overlayIp!, '+short', 'bob.e2e', 'AAAA')).trim(), v6('bob'));
      assert.equal((await dig(b, a.overlayIp!, '+short', 'BOB.E2E', 'A')).trim(), b.overlayIp);
      const nx = await dig(b, a.overlayIp!, 'nobody.e2e', 'A');
      assert.match(nx, /status: NXDOMAIN/);
      assert.match(nx, /flags: qr aa/);
      assert.match(await dig(b, a.overlayIp!, 'example.com', 'A'), /status: REFUSED/);
      assert.equal((await dig(a, v6('bob'), '+short', 'node_a.e2e', 'A')).trim(), a.overlayIp);
      const shown = await w.show('node_a', true);
      const counters = shown.dht?.counters as Record<string, number> | undefined;
      assert.ok((counters?.['dns.answer'] ?? 0) >= 3, JSON.stringify(counters));
    });

    await t.test('wh reload publishes a new peer in the hosts file and in DNS', async () => {
      const dave = keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
      fs.appendFileSync(w.configFile, `trust dave 10.77.0.9 ${dave}\n`);
      const r = await w.wh(a, ['reload', a.iface]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await getent(a, 'ahosts', 'dave.e2e'), /^10\.77\.0\.9\s/m);
      assert.equal((await dig(b, a.overlayIp!, '+short', 'dave.e2e', 'A')).trim(), '10.77.0.9');
      assert.doesNotMatch(fs.readFileSync(hostsOf(b), 'utf8'), /dave/, 'bob has not reloaded');
    });

    await t.test('wh down removes each block alone; the file is back to its own lines', async () => {
      const r = await w.net.exec(a.host, [process.execPath, WH, 'down', labIface], { env: { ...process.env, ...env(a) }, timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(hostsBlocks(fs.readFileSync(hostsOf(a), 'utf8')), [a.iface]);
      assert.equal((await getent(a, 'hosts', 'carol.lab')), '');
      assert.match(await getent(a, 'hosts', 'bob.e2e'), /bob\.e2e/, 'the other network stays');
      assert.equal((await w.down('node_a')).code, 0);
      assert.equal(fs.readFileSync(hostsOf(a), 'utf8'), ORIGINAL);
      assert.equal(await getent(a, 'hosts', 'bob.e2e'), '');
    });

    await t.test('a daemon killed with SIGKILL leaves its block; wh down without a daemon removes it', async () => {
      assert.equal(hostsBlocks(fs.readFileSync(hostsOf(b), 'utf8')).length, 1);
      b.daemon!.kill('SIGKILL');
      await waitFor(() => b.daemon!.exitCode !== null || b.daemon!.signalCode !== null, 5000);
      assert.equal(hostsBlocks(fs.readFileSync(hostsOf(b), 'utf8')).length, 1, 'nothing ran to remove it');
      const r = await w.net.exec(b.host, [process.execPath, WH, 'down', b.iface], { env: { ...process.env, ...env(b) }, timeoutMs: 15_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr + r.stdout, new RegExp(`its block in ${hostsOf(b).replace(/\//g, '\\/')}`));
      assert.equal(fs.readFileSync(hostsOf(b), 'utf8'), ORIGINAL);
    });
  } finally {
    await w.destroy();
    // Only what this test made: /etc/netns itself goes only when nothing else is in it.
    for (const d of made) {
      try { if (d === '/etc/netns') fs.rmdirSync(d); else fs.rmSync(d, { recursive: true, force: true }); } catch { /* in use by another run */ }
    }
  }
});

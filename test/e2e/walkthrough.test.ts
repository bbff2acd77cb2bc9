// The README's "Two machines, step by step", run as written in micronet namespaces: machine a on
// a public address (also the boot node), b behind a port-restricted NAT, and a laptop behind an
// address-restricted one for the invitation. Keys with `wh genkey`/`wh pubkey`, the same
// network file on a and b, `wh check`, `wh up NAME` (each host has its own config directory
// through WH_CONFIG_DIR, since /etc is shared here), `wh show`, `wh ping`, `ping`, an edit applied
// with `wh reload`, `wh invite` and `wh join`, then `wh down IFACE` and `wh down NAME`.
// The one difference from separate machines: the three nodes share this machine's control
// socket directory, so commands that pick "the" node of a network name it by interface (`-i`),
// except the last `wh down NAME`, once only one node of the network is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Micronet, type Host } from '../micronet/index.js';
import { WH } from './whnet.js';
import { interfaceNameForKey } from '../../src/wg/index.js';

const TOOLS = ['ip', 'nft', 'ping', 'wireguard-go'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing tools: ${missing.join(' ')}` : false;
const NET = 'walkthru'; // the README's "home"; a name no other test run uses

test("the README's two-machine walk-through: keys, file, up, show, ping, reload, invite/join, down", { skip, timeout: 240_000 }, async () => {
  const net = await Micronet.create();
  const ifaces: string[] = [];
  const dirs = new Map<Host, string>();
  const sh = (h: Host, script: string, timeoutMs = 30_000) =>
    net.exec(h, ['sh', '-c', `wh() { '${process.execPath}' '${WH}' "$@"; }; ${script}`], { timeoutMs, env: { ...process.env, WH_CONFIG_DIR: dirs.get(h)! } });
  const until = async (h: Host, script: string, ms: number) => {
    const end = Date.now() + ms;
    let r = await sh(h, script);
    while (r.code !== 0 && Date.now() < end) { await new Promise((res) => setTimeout(res, 500)); r = await sh(h, script); }
    return r;
  };
  try {
    const a = await net.addPublicHost('a');
    const b = await net.addHost('b', await net.addRouter('rb', { nat: 'port-restricted' }));
    const laptop = await net.addHost('laptop', await net.addRouter('rl', { nat: 'address-restricted' }));
    for (const h of [a, b, laptop]) dirs.set(h, path.join(net.tmpdir, `${h.name}-etc-wirehub`));

    // 1. Keys.
    const keys = new Map<Host, string>();
    for (const h of [a, b]) {
      const r = await sh(h, `mkdir -p "$WH_CONFIG_DIR" && (umask 077 && wh genkey > "$WH_CONFIG_DIR/${NET}.sk") && wh pubkey < "$WH_CONFIG_DIR/${NET}.sk"`);
      assert.equal(r.code, 0, r.stderr);
      keys.set(h, r.stdout.trim());
      assert.equal(fs.statSync(path.join(dirs.get(h)!, `${NET}.sk`)).mode & 0o077, 0, 'the key file is private');
    }
    // 2. The network file, the same on both; a is the boot node.
    const file = [`name ${NET}`, 'subnet 10.42.0.0/24', `boot ${keys.get(a)} ${a.ip}:62096`,
      `trust a 10.42.0.1 ${keys.get(a)}`, `trust b 10.42.0.2 ${keys.get(b)}`].join('\n') + '\n';
    for (const h of [a, b]) fs.writeFileSync(path.join(dirs.get(h)!, `${NET}.conf`), file);
    const check = await sh(a, `wh check "$WH_CONFIG_DIR/${NET}.conf"`);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /10\.42\.0\.1/);
    assert.match(check.stdout, /10\.42\.0\.2/);

    // 3. wh up NAME on a, then on b: it names the interface and the log.
    for (const h of [a, b]) {
      const iface = interfaceNameForKey(keys.get(h)!);
      const up = await sh(h, `wh up ${NET}`);
      assert.equal(up.code, 0, `${h.name}: ${up.stderr}`);
      ifaces.push(iface);
      assert.match(`${up.stdout}${up.stderr}`, new RegExp(`${iface} is up \\(log: /var/log/wirehub/${iface}\\.log\\)`));
    }
    const [ifA, ifB] = ifaces as [string, string];

    // 5. (before 4: the path must exist first) wh ping b on a, then a plain ping.
    const wping = await until(a, `wh ping b -i ${ifA} -c 3`, 30_000);
    assert.equal(wping.code, 0, wping.stderr);
    assert.match(wping.stdout, /^pong from b \(10\.42\.0\.2\) via \S+ in [\d.]+ ?ms$/m, 'the path (direct: the address; else the relay) and the round trip');
    const ping = await until(a, 'ping -c1 -W1 10.42.0.2', 10_000);
    assert.equal(ping.code, 0, ping.stdout);

    // 4. wh show: the peer and its path.
    const show = await sh(a, `wh show ${ifA}`);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /peer: b \(10\.42\.0\.2\)\n\s+key: \S+\n\s+path: direct /);

    // 6. wh reload: a new trust line, live; the tunnel to b stays.
    const c = await sh(a, 'wh genkey | wh pubkey');
    fs.appendFileSync(path.join(dirs.get(a)!, `${NET}.conf`), `trust c 10.42.0.3 ${c.stdout.trim()}\n`);
    const reload = await sh(a, `wh reload ${ifA}`);
    assert.equal(reload.code, 0, reload.stderr);
    const after = await sh(a, `wh show ${ifA}`);
    assert.match(after.stdout, /peer: c \(10\.42\.0\.3\)/);
    assert.match(after.stdout, /peer: b \(10\.42\.0\.2\)\n\s+key: \S+\n\s+path: direct /);

    // 7. wh invite: refused on a, the network's only boot node (a joiner reaches the inviter
    // through a boot node other than the inviter); on b it works. wh join on the laptop (into its
    // own directory) starts the node.
    const onA = await sh(a, `wh invite ${ifA} laptop`);
    assert.equal(onA.code, 1);
    assert.match(onA.stderr, /has no boot line \(other than this node\): a joiner could not reach this node/);
    const inv = await sh(b, `wh invite ${ifB} laptop`);
    assert.equal(inv.code, 0, inv.stderr);
    const line = inv.stdout.trim();
    assert.match(line, /^wh-invite-1:\S+$/);
    const join = await sh(laptop, `wh join '${line}' --dir "$WH_CONFIG_DIR"`, 90_000);
    assert.equal(join.code, 0, join.stderr);
    const lkey = await sh(laptop, `wh pubkey < "$WH_CONFIG_DIR/${NET}.sk"`);
    ifaces.push(interfaceNameForKey(lkey.stdout.trim()));
    const bFile = fs.readFileSync(path.join(dirs.get(b)!, `${NET}.conf`), 'utf8');
    assert.ok(bFile.split('\n').some((l) => l.startsWith(`trust laptop ${lkey.stdout.trim()}`)), `b added the laptop: ${bFile}`);
    const lping = await until(laptop, 'ping -c1 -W1 10.42.0.2', 30_000);
    assert.equal(lping.code, 0, 'the laptop reaches b');

    // 8. wh down IFACE, and wh down NAME once b's is the only node of the network left.
    for (const [h, i] of [[laptop, ifaces[2]!], [a, ifA]] as const) {
      const d = await sh(h, `wh down ${i}`);
      assert.equal(d.code, 0, d.stderr);
    }
    const downB = await sh(b, `wh down ${NET}`);
    assert.equal(downB.code, 0, downB.stderr);
    for (const h of [a, b, laptop]) {
      const links = await net.exec(h, ['ip', '-o', 'link', 'show']);
      assert.doesNotMatch(links.stdout, / wh-/, `no interface left on ${h.name}`);
    }
    for (const i of ifaces) assert.ok(!fs.existsSync(`/var/run/wirehub/${i}.sock`), `no control socket of ${i}`);
  } finally {
    for (const i of ifaces) spawnSync(process.execPath, [WH, 'down', i], { stdio: 'ignore', timeout: 15_000 });
    await net.destroy();
  }
});

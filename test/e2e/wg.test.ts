// src/wg and src/firewall for real, as root, in two network namespaces of our own joined by a
// veth pair (never linked to the host's network):
//
//   whwg-XXXX-a  v0 10.201.0.1/24 fd20:1::1/64  ── veth ──  v0 10.201.0.2/24 fd20:1::2/64  whwg-XXXX-b
//   WireGuard whwgXXXXa 10.202.0.1/24 fd20:2::1/64          WireGuard whwgXXXXb 10.202.0.2/24 fd20:2::2/64
//
// Userspace WireGuard (wireguard-go) in each; ping through the tunnel; dump through UAPI and
// through `wg`; the nftables port sharing (a node socket in namespace a gets the 0xF7
// datagrams sent to WireGuard's port, and its replies leave from that port) from the other
// namespace, and between two "nodes" inside one namespace (loopback and own address); then
// removal, and `wh down`-style cleanup of orphaned and SIGKILLed wireguard-go processes.
// Everything is removed in `after`, also when a test fails. Run: node --test dist/test/e2e/wg.test.js
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  createInterface, destroyInterface, detectBackend, existingInterface, interfaceNameForKey, socketAccepts,
  socketOwners, socketPath, WgError, WgToolControl, UapiControl, type WgInterface,
} from '../../src/wg/index.js';
import { installPortShare, portShareInstalled, portShareTableName, portShareTables, removePortShare } from '../../src/firewall/index.js';
import { MAGIC } from '../../src/proto/packet.js';

const S = randomBytes(2).toString('hex');
const NS_A = `whwg-${S}-a`;
const NS_B = `whwg-${S}-b`;
const IF_A = `whwg${S}a`;
const IF_B = `whwg${S}b`;
const IF_ORPHAN = `whwg${S}o`;
const PORT_A = 51820;
const PORT_B = 51830;
const DAEMON_A = 51821;

const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
const inNs = (ns: string, cmd: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, cmd, ...args]);
const genkey = () => sh('wg', ['genkey']).trim();
const pubkey = (sk: string) => sh('wg', ['pubkey'], sk + '\n').trim();
const execFileP = promisify(execFile);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function ping(ns: string, addr: string): boolean {
  try {
    inNs(ns, 'ping', '-c1', '-W2', addr);
    return true;
  } catch {
    return false;
  }
}

const skA = genkey();
const skB = genkey();
const pkA = pubkey(skA);
const pkB = pubkey(skB);
let A: WgInterface | undefined;
let B: WgInterface | undefined;
const children = new Set<ChildProcess>();
const logs: string[] = [];
const log = (l: string) => logs.push(l);

// ---- helper processes inside a namespace (Node cannot switch namespaces itself) ----------

/** Binds UDP `port` on :: (dual stack); prints every datagram as JSON and answers it with
 *  0xF7 "pong". Prints "ready" once bound. */
const ECHO = `
const s = require('dgram').createSocket({ type: 'udp6', ipv6Only: false });
s.on('message', (m, r) => {
  console.log(JSON.stringify({ address: r.address.replace(/^::ffff:/, ''), port: r.port, hex: m.toString('hex') }));
  s.send(Buffer.concat([Buffer.from([0xf7]), Buffer.from('pong')]), r.port, r.address);
});
s.bind(Number(process.argv[1]), '::', () => console.log('ready'));
`;

/** Binds argv[1] ("host:port"), sends each [host, port, hex] of argv[2], prints the replies as
 *  JSON, exits after argv[3] replies or 2 s. */
const CLIENT = `
const [bind, sends, expect] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
const i = bind.lastIndexOf(':');
let host = bind.slice(0, i);
if (host.startsWith('[')) host = host.slice(1, -1);
const s = require('dgram').createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
let n = 0;
s.on('error', (e) => { console.error(e.message); process.exit(3); });
s.on('message', (m, r) => {
  console.log(JSON.stringify({ address: r.address, port: r.port, hex: m.toString('hex') }));
  if (++n >= expect) process.exit(0);
});
s.bind(Number(bind.slice(i + 1)), host, () => {
  for (const [h, p, hex] of sends) s.send(Buffer.from(hex, 'hex'), p, h);
  if (expect === 0) setTimeout(() => process.exit(0), 300);
});
setTimeout(() => process.exit(0), 2000);
`;

interface Datagram {
  address: string;
  port: number;
  hex: string;
}

function startEcho(ns: string, port: number): Promise<{ child: ChildProcess; got: Datagram[] }> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', ECHO, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const got: Datagram[] = [];
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (c: string) => {
      buf += c;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'ready') resolve({ child, got });
        else got.push(JSON.parse(line) as Datagram);
      }
    });
    child.once('exit', (code) => reject(new Error(`echo exited early (${code})`)));
  });
}

/** Runs CLIENT in `ns`; resolves with the replies it got. */
async function client(ns: string, bind: string, sends: [string, number, string][], expect: number): Promise<Datagram[]> {
  const { stdout } = await execFileP('ip', ['netns', 'exec', ns, process.execPath, '-e', CLIENT, bind, JSON.stringify(sends), String(expect)], { encoding: 'utf8' });
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Datagram);
}

/** Waits until `got` has `n` entries (the echo's output arrives asynchronously), at most 1 s. */
async function settle(got: Datagram[], n: number): Promise<void> {
  for (let i = 0; i < 50 && got.length < n; i++) await sleep(20);
  await sleep(20); // and a little more, to see any extra datagram
}

const PING_HEX = Buffer.concat([Buffer.from([MAGIC]), Buffer.from('ping')]).toString('hex');
const PONG_HEX = Buffer.concat([Buffer.from([MAGIC]), Buffer.from('pong')]).toString('hex');
const WG_LIKE_HEX = '0100000078787878'; // type 1 and three zero bytes: WireGuard's, never steered

// ---- setup and cleanup --------------------------------------------------------------------

before(() => {
  assert.equal(process.getuid?.(), 0, 'these tests need root (network namespaces)');
  for (const t of ['wireguard-go', 'wg', 'nft', 'ping']) {
    try {
      sh('sh', ['-c', `command -v ${t}`]);
    } catch {
      assert.fail(`${t} not found: apt-get install --no-install-recommends wireguard-go wireguard-tools nftables iputils-ping`);
    }
  }
  sh('ip', ['netns', 'add', NS_A]);
  sh('ip', ['netns', 'add', NS_B]);
  sh('ip', ['-n', NS_A, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0', 'netns', NS_B]);
  sh('ip', ['-n', NS_A, '-b', '-'], 'link set lo up\nlink set v0 up\naddress add 10.201.0.1/24 dev v0\naddress add fd20:1::1/64 dev v0 nodad\n');
  sh('ip', ['-n', NS_B, '-b', '-'], 'link set lo up\nlink set v0 up\naddress add 10.201.0.2/24 dev v0\naddress add fd20:1::2/64 dev v0 nodad\n');
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const i of [A, B]) await i?.destroy().catch(() => {});
  for (const name of [IF_A, IF_B, IF_ORPHAN]) await destroyInterface(name).catch(() => {});
  for (const ns of [NS_A, NS_B]) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* not created */
    }
  }
  for (const f of existsSync('/run/wireguard') ? readdirSync('/run/wireguard') : []) {
    if (f.startsWith(`whwg${S}`)) unlinkSync(`/run/wireguard/${f}`);
  }
  if (process.env['WHWG_VERBOSE']) console.log(logs.join('\n'));
});

// ---- tests -----------------------------------------------------------------------------

test('backend detection on this machine (no kernel module): userspace, or clear errors', async () => {
  const info = await detectBackend({ netns: NS_A });
  assert.equal(info.backend, 'userspace');
  assert.match(info.backend === 'userspace' ? info.command : '', /\/wireguard-go$/);
  await assert.rejects(detectBackend({ netns: NS_A, prefer: 'kernel' }), /kernel WireGuard is not available/);

  const saved = { ...process.env };
  try {
    process.env['PATH'] = '/nonexistent-whwg'; // `ip` is still found in /usr/sbin, wireguard-go no longer
    delete process.env['WG_USERSPACE_IMPLEMENTATION'];
    delete process.env['WG_QUICK_USERSPACE_IMPLEMENTATION'];
    await assert.rejects(detectBackend({ netns: NS_A }), (e: unknown) => e instanceof WgError && e.message.includes('apt-get install --no-install-recommends wireguard-go wireguard-tools'));
    process.env['WG_USERSPACE_IMPLEMENTATION'] = '/nonexistent-whwg/wg-impl';
    await assert.rejects(detectBackend({ prefer: 'userspace' }), /WG_USERSPACE_IMPLEMENTATION=\/nonexistent-whwg\/wg-impl: no such executable/);
    process.env['WG_USERSPACE_IMPLEMENTATION'] = saved['PATH']!.split(':').map((d) => `${d}/wireguard-go`).find((p) => existsSync(p))!;
    assert.deepEqual(await detectBackend({ prefer: 'userspace' }), { backend: 'userspace', command: process.env['WG_USERSPACE_IMPLEMENTATION'] });
  } finally {
    for (const k of ['PATH', 'WG_USERSPACE_IMPLEMENTATION', 'WG_QUICK_USERSPACE_IMPLEMENTATION']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test('two userspace interfaces, peers, ping through the tunnel, dump', async (t) => {
  let t0 = performance.now();
  A = await createInterface({ name: IF_A, privateKey: skA, listenPort: PORT_A, addresses: ['10.202.0.1/24', 'fd20:2::1/64'], log, netns: NS_A, backend: 'userspace' });
  const createMs = performance.now() - t0;
  B = await createInterface({ name: IF_B, privateKey: skB, listenPort: PORT_B, addresses: ['10.202.0.2/24', 'fd20:2::2/64'], mtu: 1400, log, netns: NS_B });
  t.diagnostic(`createInterface (userspace, spawn + socket + key + addresses + up): ${createMs.toFixed(1)} ms`);
  assert.equal(A.backend, 'userspace');
  assert.equal(B.backend, 'userspace');
  assert.ok(A.pid !== undefined && existsSync(`/proc/${A.pid}`));
  assert.deepEqual(socketOwners(socketPath(IF_A)), [A.pid]);

  const linkA = JSON.parse(sh('ip', ['-n', NS_A, '-j', 'address', 'show', 'dev', IF_A])) as { flags: string[]; mtu: number; addr_info: { local: string; prefixlen: number }[] }[];
  assert.ok(linkA[0]!.flags.includes('UP'));
  assert.equal(linkA[0]!.mtu, 1420);
  assert.deepEqual(linkA[0]!.addr_info.filter((a) => !a.local.startsWith('fe80')).map((a) => `${a.local}/${a.prefixlen}`), ['10.202.0.1/24', 'fd20:2::1/64']);
  assert.match(sh('ip', ['-n', NS_A, 'route', 'show', 'dev', IF_A]), /^10\.202\.0\.0\/24 .*scope link/m);
  assert.match(sh('ip', ['-n', NS_B, 'link', 'show', 'dev', IF_B]), /mtu 1400/);

  const dA = await A.dump();
  assert.deepEqual(dA, { publicKey: pkA, listenPort: PORT_A, peers: [] });

  // Both interfaces are up before any endpoint is set. A is configured over UAPI, B with `wg`
  // (the kernel backend's path), which also works on a userspace interface.
  await A.setPeer({ publicKey: pkB, endpoint: `10.201.0.2:${PORT_B}`, allowedIps: ['10.202.0.2/32', 'fd20:2::2/128'] });
  const wgB = new WgToolControl(IF_B);
  await wgB.setPeer({ publicKey: pkA, endpoint: `[fd20:1::1]:${PORT_A}`, allowedIps: ['10.202.0.1/32', 'fd20:2::1/128'], keepalive: 25 });

  t0 = performance.now();
  assert.ok(ping(NS_A, '10.202.0.2'), 'ping 10.202.0.2 through the tunnel');
  t.diagnostic(`first ping through the tunnel (handshake included): ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(ping(NS_B, 'fd20:2::1'), 'ping fd20:2::1 through the tunnel');

  const now = Date.now() / 1000;
  const peerB = (await A.dump()).peers;
  assert.equal(peerB.length, 1);
  assert.equal(peerB[0]!.publicKey, pkB);
  // A set B's IPv4 endpoint, but B talks to A over IPv6: WireGuard roams to the latest source.
  assert.ok([`10.201.0.2:${PORT_B}`, `[fd20:1::2]:${PORT_B}`].includes(peerB[0]!.endpoint!), peerB[0]!.endpoint);
  assert.deepEqual(peerB[0]!.allowedIps, ['10.202.0.2/32', 'fd20:2::2/128']);
  assert.ok(Math.abs(peerB[0]!.latestHandshake - now) < 30, `recent handshake (${peerB[0]!.latestHandshake} vs ${now})`);
  assert.ok(peerB[0]!.rxBytes > 0 && peerB[0]!.txBytes > 0, JSON.stringify(peerB[0]));
  assert.equal(peerB[0]!.keepalive, 0);

  // B read both ways gives the same thing.
  const viaUapi = await B.dump();
  const viaWg = await wgB.dump();
  assert.deepEqual(viaWg, viaUapi);
  assert.equal(viaUapi.peers[0]!.endpoint, `[fd20:1::1]:${PORT_A}`);
  assert.equal(viaUapi.peers[0]!.keepalive, 25);

  // Updating a peer replaces its allowed IPs; a missing endpoint keeps the current one.
  await A.setPeer({ publicKey: pkB, allowedIps: ['10.202.0.2/32'], keepalive: 5 });
  const upd = (await A.dump()).peers[0]!;
  assert.deepEqual([upd.allowedIps, upd.endpoint, upd.keepalive], [['10.202.0.2/32'], peerB[0]!.endpoint, 5]);
  await A.setPeer({ publicKey: pkB, endpoint: `10.201.0.2:${PORT_B}`, allowedIps: ['10.202.0.2/32', 'fd20:2::2/128'] });

  // Cost of one dump: UAPI against spawning `wg show dump`.
  const uapi = new UapiControl(socketPath(IF_A));
  t0 = performance.now();
  for (let i = 0; i < 200; i++) await uapi.dump();
  const uapiMs = (performance.now() - t0) / 200;
  const wgA = new WgToolControl(IF_A);
  t0 = performance.now();
  for (let i = 0; i < 20; i++) await wgA.dump();
  const wgMs = (performance.now() - t0) / 20;
  t.diagnostic(`dump: UAPI ${uapiMs.toFixed(2)} ms/call, \`wg show dump\` ${wgMs.toFixed(2)} ms/call`);

  // Errors: the name is taken (in the namespace, or by a socket of another namespace).
  await assert.rejects(createInterface({ name: IF_A, privateKey: skA, listenPort: 0, addresses: [], netns: NS_A }), /interface .* already exists/);
  await assert.rejects(createInterface({ name: IF_A, privateKey: skA, listenPort: 0, addresses: [], netns: NS_B }), /already exists: a userspace WireGuard serves/);
  // A listen port in use: the half-made interface is removed again.
  await assert.rejects(createInterface({ name: IF_ORPHAN, privateKey: skA, listenPort: PORT_A, addresses: [], netns: NS_A, log }), /errno -98|address in use/i);
  assert.ok(!existsSync(socketPath(IF_ORPHAN)));
  assert.throws(() => sh('ip', ['-n', NS_A, 'link', 'show', 'dev', IF_ORPHAN]));
  await assert.rejects(A.setPeer({ publicKey: 'nope', allowedIps: [] }), /peer public key is not a WireGuard key/);
  await assert.rejects(createInterface({ name: 'whwg/bad', privateKey: skA, listenPort: 0, addresses: [] }), /contains "\/"/);
  await assert.rejects(createInterface({ name: IF_ORPHAN, privateKey: skA, listenPort: 0, addresses: ['10.0.0.1'] }), /CIDR/);
});

test('port sharing: 0xF7 datagrams to the WireGuard port reach the daemon port, replies leave from it', async (t) => {
  assert.ok(A && B, 'needs the interfaces of the previous test');
  const table = portShareTableName(IF_A);
  assert.equal(await portShareInstalled(table, { netns: NS_A }), false);
  const echo = await startEcho(NS_A, DAEMON_A);

  // Without the rules, a daemon datagram to P goes to wireguard-go and is dropped.
  assert.deepEqual(await client(NS_B, '0.0.0.0:45000', [['10.201.0.1', PORT_A, PING_HEX]], 0), []);
  await settle(echo.got, 0);
  assert.equal(echo.got.length, 0);

  let t0 = performance.now();
  await installPortShare({ table, wgPort: PORT_A, daemonPort: DAEMON_A, marker: MAGIC, netns: NS_A });
  t.diagnostic(`installPortShare: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(await portShareInstalled(table, { netns: NS_A }), true);
  await installPortShare({ table, wgPort: PORT_A, daemonPort: DAEMON_A, netns: NS_A }); // replacing is fine
  assert.equal((sh('ip', ['netns', 'exec', NS_A, 'nft', 'list', 'tables']).match(new RegExp(`table ip6? ${table}$`, 'gm')) ?? []).length, 2);

  // From the other namespace, IPv4 and IPv6: the reply comes back from P, not D.
  const r4 = await client(NS_B, '0.0.0.0:45000', [['10.201.0.1', PORT_A, PING_HEX], ['10.201.0.1', PORT_A, WG_LIKE_HEX]], 1);
  assert.deepEqual(r4, [{ address: '10.201.0.1', port: PORT_A, hex: PONG_HEX }]);
  const r6 = await client(NS_B, '[::]:45001', [['fd20:1::1', PORT_A, PING_HEX]], 1);
  assert.deepEqual(r6, [{ address: 'fd20:1::1', port: PORT_A, hex: PONG_HEX }]);
  // The daemon socket saw only the marked datagrams, each from the sender's real port.
  await settle(echo.got, 2);
  assert.deepEqual(echo.got.map((d) => [d.address, d.port, d.hex]), [['10.201.0.2', 45000, PING_HEX], ['fd20:1::2', 45001, PING_HEX]]);

  // WireGuard on the same port still works.
  assert.ok(ping(NS_A, '10.202.0.2'), 'tunnel ping with the rules in place');
  assert.ok(ping(NS_B, 'fd20:2::1'), 'tunnel ping (IPv6) with the rules in place');
  const dB = (await B.dump()).peers[0]!;
  assert.ok(Date.now() / 1000 - dB.latestHandshake < 30);

  // Two nodes in one namespace: node 2 (WireGuard port P2, daemon port D2, its own table)
  // sends from D2 to node A's P on loopback and on A's own address; the reply comes back to D2
  // from P, and A's daemon saw node 2's public port P2. No output rule is needed for P: locally
  // sent datagrams come back in through `lo` and prerouting.
  const P2 = 51840;
  const D2 = 51841;
  const table2 = portShareTableName(`whwg${S}n2`);
  await installPortShare({ table: table2, wgPort: P2, daemonPort: D2, netns: NS_A });
  echo.got.length = 0;
  for (const [bind, to] of [['127.0.0.1', '127.0.0.1'], ['10.201.0.1', '10.201.0.1'], ['::1', '::1'], ['fd20:1::1', 'fd20:1::1']] as const) {
    const r = await client(NS_A, `${bind}:${D2}`, [[to, PORT_A, PING_HEX]], 1);
    assert.deepEqual(r, [{ address: to, port: PORT_A, hex: PONG_HEX }], `local ${to}`);
  }
  await settle(echo.got, 4);
  assert.deepEqual(echo.got.map((d) => [d.address, d.port]), [['127.0.0.1', P2], ['10.201.0.1', P2], ['::1', P2], ['fd20:1::1', P2]]);
  // A local datagram to a port nobody shares is not rewritten on the way out to its destination.
  const plain = await startEcho(NS_A, 51850);
  await client(NS_A, `127.0.0.1:${D2}`, [['127.0.0.1', 51850, PING_HEX]], 1);
  await settle(plain.got, 1);
  assert.deepEqual(plain.got.map((d) => d.port), [P2]);
  plain.child.kill();

  t0 = performance.now();
  await removePortShare(table2, { netns: NS_A });
  await removePortShare(table, { netns: NS_A });
  t.diagnostic(`removePortShare: ${((performance.now() - t0) / 2).toFixed(1)} ms`);
  assert.deepEqual(await portShareTables(table, { netns: NS_A }), { ip: false, ip6: false });
  assert.equal(await portShareInstalled(table, { netns: NS_A }), false);
  assert.doesNotMatch(sh('ip', ['netns', 'exec', NS_A, 'nft', 'list', 'tables']), /wirehub/);
  await removePortShare(table, { netns: NS_A }); // absent: no error

  // Without the rules the daemon port gets nothing through P any more.
  echo.got.length = 0;
  assert.deepEqual(await client(NS_B, '0.0.0.0:45000', [['10.201.0.1', PORT_A, PING_HEX]], 0), []);
  await settle(echo.got, 0);
  assert.equal(echo.got.length, 0);
  echo.child.kill();
});

test('removePeer, then destroy: no interface, no process, no socket', async () => {
  assert.ok(A && B, 'needs the interfaces of the first test');
  await A.removePeer(pkB);
  await A.removePeer(pkB); // absent: no error
  assert.deepEqual((await A.dump()).peers, []);
  await new WgToolControl(IF_B).removePeer(pkA);
  assert.deepEqual((await B.dump()).peers, []);

  const pid = A.pid!;
  const t0 = performance.now();
  await A.destroy();
  const ms = performance.now() - t0;
  assert.ok(ms < 1500, `destroy took ${ms} ms`);
  await A.destroy(); // idempotent
  assert.ok(!existsSync(`/proc/${pid}`), 'wireguard-go is gone');
  assert.ok(!existsSync(socketPath(IF_A)), 'socket removed');
  assert.throws(() => sh('ip', ['-n', NS_A, 'link', 'show', 'dev', IF_A]), 'link removed');
  assert.equal(await existingInterface(IF_A, { netns: NS_A }), null);
  await assert.rejects(A.dump(), /cannot talk to/);

  await B.destroy();
  assert.ok(!existsSync(socketPath(IF_B)));
});

test('destroyInterface: an orphaned wireguard-go, a SIGKILLed one (stale socket), other links', async () => {
  const spawnOrphan = async (): Promise<ChildProcess> => {
    const c = spawn('ip', ['netns', 'exec', NS_A, 'wireguard-go', '-f', IF_ORPHAN], { stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error', WG_PROCESS_FOREGROUND: '1' } });
    children.add(c);
    for (let i = 0; i < 250 && !(await socketAccepts(socketPath(IF_ORPHAN))); i++) await sleep(20);
    return c;
  };

  // A wireguard-go whose daemon is gone: found through its socket and stopped.
  const c1 = await spawnOrphan();
  const found = await existingInterface(IF_ORPHAN, { netns: NS_A });
  assert.equal(found?.backend, 'userspace');
  assert.equal(found?.pid, c1.pid);
  const orphanDump = await found!.dump();
  assert.deepEqual([orphanDump.publicKey, orphanDump.peers], ['', []]);
  const lines: string[] = [];
  assert.equal(await destroyInterface(IF_ORPHAN, { netns: NS_A, log: (l) => lines.push(l) }), true);
  assert.match(lines.join('\n'), new RegExp(`stopped pid ${c1.pid} \\(SIGTERM\\)`));
  assert.ok(!existsSync(`/proc/${c1.pid}`) || c1.exitCode !== null || c1.signalCode !== null);
  assert.ok(!existsSync(socketPath(IF_ORPHAN)));
  assert.throws(() => sh('ip', ['-n', NS_A, 'link', 'show', 'dev', IF_ORPHAN]));

  // SIGKILL leaves the socket file: destroyInterface removes it.
  const c2 = await spawnOrphan();
  const exited = new Promise((r) => c2.once('exit', r));
  c2.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(socketPath(IF_ORPHAN)), 'SIGKILL leaves the socket (as NOTES say)');
  assert.equal(await existingInterface(IF_ORPHAN, { netns: NS_A }), null);
  assert.equal(await destroyInterface(IF_ORPHAN, { netns: NS_A }), true);
  assert.ok(!existsSync(socketPath(IF_ORPHAN)));

  // Nothing left: nothing to do. Another kind of link: refused, left alone.
  assert.equal(await destroyInterface(IF_ORPHAN, { netns: NS_A }), false);
  await assert.rejects(destroyInterface('v0', { netns: NS_A }), /v0 is a veth link, not a WireGuard interface: left alone/);
  assert.match(sh('ip', ['-n', NS_A, 'link', 'show', 'dev', 'v0']), /v0/);
});

test('interfaceNameForKey names are accepted by `ip link`, also with + and / in the key', () => {
  const keys = ['a+b/c+d/' + 'A'.repeat(34) + 'A=', '//++//++' + 'A'.repeat(34) + 'A=', pkA];
  for (const k of keys) {
    const name = interfaceNameForKey(k);
    sh('ip', ['-n', NS_A, 'link', 'add', name, 'type', 'veth', 'peer', 'name', 'whwgpeer']);
    assert.match(sh('ip', ['-n', NS_A, 'link', 'show', 'dev', name]), new RegExp(name.replace(/[.+]/g, '\\$&')));
    sh('ip', ['-n', NS_A, 'link', 'del', name]);
  }
  assert.equal(interfaceNameForKey(keys[0]!), 'wh-a-b_c-d_');
});

test('no leftovers', () => {
  assert.deepEqual((existsSync('/run/wireguard') ? readdirSync('/run/wireguard') : []).filter((f) => f.startsWith(`whwg${S}`)), []);
  for (const ns of [NS_A, NS_B]) assert.doesNotMatch(sh('ip', ['-n', ns, '-o', 'link']), new RegExp(`: whwg${S}`));
});

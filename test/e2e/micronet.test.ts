// micronet end to end: real namespaces, real nftables NAT, a real miniupnpd. Needs root.
// One net is built for the whole file (about 20 namespaces); UDP is driven by one udp-agent
// per namespace (test/micronet/udp-agent.ts). Every wait is bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Micronet, type Host, type Router } from '../micronet/index.js';
import { UdpAgent } from '../micronet/agent.js';
import { buildNet } from '../micronet/spec.js';
import { cleanupStale, processStart, writeRegistry } from '../micronet/registry.js';
import { listNetns } from '../micronet/micronet.js';
import { pidsInNamespaces } from '../micronet/procs.js';

const CLI = fileURLToPath(new URL('../micronet/cli.js', import.meta.url));
const TOOLS = ['ip', 'nft', 'conntrack', 'ping', 'miniupnpd', 'upnpc'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing tools: ${missing.join(' ')}` : false;

const REFLECT = 7000;
const QUIET_MS = 400; // how long "nothing arrives" is watched

function rand4(): string {
  return Math.random().toString(36).slice(2, 6).padEnd(4, '0');
}

function ofPrefix(prefix: string): string[] {
  return listNetns().filter((n) => n.startsWith(`${prefix}-`));
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie is dead
  } catch {
    return false;
  }
}

function vethsHere(): string {
  return spawnSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' }).stdout;
}

describe('micronet', { skip }, () => {
  let net: Micronet;
  const hosts: Record<string, Host> = {};
  const routers: Record<string, Router> = {};
  const agents: Record<string, UdpAgent> = {};
  let vethsBefore = '';
  const refl = (name: string): string => `${hosts[name]!.ip}:${REFLECT}`;
  const nothingFrom = async (a: UdpAgent, port: number, data: string): Promise<void> => {
    const d = await a.waitFor((x) => x.port === port && x.data === data, QUIET_MS);
    assert.equal(d, null, `${a.host.name} should not have received "${data}" (got it from ${d?.from})`);
  };

  before(async () => {
    cleanupStale(); // leftovers of dead runs only
    vethsBefore = vethsHere();
    const t0 = Date.now();
    net = await Micronet.create();
    const rdefs: [string, Parameters<Micronet['addRouter']>[1]][] = [
      ['rpr', { nat: 'port-restricted' }], ['rsym', { nat: 'symmetric' }], ['rfc', { nat: 'full-cone' }],
      ['rar', { nat: 'address-restricted' }], ['rblk', { nat: 'blocked' }], ['rnone', { nat: 'none' }],
      ['rup2', { nat: 'port-restricted', upnp: 'igd2' }], ['rup1', { nat: 'port-restricted', upnp: 'igd1' }],
      ['rpmp', { nat: 'symmetric', upnp: 'natpmp' }], ['rpr2', { nat: 'port-restricted' }],
    ];
    const [pubs, rs] = await Promise.all([
      Promise.all(['pa', 'pb', 'pc'].map((n) => net.addPublicHost(n))),
      Promise.all(rdefs.map(([n, o]) => net.addRouter(n, o))),
    ]);
    for (const p of pubs) hosts[p.name] = p;
    for (const r of rs) routers[r.name] = r;
    const behind: [string, string][] = [['alice', 'rpr'], ['bob', 'rsym'], ['carol', 'rfc'], ['dave', 'rar'], ['eve', 'rblk'],
      ['nora', 'rnone'], ['frank', 'rup2'], ['fred', 'rup1'], ['gina', 'rpmp'], ['ana', 'rpr2']];
    for (const h of await Promise.all(behind.map(([n, r]) => net.addHost(n, routers[r]!)))) hosts[h.name] = h;
    const built = Date.now() - t0;
    const names = ['pa', 'pb', 'pc', 'alice', 'bob', 'carol', 'dave', 'eve', 'nora', 'gina', 'ana'];
    for (const a of await Promise.all(names.map((n) => UdpAgent.start(net, hosts[n]!)))) agents[a.host.name] = a;
    await Promise.all(['pa', 'pb', 'pc'].map((n) => agents[n]!.echo(REFLECT)));
    console.log(`# built ${net.all.length} namespaces in ${built} ms, agents up ${Date.now() - t0 - built} ms later`);
  });

  after(async () => {
    await net?.destroy();
  });

  test('addressing plan, and no default route that leads out of the run', async () => {
    assert.equal(net.internet.ip, '20.0.0.1');
    assert.deepEqual(['pa', 'pb', 'pc'].map((n) => hosts[n]!.ip), ['20.0.1.1', '20.0.1.2', '20.0.1.3']);
    assert.equal(routers.rpr!.ip, '20.0.2.1');
    assert.equal(routers.rpr!.lanSubnet, '192.168.1.0/24');
    assert.equal(hosts.alice!.ip, '192.168.1.2');
    assert.equal(hosts.alice!.publicIp, routers.rpr!.ip);
    assert.equal(hosts.nora!.ip, '20.0.106.2'); // behind the 'none' router (the 6th): a public address
    assert.equal(net.internet.ns, `${net.prefix}-inet`);
    assert.match(net.prefix, /^mn[a-z0-9]{4}$/);
    const results = await Promise.all(net.all.map(async (n) => [n, (await net.exec(n, ['ip', 'route', 'show', 'default'], { check: true })).stdout.trim()] as const));
    for (const [n, route] of results) {
      if (n.kind === 'host') assert.match(route, new RegExp(`^default via ${n.router!.lanIp.replace(/\./g, '\\.')} dev eth0`), n.name);
      else assert.equal(route, '', `${n.name} must have no default route`);
    }
    assert.equal(vethsHere(), vethsBefore, 'no veth end in the machine\'s own namespace');
  });

  test('hosts behind every kind of router reach a public host (ping)', async () => {
    const from = ['alice', 'bob', 'carol', 'dave', 'eve', 'nora', 'frank', 'gina'];
    const res = await Promise.all(from.map((n) => net.exec(hosts[n]!, ['ping', '-c1', '-W1', hosts.pa!.ip], { timeoutMs: 3000 })));
    res.forEach((r, i) => assert.equal(r.code, 0, `${from[i]}: ${r.stdout}${r.stderr}`));
  });

  test('a public host cannot reach a NATed host or its router unsolicited', async () => {
    await agents.alice!.bind(6000);
    const probe = await agents.pb!.bind(0);
    await agents.pb!.send(probe, `${routers.rpr!.ip}:6000`, 'unsolicited');
    await nothingFrom(agents.alice!, 6000, 'unsolicited');
    const ping = await net.exec(hosts.pb!, ['ping', '-c1', '-W0.3', routers.rpr!.ip], { timeoutMs: 3000 });
    assert.notEqual(ping.code, 0, 'the router drops unsolicited inbound on its WAN, ICMP too');
    // ...while a host behind the 'none' router is a public host: reachable.
    await agents.nora!.bind(6000);
    await agents.pb!.send(probe, `${hosts.nora!.ip}:6000`, 'to-nora');
    assert.ok(await agents.nora!.waitFor((d) => d.data === 'to-nora', 2000), 'nat none: reachable');
  });

  test('port-restricted: the source port is kept across destinations; inbound only from the exact address:port', async () => {
    const port = await agents.alice!.bind(5000);
    const seen = await agents.alice!.observe(port, [refl('pa'), refl('pb')]);
    assert.deepEqual(seen, [`${routers.rpr!.ip}:5000`, `${routers.rpr!.ip}:5000`]);
    await agents.pc!.send(REFLECT, `${routers.rpr!.ip}:5000`, 'from-uncontacted');
    const otherPort = await agents.pa!.bind(7001);
    await agents.pa!.send(otherPort, `${routers.rpr!.ip}:5000`, 'from-other-port');
    await agents.pa!.send(REFLECT, `${routers.rpr!.ip}:5000`, 'from-contacted');
    assert.ok(await agents.alice!.waitFor((d) => d.data === 'from-contacted', 2000), 'the contacted address:port gets in');
    await nothingFrom(agents.alice!, 5000, 'from-uncontacted');
    assert.equal(agents.alice!.received.find((d) => d.data === 'from-other-port'), undefined);
  });

  test('symmetric: a new mapping (port) per destination', async () => {
    const port = await agents.bob!.bind(5000);
    const seen = await agents.bob!.observe(port, [refl('pa'), refl('pb'), refl('pc')]);
    assert.ok(seen.every((s) => s?.startsWith(`${routers.rsym!.ip}:`)), JSON.stringify(seen));
    assert.ok(new Set(seen).size >= 2, `ports should differ: ${JSON.stringify(seen)}`);
  });

  test('full-cone: anyone reaches the mapped port once the host has sent out', async () => {
    const port = await agents.carol!.bind(5000);
    const [mapped] = await agents.carol!.observe(port, [refl('pa')]);
    assert.equal(mapped, `${routers.rfc!.ip}:5000`);
    const p = await agents.pc!.bind(7002);
    await agents.pc!.send(p, mapped!, 'third-party');
    const got = await agents.carol!.waitFor((d) => d.data === 'third-party', 2000);
    assert.equal(got?.from, `${hosts.pc!.ip}:7002`);
    await agents.carol!.send(port, got!.from, 'answer');
    const back = await agents.pc!.waitFor((d) => d.data === 'answer', 2000);
    assert.equal(back?.from, mapped, 'the answer leaves from the same mapping');
  });

  test('address-restricted: inbound from a contacted address, any port; not from others', async () => {
    const port = await agents.dave!.bind(5000);
    const [mapped] = await agents.dave!.observe(port, [refl('pa')]);
    assert.equal(mapped, `${routers.rar!.ip}:5000`);
    const p = await agents.pa!.bind(7003);
    await agents.pa!.send(p, mapped!, 'contacted-address-other-port');
    await agents.pc!.send(REFLECT, mapped!, 'uncontacted-address');
    assert.ok(await agents.dave!.waitFor((d) => d.data === 'contacted-address-other-port', 2000));
    await nothingFrom(agents.dave!, 5000, 'uncontacted-address');
  });

  test('blocked: UDP is dropped both ways (ICMP still passes)', async () => {
    const port = await agents.eve!.bind(5000);
    const seen = await agents.eve!.observe(port, [refl('pa')], QUIET_MS);
    assert.deepEqual(seen, [null]);
    assert.equal(agents.pa!.received.some((d) => d.from.startsWith(`${routers.rblk!.ip}:`)), false);
  });

  /**
   * Hole punching as a node would do it: both learn their public address from a reflector, then
   * send to each other's every 50 ms (20 rounds at most), also answering to any address the peer
   * is actually seen from. True when both got through.
   */
  const punch = async (a: UdpAgent, b: UdpAgent, port: number): Promise<boolean> => {
    await Promise.all([a.bind(port), b.bind(port)]);
    const [addrA] = await a.observe(port, [refl('pa')]);
    const [addrB] = await b.observe(port, [refl('pa')]);
    assert.ok(addrA && addrB);
    const tag = rand4();
    const heard = (x: UdpAgent, from: string): string | undefined => x.received.find((d) => d.port === port && d.data === `punch-${tag}-${from}`)?.from;
    for (let round = 0; round < 20; round++) {
      const toB = new Set([addrB, heard(a, 'b')].filter((t): t is string => !!t));
      const toA = new Set([addrA, heard(b, 'a')].filter((t): t is string => !!t));
      await Promise.all([...[...toB].map((t) => a.send(port, t, `punch-${tag}-a`)), ...[...toA].map((t) => b.send(port, t, `punch-${tag}-b`))]);
      if (heard(a, 'b') && heard(b, 'a')) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };

  test('hole punching: port-restricted pairs and full-cone/symmetric connect, port-restricted/symmetric does not', async () => {
    assert.equal(await punch(agents.alice!, agents.ana!, 5100), true, 'port-restricted <-> port-restricted');
    assert.equal(await punch(agents.carol!, agents.bob!, 5100), true, 'full-cone <-> symmetric');
    assert.equal(await punch(agents.ana!, agents.bob!, 5101), false, 'port-restricted <-> symmetric needs a relay');
  });

  test('setNat changes a router live', async () => {
    await net.setNat(routers.rpr!, 'symmetric');
    assert.equal(routers.rpr!.nat, 'symmetric');
    const port = await agents.alice!.bind(5001);
    const seen = await agents.alice!.observe(port, [refl('pa'), refl('pb'), refl('pc')]);
    assert.ok(new Set(seen).size >= 2 && !seen.includes(null), JSON.stringify(seen));
    await net.setNat('rpr', 'port-restricted');
    const again = await agents.alice!.observe(await agents.alice!.bind(5002), [refl('pa'), refl('pb')]);
    assert.deepEqual(again, [`${routers.rpr!.ip}:5002`, `${routers.rpr!.ip}:5002`]);
    await assert.rejects(net.setNat(routers.rpr!, 'none'), /none/);
  });

  test('miniupnpd (IGD v2 and v1): upnpc -a opens a port to the host, upnpc -d closes it', async () => {
    const cases = [['frank', 'rup2', '2'], ['fred', 'rup1', '1']] as const;
    for (const [h] of cases) agents[h] = await UdpAgent.start(net, hosts[h]!);
    await Promise.all(cases.map(async ([h, r, igd]) => {
      const host = hosts[h]!;
      const wan = routers[r]!.ip;
      await agents[h]!.bind(6000);
      const add = await net.exec(host, ['upnpc', '-e', 't', '-a', host.ip, '6000', '6000', 'UDP'], { timeoutMs: 8000 });
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.match(add.stdout, new RegExp(`external ${wan.replace(/\./g, '\\.')}:6000 UDP is redirected to internal ${host.ip.replace(/\./g, '\\.')}:6000`));
      const p1 = await agents.pb!.bind(0);
      await agents.pb!.send(p1, `${wan}:6000`, `mapped-${h}`);
      assert.ok(await agents[h]!.waitFor((d) => d.data === `mapped-${h}`, 2000), `${h}: the mapping lets the public host in`);
      const del = await net.exec(host, ['upnpc', '-d', '6000', 'UDP'], { timeoutMs: 8000 });
      assert.equal(del.code, 0, del.stdout + del.stderr);
      const p2 = await agents.pb!.bind(0); // a new flow: the old one's conntrack entry still stands
      await agents.pb!.send(p2, `${wan}:6000`, `unmapped-${h}`);
      await nothingFrom(agents[h]!, 6000, `unmapped-${h}`);
      assert.match(net.miniupnpdLog(r), new RegExp(`WANIPConnection:${igd}#AddPortMapping`));
    }));
  });

  test('miniupnpd NAT-PMP only: a mapping request opens a port, lifetime 0 closes it', async () => {
    const gina = agents.gina!;
    const r = routers.rpmp!;
    await gina.bind(6000);
    const m = await gina.natpmp(r.lanIp, 6000, 6000, 600);
    assert.equal(m.result, 0);
    const p1 = await agents.pc!.bind(0);
    await agents.pc!.send(p1, `${r.ip}:${m.external}`, 'pmp-mapped');
    assert.ok(await gina.waitFor((d) => d.data === 'pmp-mapped', 2000));
    assert.equal((await gina.natpmp(r.lanIp, 6000, 0, 0)).result, 0);
    const p2 = await agents.pc!.bind(0);
    await agents.pc!.send(p2, `${r.ip}:${m.external}`, 'pmp-unmapped');
    await nothingFrom(gina, 6000, 'pmp-unmapped');
    assert.doesNotMatch(net.miniupnpdLog(r), /HTTP listening/, 'UPnP is off in natpmp mode');
  });

  test('a failing build (duplicate name) removes everything it made', async () => {
    const name = `mnf${rand4()}`;
    await assert.rejects(
      buildNet({ name, routers: [{ name: 'r1' }, { name: 'r2', upnp: 'igd2' }], hosts: [{ name: 'x', router: 'r1' }, { name: 'x', public: true }] }),
      /duplicate node name "x"/,
    );
    assert.deepEqual(ofPrefix(name), []);
    assert.equal(existsSync(`/run/micronet/${name}.json`), false);
    assert.equal(listTmp(name).length, 0);
  });

  test('a namespace that is not the run\'s is refused and left alone', async () => {
    const foreign = `${net.prefix}-ghost`;
    spawnSync('ip', ['netns', 'add', foreign]);
    try {
      await assert.rejects(net.addPublicHost('ghost'), /already exists/);
      assert.ok(!net.all.some((n) => n.name === 'ghost'));
    } finally {
      // The run does not list it: destroy() at the end would not touch it. Remove it here.
      spawnSync('ip', ['netns', 'del', foreign]);
    }
  });

  test('micronet cleanup removes dead runs only, and only their names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'micronet-reg-'));
    const dead = `mnd${rand4()}`, live = `mnl${rand4()}`, other = `mno${rand4()}`;
    const made: string[] = [];
    try {
      for (const ns of [`${dead}-a`, `${dead}-b`, `${live}-a`, `${other}-x`]) {
        spawnSync('ip', ['netns', 'add', ns]);
        made.push(ns);
      }
      const sleeper = spawn('ip', ['netns', 'exec', `${dead}-a`, 'sleep', '30'], { stdio: 'ignore' });
      const done = spawnSync('true');
      const deadPid = done.pid!;
      const tmp = mkdtempSync(join(tmpdir(), `micronet-${dead}-`));
      writeRegistry(dir, { prefix: dead, pid: deadPid, pidStart: '1', created: '', namespaces: [`${dead}-a`, `${dead}-b`, `${other}-x`, `${dead}-never`], tmpdir: tmp });
      writeRegistry(dir, { prefix: live, pid: process.pid, pidStart: processStart(process.pid), created: '', namespaces: [`${live}-a`], tmpdir: null });
      writeFileSync(join(dir, 'junk.json'), '{"prefix":"../etc"}');
      const report = cleanupStale(dir);
      assert.deepEqual(report.cleaned, [{ prefix: dead, namespaces: [`${dead}-b`, `${dead}-a`] }]);
      assert.deepEqual(report.live, [{ prefix: live, pid: process.pid }]);
      assert.equal(report.refused.length, 2, report.refused.join('\n')); // the foreign name, the junk file
      assert.deepEqual(ofPrefix(dead), []);
      assert.deepEqual(ofPrefix(live), [`${live}-a`]);
      assert.deepEqual(ofPrefix(other), [`${other}-x`]);
      assert.equal(existsSync(tmp), false);
      assert.equal(existsSync(join(dir, `${dead}.json`)), false);
      assert.equal(existsSync(join(dir, `${live}.json`)), true);
      await waitUntil(() => sleeper.exitCode !== null || sleeper.signalCode !== null, 2000);
      assert.equal(sleeper.signalCode, 'SIGKILL', 'the process inside the dead run\'s namespace is killed');
    } finally {
      for (const ns of made) if (existsSync(`/run/netns/${ns}`)) spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('micronet up SPEC.json builds, prints, and destroys on SIGINT; --help', async () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /micronet up SPEC\.json|up SPEC\.json/);
    const name = `mnc${rand4()}`;
    const dir = mkdtempSync(join(tmpdir(), 'micronet-spec-'));
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ name, routers: [{ name: 'r1', nat: 'symmetric', upnp: 'igd2' }], hosts: [{ name: 'a', router: 'r1' }, { name: 'boot', public: true }] }));
    const child = spawn(process.execPath, [CLI, 'up', spec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    try {
      await waitUntil(() => out.includes('Ctrl-C'), 10_000);
      assert.match(out, new RegExp(`a\\s+host\\s+${name}-a\\s+192\\.168\\.1\\.2\\s+20\\.0\\.2\\.1`));
      assert.match(out, new RegExp(`boot\\s+public\\s+${name}-boot\\s+20\\.0\\.1\\.1`));
      assert.deepEqual(ofPrefix(name).sort(), [`${name}-a`, `${name}-boot`, `${name}-inet`, `${name}-r1`]);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<string>((r) => { timer = setTimeout(() => r('timeout'), 10_000); })]);
      clearTimeout(timer);
      assert.equal(code, 0);
      assert.deepEqual(ofPrefix(name), []);
      assert.equal(existsSync(`/run/micronet/${name}.json`), false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('destroy() leaves no namespace, no process, no file; it is idempotent', async () => {
    const names = net.all.map((n) => n.ns);
    const pids = pidsInNamespaces(names);
    assert.ok(pids.length >= 12, `agents and miniupnpds run (${pids.length})`);
    const t0 = Date.now();
    await net.destroy();
    console.log(`# destroy: ${Date.now() - t0} ms`);
    assert.deepEqual(ofPrefix(net.prefix), []);
    for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} still alive`);
    assert.equal(existsSync(net.tmpdir), false);
    assert.equal(existsSync(`/run/micronet/${net.prefix}.json`), false);
    assert.equal(vethsHere(), vethsBefore);
    await net.destroy();
    assert.throws(() => net.spawn('pa', 'true'), /destroyed/);
  });
});

function listTmp(prefix: string): string[] {
  return spawnSync('sh', ['-c', `ls -d ${tmpdir()}/micronet-${prefix}-* 2>/dev/null`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
}

async function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('micronet up (the CLI)', { skip }, () => {
  // With nothing running inside it (no miniupnpd, no agent) the net holds no handle of the
  // CLI's event loop: `up` must still wait for a signal, not exit and destroy the net.
  test('micronet up stays up until SIGINT even when nothing runs inside the net', async () => {
    const name = `mnq${rand4()}`;
    const dir = mkdtempSync(join(tmpdir(), 'micronet-spec-'));
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ name, hosts: [{ name: 'boot', public: true }] }));
    const child = spawn(process.execPath, [CLI, 'up', spec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => out.includes('Ctrl-C') || child.exitCode !== null, 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(child.exitCode, null, `micronet up exited by itself (stderr: ${err})`);
      assert.deepEqual(ofPrefix(name).sort(), [`${name}-boot`, `${name}-inet`]);
      child.kill('SIGINT');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<string>((r) => { timer = setTimeout(() => r('timeout'), 10_000); })]);
      clearTimeout(timer);
      assert.equal(code, 0);
      assert.match(err, /destroyed/);
      assert.deepEqual(ofPrefix(name), []);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      for (const ns of ofPrefix(name)) spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});

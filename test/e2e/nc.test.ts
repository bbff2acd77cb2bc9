// `0nc` end to end (src/cli/commands/nc.ts): two hosts behind different NATs, a public boot
// node; once a pair that punches (port-restricted and full-cone), once a pair that must be
// relayed (port-restricted and symmetric: the invitation's exchange and then WireGuard go
// through the boot node's relay); 10 MiB of random data each way through `0nc` (the listening side prints the
// invitation on stderr), SHA-256 equal on both ends, exit 0 on both, nothing left behind (no
// interface, no control socket, no temporary directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WhNet } from './whnet.js';
import type { NatType } from '../micronet/index.js';

const NC = fileURLToPath(new URL('../../../bin/0nc.js', import.meta.url));
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

test('0nc across two NATs that punch: 10 MiB each way, hashes equal, exit 0, nothing left', { timeout: 180_000 }, () => transfer('nc', 'full-cone', false));

test('0nc across two NATs that must be relayed (port-restricted, symmetric): 10 MiB each way, hashes equal, exit 0, nothing left', { timeout: 180_000 }, () => transfer('ncrel', 'symmetric', true));

async function transfer(name: string, natB: NatType, relayed: boolean): Promise<void> {
  const w = await WhNet.create(name);
  let listen: ReturnType<WhNet['net']['spawn']> | undefined;
  try {
    await w.addNode('boot1', { role: 'boot' });
    const a = await w.addNode('a', { nat: 'port-restricted' });
    const b = await w.addNode('b', { nat: natB });
    w.writeConfigs([]);
    await w.up('boot1');
    const inA = path.join(w.dir, 'a.in'), inB = path.join(w.dir, 'b.in'), outA = path.join(w.dir, 'a.out'), outB = path.join(w.dir, 'b.out');
    for (const f of [inA, inB]) {
      const fd = fs.openSync(f, 'w');
      for (let i = 0; i < 10; i++) fs.writeSync(fd, randomBytes(1 << 20));
      fs.closeSync(fd);
    }
    // (Other runs may make and remove their own at the same time: only ours are counted.)
    const tmpBefore = new Set(fs.readdirSync('/tmp').filter((f) => f.startsWith('wh-nc-')));
    const t0 = Date.now();
    let errA = '';
    // `exec`: the spawned process is 0nc itself, so the bounded wait below can stop it.
    listen = w.net.spawn(a.host, 'sh', ['-c', `exec ${process.execPath} ${NC} --boot-config ${w.bootConfigFile} < ${inA} > ${outA}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    listen.stderr!.on('data', (d: Buffer) => { errA += d.toString(); });
    let line = '';
    for (let i = 0; i < 300 && line === ''; i++) {
      line = /^(wh-invite-1:\S+)$/m.exec(errA)?.[1] ?? '';
      if (listen.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(line, `the listening side printed an invitation: ${errA}`);
    const tInv = Date.now() - t0;
    const join = await w.net.exec(b.host, ['sh', '-c', `${process.execPath} ${NC} '${line}' < ${inB} > ${outB}`], { timeoutMs: 120_000 });
    // The listener ends once it has all of the joiner's data; bounded, so that a lost tail fails
    // this test instead of hanging it (and the whole run) past the test's timeout.
    const lst = listen;
    const codeA = lst.exitCode ?? await new Promise<number | null>((r) => {
      const t = setTimeout(() => { lst.kill('SIGINT'); r(null); }, 30_000);
      lst.once('exit', (c) => { clearTimeout(t); r(c); });
    });
    const ms = Date.now() - t0;
    process.stdout.write(`0nc: invitation after ${tInv} ms; both ends done after ${ms} ms\nlistener stderr: ${errA}\njoiner stderr: ${join.stderr}\n`);
    assert.equal(join.code, 0, `joiner exit: ${join.stderr}`);
    assert.equal(codeA, 0, `listener exit (null: still running 30 s after the joiner ended; it had ${fs.statSync(outA).size} of ${10 << 20} bytes): ${errA}`);
    const hashes = { aSent: sha(inA), bGot: sha(outB), bSent: sha(inB), aGot: sha(outA) };
    process.stdout.write(`${JSON.stringify({ nat: ['port-restricted', natB], bytesEachWay: 10 << 20, ms, ...hashes })}\n`);
    if (relayed) assert.match(join.stderr, /no direct path to the inviter: asking through the relay/, 'the invitation went through the relay');
    else assert.doesNotMatch(join.stderr, /through the relay/, 'the invitation went direct');
    assert.equal(hashes.bGot, hashes.aSent, 'a → b intact');
    assert.equal(hashes.aGot, hashes.bSent, 'b → a intact');
    const ifaces = [...`${errA}\n${join.stderr}`.matchAll(/node (wh-[^ ]+) up/g)].map((m) => m[1]!);
    assert.equal(ifaces.length, 2, 'both sides said which interface they made');
    for (const i of ifaces) assert.ok(!fs.existsSync(`/var/run/wirehub/${i}.sock`), `no control socket of ${i} left`);
    assert.deepEqual(fs.readdirSync('/tmp').filter((f) => f.startsWith('wh-nc-') && !tmpBefore.has(f)), [], 'no temporary directory left');
    for (const n of [a, b]) {
      const links = await w.net.exec(n.host, ['ip', '-o', 'link', 'show']);
      for (const i of ifaces) assert.ok(!links.stdout.includes(`${i}:`), `no interface ${i} left on ${n.name}`);
    }
  } finally {
    if (listen !== undefined && listen.exitCode === null && listen.signalCode === null) listen.kill('SIGKILL');
    await w.destroy();
  }
}

test('0nc interrupted (SIGINT) while it waits: exit 130, its interface, socket and directory gone', { timeout: 90_000 }, async () => {
  const w = await WhNet.create('ncint');
  try {
    await w.addNode('boot1', { role: 'boot' });
    const a = await w.addNode('a', { nat: 'port-restricted' });
    w.writeConfigs([]);
    await w.up('boot1');
    const tmpBefore = new Set(fs.readdirSync('/tmp').filter((f) => f.startsWith('wh-nc-')));
    const listen = w.net.spawn(a.host, process.execPath, [NC, '--boot-config', w.bootConfigFile], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    listen.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    for (let i = 0; i < 300 && !/waiting for the other side/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(err, /waiting for the other side/);
    const iface = /node (wh-[^ ]+) up/.exec(err)![1]!;
    const made = fs.readdirSync('/tmp').filter((f) => f.startsWith('wh-nc-') && !tmpBefore.has(f));
    assert.equal(made.length, 1, 'one directory made while it runs');
    assert.ok(fs.existsSync(`/var/run/wirehub/${iface}.sock`), 'its node runs');
    assert.ok((await w.net.exec(a.host, ['nft', 'list', 'tables'])).stdout.includes(iface), 'with its firewall table');
    assert.ok((await w.net.exec(a.host, ['ip', '-o', 'link', 'show'])).stdout.includes(`${iface}:`), 'and its interface');
    listen.kill('SIGINT');
    const code = await new Promise<number | null>((r) => listen.once('exit', (c) => r(c)));
    assert.equal(code, 130, err);
    assert.ok(!fs.existsSync(`/var/run/wirehub/${iface}.sock`), 'control socket gone');
    assert.ok(!fs.existsSync(path.join('/tmp', made[0]!)), 'directory gone');
    const links = await w.net.exec(a.host, ['ip', '-o', 'link', 'show']);
    assert.ok(!links.stdout.includes(`${iface}:`), 'interface gone');
    const nft = await w.net.exec(a.host, ['nft', 'list', 'tables']);
    assert.ok(!nft.stdout.includes(iface), `firewall table gone: ${nft.stdout}`);
  } finally {
    await w.destroy();
  }
});

test('0nc in a terminal (tmux): a typed line reaches the other side, its answer shows in the pane, Ctrl-D ends both with 0', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('nctty');
  const tmux = ['tmux', '-L', `wh-nc-test-${process.pid}`];
  try {
    await w.addNode('boot1', { role: 'boot' });
    const a = await w.addNode('a', { nat: 'port-restricted' });
    const b = await w.addNode('b', { nat: 'full-cone' });
    w.writeConfigs([]);
    await w.up('boot1');
    const errFile = path.join(w.dir, 'a.err');
    const started = await w.net.exec(a.host, [...tmux, 'new-session', '-d', '-s', 'nc', '-x', '200', '-y', '20', `${process.execPath} ${NC} --boot-config ${w.bootConfigFile} 2>${errFile}; echo "exit=$?"; sleep 30`]);
    assert.equal(started.code, 0, started.stderr);
    let line = '';
    for (let i = 0; i < 300 && line === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      line = /^(wh-invite-1:\S+)$/m.exec(fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : '')?.[1] ?? '';
    }
    assert.ok(line, 'the terminal side printed an invitation');
    const join = w.net.spawn(b.host, process.execPath, [NC, line], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '', err = '';
    join.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    join.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    for (let i = 0; i < 400 && !/connected to/.test(err); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(err, /connected to/);
    await w.net.exec(a.host, [...tmux, 'send-keys', '-t', 'nc', 'hello from a terminal', 'Enter']);
    for (let i = 0; i < 100 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(out, 'hello from a terminal\n', 'the typed line, on the other side\'s stdout');
    join.stdin!.write('and back\n');
    join.stdin!.end();
    let pane = '';
    for (let i = 0; i < 100 && !pane.includes('and back'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      pane = (await w.net.exec(a.host, [...tmux, 'capture-pane', '-p', '-t', 'nc'])).stdout;
    }
    assert.match(pane, /^and back$/m, `the answer shows in the terminal:\n${pane}`);
    await w.net.exec(a.host, [...tmux, 'send-keys', '-t', 'nc', 'C-d']);
    const code = join.exitCode ?? await new Promise<number | null>((r) => join.once('exit', (c) => r(c)));
    assert.equal(code, 0, err);
    for (let i = 0; i < 100 && !/exit=\d+/.test(pane); i++) {
      await new Promise((r) => setTimeout(r, 100));
      pane = (await w.net.exec(a.host, [...tmux, 'capture-pane', '-p', '-t', 'nc'])).stdout;
    }
    assert.match(pane, /^exit=0$/m, `the terminal side ended with 0:\n${pane}`);
  } finally {
    await w.net.exec(w.nodes.get('a')!.host, [...tmux, 'kill-server']).catch(() => undefined);
    await w.destroy();
  }
});

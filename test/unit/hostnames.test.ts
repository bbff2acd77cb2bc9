// Names for every program (`hosts yes`, `dns yes`): the directives, the zone, the hosts-file
// block (text, and the locked atomic rewrite, with two processes writing at once), and the DNS
// answers (pure, then over a real socket, asked by dig when it is installed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { keyToBase64 } from '../../src/crypto/keys.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { ConfigError, parseConfig, type NetworkConfig } from '../../src/config/index.js';
import { namesWanted, zoneOf, type Zone } from '../../src/daemon/nameszone.js';
import { HostsBlockError, hostsBlock, hostsBlocks, replaceHostsBlock } from '../../src/daemon/hostsblock.js';
import { editHostsFile, removeHostsBlock, removeHostsBlockSync } from '../../src/daemon/hostsfile.js';
import { answerQuery } from '../../src/daemon/dnsanswer.js';
import { DnsServer } from '../../src/daemon/dnsserver.js';
import { HostNames } from '../../src/daemon/hostnames.js';
import { Counters } from '../../src/util/counters.js';
import { realClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/log.js';
import { DNS_QUERIES_PER_SOURCE, DNS_TTL } from '../../src/params.js';

const sodium = await sodiumReady();
const K = (i: number): string => keyToBase64(sodium.crypto_generichash(32, new Uint8Array([i, 7]), null));
const parse = (text: string): NetworkConfig => parseConfig(text, 'net.conf', sodium);
const errorsOf = (text: string): string[] => {
  try { parse(text); } catch (e) { if (e instanceof ConfigError) return e.lines; throw e; }
  return assert.fail('expected a ConfigError');
};
const BASE = ['name e2e', 'subnet 10.77.0.0/24', 'subnet fd00:77::/64', `trust node_a 10.77.0.1 ${K(1)}`, `trust bob ${K(2)}`, `trust ${K(3)}`, `peer carol ${K(4)}`];
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'hostnames-'));

describe('the hosts and dns directives', () => {
  test('off by default; yes and no, each once', () => {
    assert.deepEqual(namesWanted(parse(BASE.join('\n'))), { hosts: false, dns: false });
    assert.deepEqual(namesWanted(parse([...BASE, 'hosts yes', 'dns no'].join('\n'))), { hosts: true, dns: false });
    assert.deepEqual(namesWanted(parse([...BASE, 'dns yes'].join('\n'))), { hosts: false, dns: true });
  });

  test('errors name the file, the line and the reason', () => {
    assert.deepEqual(errorsOf([...BASE, 'hosts on'].join('\n')), ['net.conf:8: "hosts" takes yes or no, got "on" (usage: hosts yes|no)']);
    assert.deepEqual(errorsOf([...BASE, 'dns'].join('\n')), ['net.conf:8: "dns" takes exactly one argument, got none (usage: dns yes|no)']);
    assert.deepEqual(errorsOf([...BASE, 'dns yes', 'dns no'].join('\n')), ['net.conf:9: duplicate "dns" directive (already given on line 8; it may appear only once)']);
    assert.deepEqual(errorsOf([...BASE, 'host yes'].join('\n')), ['net.conf:8: unknown directive "host" (did you mean "hosts"?)']);
  });

  test('a network name that cannot end a DNS name is refused only when names are published', () => {
    const odd = ['name a..b', ...BASE.slice(1)];
    parse(odd.join('\n'));
    const [e] = errorsOf([...odd, 'hosts yes'].join('\n'));
    assert.match(e!, /^net\.conf:8: "hosts yes" publishes names under the network name, but the network name "a\.\.b" has an empty label/);
    assert.match(errorsOf(['name 42', ...BASE.slice(1), 'dns yes'].join('\n'))[0]!, /^net\.conf:8: .*all-digit label/);
  });
});

describe('the zone', () => {
  test('trusted peers with a hostname, this node included; sorted; no untrusted peer, no unnamed one', () => {
    const z = zoneOf(parse(BASE.join('\n')));
    assert.equal(z.network, 'e2e');
    assert.deepEqual(z.entries.map((e) => e.name), ['bob', 'node_a']);
    assert.equal(z.entries[1]!.ipv4, '10.77.0.1');
    assert.match(z.entries[1]!.ipv6!, /^fd00:77::/);
    assert.ok(z.entries[0]!.ipv4 && z.entries[0]!.ipv6);
  });
});

const ZONE: Zone = { network: 'e2e', entries: [{ name: 'bob', ipv4: '10.77.0.2' }, { name: 'node_a', ipv4: '10.77.0.1', ipv6: 'fd00:77::1' }, { name: 'x.y', ipv6: 'fd00:77::9' }] };

describe('the hosts-file block', () => {
  const theirs = '127.0.0.1\tlocalhost\n# a comment\n::1 localhost ip6-localhost\n';
  const block = hostsBlock('wh-aaa', ZONE);

  test('holds IP NAME.NETWORK NAME for each address, between markers naming interface and network', () => {
    assert.deepEqual(block, [
      '# BEGIN WireHub wh-aaa network e2e (written by wh up, removed by wh down; do not edit)',
      '10.77.0.2\tbob.e2e bob', '10.77.0.1\tnode_a.e2e node_a', 'fd00:77::1\tnode_a.e2e node_a', 'fd00:77::9\tx.y.e2e x.y',
      '# END WireHub wh-aaa',
    ]);
  });

  test('added at the end, replaced in place, removed: the other lines stay byte for byte', () => {
    const one = replaceHostsBlock(theirs, 'wh-aaa', block);
    assert.equal(one, theirs + block.join('\n') + '\n');
    const mine = hostsBlock('wh-aaa', { network: 'e2e', entries: [{ name: 'bob', ipv4: '10.77.0.3' }] });
    const edited = replaceHostsBlock(one + '10.0.0.9 after\n', 'wh-aaa', mine);
    assert.equal(edited, theirs + mine.join('\n') + '\n10.0.0.9 after\n');
    assert.equal(replaceHostsBlock(edited, 'wh-aaa', undefined), theirs + '10.0.0.9 after\n');
    assert.equal(replaceHostsBlock(one, 'wh-aaa', undefined), theirs);
    assert.equal(replaceHostsBlock(theirs, 'wh-aaa', undefined), theirs, 'nothing to remove: unchanged');
  });

  test('two interfaces, two blocks, each edited alone; CRLF, no final newline and an empty file handled', () => {
    const other = hostsBlock('wh-bbb', { network: 'lab', entries: [{ name: 'bob', ipv4: '10.9.0.2' }] });
    const both = replaceHostsBlock(replaceHostsBlock(theirs, 'wh-aaa', block), 'wh-bbb', other);
    assert.deepEqual(hostsBlocks(both), ['wh-aaa', 'wh-bbb']);
    assert.equal(replaceHostsBlock(both, 'wh-aaa', undefined), theirs + other.join('\n') + '\n');
    assert.equal(replaceHostsBlock('a b\r\nc d', 'wh-aaa', block), 'a b\r\nc d\n' + block.join('\n') + '\n');
    assert.equal(replaceHostsBlock('', 'wh-aaa', block), block.join('\n') + '\n');
    assert.equal(replaceHostsBlock(block.join('\n') + '\n', 'wh-aaa', undefined), '');
    // "wh-aa" is another interface: a prefix does not match.
    assert.equal(replaceHostsBlock(both, 'wh-aa', undefined), both);
  });

  test('a begin marker without its end is refused: nothing after it is assumed ours', () => {
    const broken = theirs + block[0] + '\n10.77.0.2 bob.e2e bob\n192.168.1.1 router\n';
    assert.throws(() => replaceHostsBlock(broken, 'wh-aaa', block), (e: unknown) => e instanceof HostsBlockError && /line 4: .* has no "# END WireHub wh-aaa"/.test(e.message));
  });
});

describe('editing the hosts file', () => {
  test('atomic rewrite: a new inode, the old mode and owner, no temporary or lock file left', async () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    fs.writeFileSync(file, '127.0.0.1 localhost\n', { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    if (process.getuid?.() === 0) fs.chownSync(file, 1234, 5678);
    const before = fs.statSync(file);
    assert.equal(await editHostsFile(file, (t) => replaceHostsBlock(t, 'wh-aaa', hostsBlock('wh-aaa', ZONE))), true);
    const after = fs.statSync(file);
    assert.notEqual(after.ino, before.ino, 'renamed over, not written in place');
    assert.equal(after.mode & 0o7777, 0o640);
    assert.equal(after.uid, before.uid);
    assert.equal(after.gid, before.gid);
    assert.deepEqual(fs.readdirSync(dir), ['hosts']);
    assert.equal(await editHostsFile(file, (t) => replaceHostsBlock(t, 'wh-aaa', hostsBlock('wh-aaa', ZONE))), false, 'unchanged: not rewritten');
    assert.equal(fs.statSync(file).ino, after.ino);
    assert.equal(await removeHostsBlock(file, 'wh-aaa'), true);
    assert.equal(fs.readFileSync(file, 'utf8'), '127.0.0.1 localhost\n');
    fs.rmSync(dir, { recursive: true });
  });

  test('the crash path\'s synchronous removal takes the lock too, and waits for a live holder', () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    const theirs = '127.0.0.1 localhost\n';
    fs.writeFileSync(file, replaceHostsBlock(theirs, 'wh-aaa', hostsBlock('wh-aaa', ZONE)));
    // A live holder (this process's parent, say) that never lets go: judged stale after HOSTS_LOCK_WAIT.
    fs.writeFileSync(`${file}.wirehub-lock`, `${process.ppid}\n`);
    const t0 = Date.now();
    assert.equal(removeHostsBlockSync(file, 'wh-aaa'), true);
    assert.ok(Date.now() - t0 >= 1900, `waited ${Date.now() - t0} ms for the live holder`);
    assert.equal(fs.readFileSync(file, 'utf8'), theirs);
    assert.equal(removeHostsBlockSync(file, 'wh-aaa'), false, 'no block: nothing done');
    assert.deepEqual(fs.readdirSync(dir), ['hosts']);
    fs.rmSync(dir, { recursive: true });
  });

  test('a lock left by a dead process is broken; a dead writer\'s temporary file is removed', async () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    fs.writeFileSync(file, '');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(`${file}.wirehub-lock`, dead.stdout + '\n');
    fs.writeFileSync(path.join(dir, '.hosts.wirehub-99999.tmp'), 'half');
    const t0 = Date.now();
    assert.equal(await editHostsFile(file, (t) => t + 'x y\n'), true);
    assert.ok(Date.now() - t0 < 1000, 'not waited for');
    assert.deepEqual(fs.readdirSync(dir), ['hosts']);
    fs.rmSync(dir, { recursive: true });
  });

  test("a dead holder's lock reused by a live one (same inode, another pid) is not broken", async (t) => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    fs.writeFileSync(file, '');
    const lock = `${file}.wirehub-lock`;
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(lock, dead.stdout + '\n');
    // Right after we read the dead pid, another waiter breaks that lock and takes it, its new
    // lock file getting the freed inode: the same inode now holds a live pid (our parent's).
    const read = fs.readFileSync;
    let swapped = false;
    t.mock.method(fs, 'readFileSync', function (this: unknown, ...args: Parameters<typeof fs.readFileSync>) {
      const out = read.apply(fs, args);
      if (!swapped && args[0] === lock) { swapped = true; fs.writeFileSync(lock, `${process.ppid}\n`); }
      return out;
    });
    const t0 = Date.now();
    assert.equal(await editHostsFile(file, (x) => x + 'x y\n'), true);
    assert.ok(swapped);
    assert.ok(Date.now() - t0 >= 1900, `broke a live holder's lock after ${Date.now() - t0} ms`);
    fs.rmSync(dir, { recursive: true });
  });

  test("a symlink planted at the lock's pid-file name (a directory others may write) is not followed", async () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    fs.writeFileSync(file, '127.0.0.1 localhost\n');
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious\n');
    fs.symlinkSync(victim, `${file}.wirehub-lock.${process.pid}`);
    assert.equal(await editHostsFile(file, (t) => t + '10.0.0.1 x\n'), true);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the symlink\'s target was written through');
    assert.equal(fs.readFileSync(file, 'utf8'), '127.0.0.1 localhost\n10.0.0.1 x\n');
    fs.rmSync(dir, { recursive: true });
  });

  test('two processes writing their blocks at once, 40 times each: both blocks and every other line survive', async () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts');
    const theirs = '127.0.0.1 localhost\n# keep me\n';
    fs.writeFileSync(file, theirs);
    const mod = (name: string) => new URL(`../../src/daemon/${name}.js`, import.meta.url).href;
    const script = (iface: string) => `
      const { editHostsFile } = await import(${JSON.stringify(mod('hostsfile'))});
      const { hostsBlock, replaceHostsBlock } = await import(${JSON.stringify(mod('hostsblock'))});
      for (let i = 0; i < 40; i++) {
        const b = hostsBlock('${iface}', { network: 'n${iface}', entries: [{ name: 'h' + i, ipv4: '10.0.0.' + (i + 1) }] });
        await editHostsFile(${JSON.stringify(file)}, (t) => replaceHostsBlock(t, '${iface}', b));
      }`;
    const run = (iface: string) => new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['--input-type=module', '-e', script(iface)], { stdio: ['ignore', 'ignore', 'inherit'] });
      c.on('exit', (code) => resolve(code ?? 1));
    });
    assert.deepEqual(await Promise.all([run('wh-one'), run('wh-two')]), [0, 0]);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.startsWith(theirs), text);
    assert.deepEqual(hostsBlocks(text).sort(), ['wh-one', 'wh-two']);
    assert.match(text, /10\.0\.0\.40\th39\.nwh-one h39/);
    assert.match(text, /10\.0\.0\.40\th39\.nwh-two h39/);
    assert.equal(text.split('\n').length, theirs.split('\n').length + 6, 'one entry per block');
    assert.deepEqual(fs.readdirSync(dir), ['hosts']);
    fs.rmSync(dir, { recursive: true });
  });
});

const query = (name: string, type: string, extra: Partial<dnsPacket.Packet> = {}): Buffer =>
  dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }], ...extra });
const decoded = (b: Buffer | undefined) => dnsPacket.decode(b!) as dnsPacket.DecodedPacket & { rcode: string };

describe('DNS answers', () => {
  test('A and AAAA of NAME.NETWORK, any case, authoritative, with the TTL; `_` in a name', () => {
    const a = answerQuery(ZONE, query('Node_A.E2E', 'A'));
    assert.equal(a.outcome, 'answer');
    const r = decoded(a.reply);
    assert.equal(r.id, 4242);
    assert.equal(r.rcode, 'NOERROR');
    assert.ok(r.flag_aa && r.flag_qr && r.flag_rd && !r.flag_ra);
    assert.deepEqual(r.answers!.map((x) => [x.name, x.type, (x as { data: string }).data, (x as { ttl: number }).ttl]), [['Node_A.E2E', 'A', '10.77.0.1', DNS_TTL]]);
    const aaaa = decoded(answerQuery(ZONE, query('node_a.e2e', 'AAAA')).reply);
    assert.deepEqual(aaaa.answers!.map((x) => (x as { data: string }).data), ['fd00:77::1']);
    assert.deepEqual(decoded(answerQuery(ZONE, query('x.y.e2e.', 'AAAA')).reply).answers!.map((x) => (x as { data: string }).data), ['fd00:77::9']);
  });

  test('NODATA, NXDOMAIN with the SOA, REFUSED outside, SOA of the apex', () => {
    const nodata = answerQuery(ZONE, query('bob.e2e', 'AAAA'));
    assert.equal(nodata.outcome, 'nodata');
    assert.equal(decoded(nodata.reply).rcode, 'NOERROR');
    assert.equal(decoded(nodata.reply).answers!.length, 0);
    const nx = answerQuery(ZONE, query('mallory.e2e', 'A'));
    assert.equal(nx.outcome, 'nxdomain');
    assert.equal(decoded(nx.reply).rcode, 'NXDOMAIN');
    assert.deepEqual(decoded(nx.reply).authorities!.map((x) => x.type), ['SOA']);
    assert.equal(answerQuery(ZONE, query('y.e2e', 'A')).outcome, 'nodata', 'an empty non-terminal (x.y exists)');
    for (const name of ['example.com', 'e2e.example', 'xe2e', 'bob']) {
      const r = answerQuery(ZONE, query(name, 'A'));
      assert.equal(r.outcome, 'refused', name);
      assert.equal(decoded(r.reply).rcode, 'REFUSED');
    }
    assert.equal(decoded(answerQuery(ZONE, query('e2e', 'SOA')).reply).answers![0]!.type, 'SOA');
  });

  test('malformed datagrams and responses get no reply; two questions FORMERR; another opcode NOTIMP', () => {
    const good = query('bob.e2e', 'A');
    for (const bad of [Buffer.alloc(0), Buffer.alloc(11), good.subarray(0, good.length - 3), Buffer.from('0001010000010000000000003f', 'hex')]) {
      assert.deepEqual(answerQuery(ZONE, bad), { outcome: 'malformed' });
    }
    // A compression pointer to itself.
    const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.deepEqual(answerQuery(ZONE, loop), { outcome: 'malformed' });
    assert.deepEqual(answerQuery(ZONE, dnsPacket.encode({ type: 'response', id: 1, questions: [{ name: 'bob.e2e', type: 'A' }] })), { outcome: 'malformed' });
    const two = dnsPacket.encode({ type: 'query', id: 1, questions: [{ name: 'bob.e2e', type: 'A' }, { name: 'node_a.e2e', type: 'A' }] });
    assert.equal(decoded(answerQuery(ZONE, two).reply).rcode, 'FORMERR');
    const status = Buffer.from(good);
    status.writeUInt16BE(status.readUInt16BE(2) | (2 << 11), 2);
    assert.equal(decoded(answerQuery(ZONE, status).reply).rcode, 'NOTIMP');
  });

  test('a header announcing more records than a query has is refused before the library decodes it', () => {
    // dns-packet allocates each section's announced count first: 65535 of each cost it ms.
    let decodes = 0;
    const spy = (b: Buffer) => { decodes++; return dnsPacket.decode(b); };
    const good = query('bob.e2e', 'A');
    for (const [offset, count] of [[6, 65535], [8, 65535], [10, 65535], [10, 2], [6, 1]] as const) {
      const hostile = Buffer.from(good);
      hostile.writeUInt16BE(count, offset);
      assert.deepEqual(answerQuery(ZONE, hostile, spy), { outcome: 'malformed' }, `count ${count} at ${offset}`);
    }
    const many = Buffer.from(good);
    many.writeUInt16BE(65535, 4);
    assert.equal(decoded(answerQuery(ZONE, many, spy).reply).rcode, 'FORMERR');
    assert.equal(decodes, 0);
    // One OPT record (EDNS, as dig sends) is a query like any other.
    const edns = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'bob.e2e', type: 'A' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.Answer] });
    assert.equal(answerQuery(ZONE, edns, spy).outcome, 'answer');
    assert.equal(decodes, 1);
  });

  test('random bytes never throw (fuzz, 20000 datagrams)', () => {
    let seed = 1;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
    const good = query('node_a.e2e', 'AAAA');
    for (let i = 0; i < 20_000; i++) {
      const b = i % 2 === 0 ? Buffer.from(good) : Buffer.alloc(rnd() % 80);
      for (let j = 0; j < 1 + (rnd() % 4); j++) if (b.length > 0) b[rnd() % b.length] = rnd() & 0xff;
      const r = answerQuery(ZONE, b);
      assert.ok(r.outcome === 'malformed' ? r.reply === undefined : r.reply!.length <= 512);
    }
  });
});

describe('the DNS responder on a socket', () => {
  const LOCAL = ['127.0.0.1'];
  const ask = (port: number, msg: Buffer, timeoutMs = 500): Promise<Buffer | undefined> => new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve(undefined); }, timeoutMs);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m); });
    s.send(msg, port, '127.0.0.1');
  });

  test('answers, drops and counts oversize and malformed datagrams, and rate-limits a source', async () => {
    const counters = new Counters();
    const dns = await DnsServer.start({ addresses: ['127.0.0.1'], port: 0, zone: () => ZONE, askers: () => LOCAL, clock: realClock, counters });
    try {
      const [port] = dns.ports();
      assert.equal(decoded(await ask(port!, query('bob.e2e', 'A'))).answers!.length, 1);
      assert.equal(await ask(port!, Buffer.alloc(2000), 200), undefined);
      assert.equal(counters.get('dns.oversize'), 1);
      assert.equal(await ask(port!, Buffer.from('garbage!!!!!!!'), 200), undefined);
      assert.equal(counters.get('dns.malformed'), 1);
      // One source, far more than its share at once: the excess is dropped and counted.
      const s = dgram.createSocket('udp4');
      let answered = 0;
      s.on('message', () => answered++);
      const q = query('bob.e2e', 'A');
      for (let i = 0; i < 3 * DNS_QUERIES_PER_SOURCE; i++) s.send(q, port!, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 300));
      s.close();
      assert.ok(counters.get('dns.ratelimited') >= DNS_QUERIES_PER_SOURCE, JSON.stringify(counters));
      assert.ok(answered <= DNS_QUERIES_PER_SOURCE + 5, `answered ${answered}`);
    } finally {
      dns.close();
    }
  });

  test('a source that is no trusted peer gets no answer (no reflector for spoofed sources) and spends no budget', async () => {
    const counters = new Counters();
    const dns = await DnsServer.start({ addresses: ['127.0.0.1'], port: 0, zone: () => ZONE, askers: () => ['127.0.0.1', 'FD00:77:0::1'], clock: realClock, counters });
    try {
      const [port] = dns.ports();
      const q = query('bob.e2e', 'A');
      // Any local user may send from another loopback address (an attacker on the LAN from any).
      const s = dgram.createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, '127.0.0.2', () => r()));
      let answered = 0;
      s.on('message', () => answered++);
      for (let i = 0; i < 2 * DNS_QUERIES_PER_SOURCE; i++) s.send(q, port!, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 300));
      s.close();
      assert.equal(answered, 0);
      assert.ok(counters.get('dns.foreign') > 0, JSON.stringify(counters));
      assert.equal(counters.get('dns.ratelimited'), 0);
      // The peers still get their answers.
      assert.equal(decoded(await ask(port!, q)).answers!.length, 1);
    } finally {
      dns.close();
    }
  });

  test('dig gets the addresses, NXDOMAIN and REFUSED', { skip: spawnSync('dig', ['-v']).error ? 'dig is not installed (bind9-dnsutils)' : false }, async () => {
    const dns = await DnsServer.start({ addresses: ['127.0.0.1'], port: 0, zone: () => ZONE, askers: () => LOCAL, clock: realClock, counters: new Counters() });
    try {
      const port = String(dns.ports()[0]);
      const dig = (...a: string[]) => new Promise<string>((resolve) => {
        const c = spawn('dig', ['@127.0.0.1', '-p', port, '+time=1', '+tries=1', ...a], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        c.on('exit', () => resolve(out));
      });
      assert.equal((await dig('+short', 'node_a.e2e', 'A')).trim(), '10.77.0.1');
      assert.equal((await dig('+short', 'node_a.e2e', 'AAAA')).trim(), 'fd00:77::1');
      assert.match(await dig('nobody.e2e', 'A'), /status: NXDOMAIN/);
      assert.match(await dig('example.com', 'A'), /status: REFUSED/);
    } finally {
      dns.close();
    }
  });
});

describe('HostNames (the part the daemon runs)', () => {
  test('a DNS port that cannot be bound is an error naming the address and the port', async () => {
    const dir = tmp();
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((r) => busy.bind(0, '127.0.0.1', () => r()));
    const names = new HostNames({ iface: 'wh-test', hostsFile: path.join(dir, 'hosts'), dnsPort: busy.address().port, clock: realClock, counters: new Counters(), log: createLogger({ file: path.join(dir, 'log') }) });
    await assert.rejects(names.apply(parse([...BASE, 'dns yes'].join('\n')), ['127.0.0.1']), new RegExp(`^Error: dns: cannot listen on UDP 127\\.0\\.0\\.1:${busy.address().port}: the port is in use`));
    busy.close();
    await names.close();
    fs.rmSync(dir, { recursive: true });
  });

  test('publishes, follows a reload, withdraws, and removes its block when closed', async () => {
    const dir = tmp();
    const hostsFile = path.join(dir, 'hosts');
    fs.writeFileSync(hostsFile, '127.0.0.1 localhost\n');
    const names = new HostNames({ iface: 'wh-test', hostsFile, dnsPort: 0, clock: realClock, counters: new Counters(), log: createLogger({ file: path.join(dir, 'log') }) });
    const cfg = (extra: string[]) => parse([...BASE, ...extra].join('\n'));
    await names.apply(cfg(['hosts yes', 'dns yes']), ['127.0.0.1']);
    assert.match(fs.readFileSync(hostsFile, 'utf8'), /^10\.77\.0\.1\tnode_a\.e2e node_a$/m);
    assert.equal(names.dnsPorts().length, 1);
    await names.apply(cfg(['hosts yes', 'dns yes', `trust dave ${K(9)}`]), ['127.0.0.1']);
    assert.match(fs.readFileSync(hostsFile, 'utf8'), /\tdave\.e2e dave$/m);
    await names.apply(cfg(['hosts no']), ['127.0.0.1']);
    assert.equal(fs.readFileSync(hostsFile, 'utf8'), '127.0.0.1 localhost\n');
    assert.deepEqual(names.dnsPorts(), []);
    await names.apply(cfg(['hosts yes']), ['127.0.0.1']);
    await names.close();
    assert.equal(fs.readFileSync(hostsFile, 'utf8'), '127.0.0.1 localhost\n');
    fs.rmSync(dir, { recursive: true });
  });
});

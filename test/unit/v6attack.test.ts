// Attacks on the IPv6 underlay (review of 9295159..7524df4), all in the in-memory network or by
// direct calls:
//   1. `nodes` records at addresses no node has (::1, ff02::1, fe80::1, ::, ::127.0.0.1,
//      64:ff9b:: around a loopback or private IPv4, 224.0.0.1, 255.255.255.255, and
//      ::ffff:127.0.0.1, which arrives as 127.0.0.1): a remote liar must not make a node send
//      there (reflection into the host or its link); the rendezvous/checker filter too;
//   2. a responder reached over IPv6 that reports an IPv4 "seen as" (or the reverse) must not
//      decide the NAT verdict;
//   3. a link-local source (fe80::1%eth0, as node:dgram reports it): one /64 key like any other,
//      and not served (its zone cannot be encoded: the answer to it threw in the handler);
//   4. a record naming a table entry's key at another address: its silence there must not count
//      against the entry (a liar could evict honest entries, as the rule for pings already says);
//   6. workbit refusals were limited per address, not per /64 (the one per-source limit the
//      change missed);
//   7. a 6to4 /48 (2002:a.b.c.d::/48, from one IPv4 address) gave 65,536 source keys;
//   5. (not attacks, checks that hold) textual forms of one /64 are one source key; a replayed
//      pong from another address does not move a boot node's "answered at" address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { toHex } from '../../src/dht/id.js';
import { Refuser } from '../../src/dht/refusal.js';
import { classifyNat } from '../../src/nat/classify.js';
import { reachable } from '../../src/nat/punch.js';
import { addrKey, sourceKey, type Addr } from '../../src/proto/addr.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { encodeBody, type NodeRecord } from '../../src/proto/messages.js';
import { BootContact } from '../../src/daemon/contact.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork, type SimTransport } from '../../src/sim/network.js';
import { simAddr } from '../../src/sim/swarm.js';
import { randomBytes } from '../../src/util/random.js';

const sodium = await sodiumReady();

/** A fake DHT node at `at`: answers pings with a pong and every find with `records`. */
function liar(net: SimNetwork, at: Addr, records: () => NodeRecord[]): { key: Uint8Array; hex: string; transport: SimTransport; finds: number } {
  const channel = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'p' });
  const transport = net.bind(at);
  const me = { key: channel.publicKey, hex: channel.publicHex, transport, finds: 0 };
  transport.setReceiver((data, from) => {
    const opened = channel.open(data);
    if (!opened.ok) return;
    const body = new TextDecoder('latin1').decode(opened.body);
    const xi = body.indexOf('1:x8:');
    const x = opened.body.slice(xi + 5, xi + 13);
    const isPing = body.includes('4:ping');
    if (!isPing) me.finds++;
    const reply = isPing ? encodeBody({ t: 'pong', x, a: from, f: 0 }) : encodeBody({ t: 'nodes', x, n: records() });
    transport.send(from, channel.seal(opened.sender, reply));
  });
  return me;
}

/** A transport that records where it sent. */
function spy(t: SimTransport): { sent: Addr[] } {
  const out = { sent: [] as Addr[] };
  const send = t.send.bind(t);
  t.send = (to, data) => { out.sent.push(to); send(to, data); };
  return out;
}

const BAD: Addr[] = [
  { host: '::1', port: 7 }, { host: 'ff02::1', port: 7 }, { host: 'fe80::1', port: 7 }, { host: '::', port: 7 },
  { host: '::127.0.0.1', port: 7 }, { host: '64:ff9b::7f00:1', port: 7 }, { host: '64:ff9b::a00:1', port: 7 },
  { host: '64:ff9b::c0a8:101', port: 7 }, { host: '224.0.0.1', port: 7 }, { host: '255.255.255.255', port: 7 },
  { host: '0.0.0.0', port: 7 }, { host: '127.0.0.1', port: 7 },
];

test('1. a remote liar\'s records at loopback, multicast, link-local, unspecified or NAT64-wrapped private addresses are not sent to', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 11 });
  const t = net.bind(simAddr(0));
  const seen = spy(t);
  const victim = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: t, clock, refresh: false });
  // ::ffff:127.0.0.1 on the wire (an 18-byte record) decodes to 127.0.0.1: the last entry of BAD.
  const l = liar(net, simAddr(1), () => BAD.map((addr) => ({ key: randomBytes(32), addr, direct: true })));
  let done = false;
  void (async () => { await victim.ping(l.key, simAddr(1)); await victim.lookup(randomBytes(32)); done = true; })();
  await clock.runUntil(() => done, 120_000);
  assert.ok(done && l.finds > 0, 'the liar was asked');
  const bad = new Set(BAD.map(addrKey));
  const hits = seen.sent.filter((a) => bad.has(addrKey(a))).map(addrKey);
  assert.deepEqual([...new Set(hits)], [], `${hits.length} datagrams sent to addresses a remote node named`);
  victim.close(); l.transport.close();
});

test('1b. a rendezvous or a checker naming such an address: not probed (reachable)', () => {
  const let_ = BAD.filter((a) => reachable(a)).map(addrKey);
  assert.deepEqual(let_, [], 'addresses reachable() lets a probe go to');
  for (const ok of ['203.0.113.9', '10.1.2.3', '2001:db8::9', 'fd00::2']) assert.equal(reachable({ host: ok, port: 7 }), true, ok);
});

test('2. a responder reached over IPv6 reporting an IPv4 address does not decide the NAT verdict', () => {
  const me = { host: '2001:db8:0:7::5', port: 4000 };
  const honest = [
    { responder: { host: '2001:db8:0:1::1', port: 62096 }, observed: me },
    { responder: { host: '2001:db8:0:2::1', port: 62096 }, observed: me },
  ];
  const opts = { localIps: ['2001:db8:0:7::5'], localPort: 4000, attempted: 4 };
  assert.equal(classifyNat(honest, opts).type, 'none', 'baseline: an IPv6-only node with a public address');
  const lie = (i: number) => ({ responder: { host: `2001:db8:0:66::${i}`, port: 62096 }, observed: { host: '198.51.100.66', port: 4000 } });
  const one = classifyNat([...honest, lie(1)], opts);
  assert.equal(one.type, 'none', `one IPv6 liar made the verdict ${one.type} (public address ${one.publicAddr ? addrKey(one.publicAddr) : '-'})`);
  const two = classifyNat([...honest, lie(1), { ...lie(2), responder: { host: '2001:db8:0:67::2', port: 62096 } }], opts);
  assert.equal(two.type, 'none', `two IPv6 liars made the verdict ${two.type} (public address ${two.publicAddr ? addrKey(two.publicAddr) : '-'})`);
  // A dual-stack node behind a cone NAT: a liar over IPv6 naming another IPv4 port must not
  // turn the IPv4 verdict symmetric.
  const pub = { host: '203.0.113.5', port: 4100 };
  const cone = [
    { responder: { host: '198.51.100.1', port: 62096 }, observed: pub },
    { responder: { host: '198.51.100.2', port: 62096 }, observed: pub },
    { responder: { host: '2001:db8:0:1::1', port: 62096 }, observed: { host: '2001:db8:0:7::5', port: 4000 } },
  ];
  const o2 = { localIps: ['192.168.1.5', '2001:db8:0:7::5'], localPort: 4000, attempted: 4 };
  assert.equal(classifyNat(cone, o2).type, 'endpoint-independent');
  const lied = classifyNat([...cone, { responder: { host: '2001:db8:0:66::1', port: 62096 }, observed: { host: '203.0.113.5', port: 4999 } }], o2);
  assert.equal(lied.type, 'endpoint-independent', `an IPv6 liar made a cone NAT ${lied.type}`);
  // Only lies: nothing honest was heard, but something answered: not 'blocked'.
  assert.equal(classifyNat([lie(1), lie(2)], opts).type, 'unknown');
});

test('3. a link-local source: its zone does not give it a key of its own', () => {
  assert.equal(sourceKey('fe80::1%eth0'), sourceKey('fe80::2%eth0'));
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80::/64');
  assert.equal(sourceKey('2001:db8::1%eth0'), '2001:db8::/64');
});

test('3b. a node at a link-local address (with its zone) is dropped at the door, not served into a throwing handler', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 12 });
  const mk = (at: Addr) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: net.bind(at), clock, refresh: false });
  const victim = mk(simAddr(0)), asker = mk(simAddr(2));
  const onLink = mk({ host: 'fe80::66%eth0', port: 62096 });
  let result: import('../../src/dht/node.js').LookupResult | undefined;
  void (async () => {
    await onLink.ping(victim.id, simAddr(0));
    await new Promise<void>((r) => clock.setTimeout(() => r(), 5_000)); // the victim's verification ping
    await asker.ping(victim.id, simAddr(0));
    result = await asker.lookup(onLink.id);
  })();
  await clock.runUntil(() => result !== undefined, 120_000);
  const errors = victim.rpc.counters.toJSON()['drop:handler-error'] ?? 0;
  assert.equal(victim.table.get(onLink.hex), undefined, 'the link-local node entered the table');
  assert.equal(errors, 0, `${errors} requests failed in the victim's handler`);
  assert.ok(result?.closest.some((c) => toHex(c.id) === victim.hex), 'the victim answered the asker\'s find');
  victim.close(); asker.close(); onLink.close();
});

test('4. a liar naming an honest entry\'s key at a dead address cannot evict it', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 13 });
  const honest = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: net.bind(simAddr(1)), clock, refresh: false });
  const l = liar(net, simAddr(2), () => [{ key: honest.id, addr: { host: '10.66.66.66', port: 6666 }, direct: true }]);
  // The victim's table (K = 4): three entries that went silent, the liar, and the honest node;
  // the lookup's target is the honest node's key inverted, so it is the farthest entry and not
  // among the K the lookup starts from: it first meets the honest key in the liar's record.
  let victim: DhtNode;
  for (;;) {
    const t = net.bind(simAddr(0));
    victim = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: t, clock, refresh: false, k: 4 });
    victim.table.verified(l.key, simAddr(2), 0);
    victim.table.verified(honest.id, simAddr(1), 0);
    for (let i = 0; i < 3; i++) victim.table.verified(randomBytes(32), simAddr(10 + i), 0);
    if (victim.table.size === 5) break;
    // (A node does not close its transport: the next try binds the same address.)
    victim.close();
    t.close();
  }
  const target = honest.id.map((b) => b ^ 0xff);
  let done = false;
  void (async () => { for (let i = 0; i < 3; i++) await victim.lookup(target); done = true; })();
  await clock.runUntil(() => done, 300_000);
  assert.ok(done && l.finds > 0, 'the liar was asked');
  const e = victim.table.get(honest.hex);
  assert.ok(e !== undefined, 'the honest entry was evicted');
  assert.equal(e.failures, 0, `the honest entry counts ${e.failures} failures for silences at the liar's address`);
  victim.close(); honest.close(); l.transport.close();
});

test('5. holds: every text of one /64 is one source key; an IPv4-mapped address is its IPv4', () => {
  const forms = ['2001:db8::1', '2001:0db8:0:0::1', '2001:DB8:0000:0000:0000:0000:0000:0001', '2001:db8:0:0:ffff::2'];
  assert.deepEqual([...new Set(forms.map(sourceKey))], ['2001:db8::/64']);
  assert.equal(sourceKey('::FFFF:198.51.100.7'), '198.51.100.7');
  assert.equal(sourceKey('::ffff:c633:6407'), '198.51.100.7');
  assert.notEqual(sourceKey('198.51.100.7'), sourceKey('198.51.100.8'), 'IPv4 sources stay one per address');
});

test('5b. holds: a boot node\'s pong replayed from another address is not an answer there', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 14 });
  const bootV6 = { host: '2001:db8:0:1::1', port: 62096 }, bootV4 = { host: '198.51.100.1', port: 62096 };
  const boot = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: net.bind(bootV6), clock, refresh: false });
  const heard: Addr[] = [];
  const vt = net.bind({ host: '2001:db8:0:7::5', port: 4000 });
  const victim = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'p', transport: vt, clock, refresh: false, onVerified: (_id, a) => heard.push(a) });
  const contact = new BootContact(sodium, victim.id, [{ key: boot.id, addr: bootV4 }, { key: boot.id, addr: bootV6 }]);
  // Every datagram the boot node sends is also replayed to the victim from its IPv4 line.
  const send = net.deliver.bind(net);
  net.deliver = (from, to, data) => { send(from, to, data); if (addrKey(from) === addrKey(bootV6)) send(bootV4, to, data); };
  let done = false;
  void (async () => { await victim.ping(boot.id, bootV6); await victim.ping(boot.id, bootV6); done = true; })();
  await clock.runUntil(() => done, 60_000);
  for (const a of heard) contact.heard(boot.hex, a);
  assert.deepEqual([...new Set(heard.map(addrKey))], [addrKey(bootV6)], 'onVerified only at the address pinged');
  assert.deepEqual(victim.table.get(boot.hex)?.addr, bootV6);
  assert.deepEqual(contact.status().map((b) => `${b.address} ${b.state}`), [`${addrKey(bootV4)} pending`, `${addrKey(bootV6)} answered`]);
  victim.close(); boot.close();
});

test('6. workbit refusals: one /64 is one source (else one host took the global budget and sent a site 40 at once)', () => {
  const refuser = new Refuser(randomBytes(32), 8, 'p');
  const data = new Uint8Array(1200);
  const sent = Array.from({ length: 40 }, (_, i) => refuser.answer(data, { host: `2001:db8:0:9::${(i + 1).toString(16)}`, port: 7 }, 0)).filter((r) => r !== undefined).length;
  assert.equal(sent, 1, `${sent} refusals to 40 addresses of one /64 within one interval`);
  assert.notEqual(refuser.answer(data, { host: '2001:db8:0:a::1', port: 7 }, 0), undefined, 'another /64 gets its own');
});

test('7. 6to4: the 65,536 /64s that one IPv4 address derives (2002:a.b.c.d::/48) are one source', () => {
  const keys = new Set(Array.from({ length: 20 }, (_, i) => sourceKey(`2002:cb00:7105:${(i * 977).toString(16)}::1`)));
  assert.equal(keys.size, 1, `${keys.size} source keys for 20 /64s of one 6to4 /48`);
  assert.notEqual(sourceKey('2002:cb00:7105::1'), sourceKey('2002:cb00:7106::1'), 'another IPv4 address, another source');
});

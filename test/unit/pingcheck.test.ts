// `wh ping` and `wh netcheck` without namespaces: the tunnel ping socket on the in-memory
// network (answers only a trusted peer from its own overlay address, never touches the DHT's
// table), the CLI's loop and exit status, the lines it prints, the control request, and the
// boot-node probe of `wh netcheck` (answers, workbit refusals).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { parseRequest } from '../../src/control/protocol.js';
import { TunnelPing } from '../../src/daemon/tunnelping.js';
import { pingTimeout, type PingAnswer } from '../../src/daemon/pingpeer.js';
import { formatPing, pingLoop } from '../../src/cli/commands/ping.js';
import { formatNetcheck, mapperOf, netcheckJSON, type NetcheckReport } from '../../src/cli/commands/netcheck.js';
import { transportVerdict } from '../../src/nat/netcheck.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from './jsonschema.js';
import { ROOT } from './runwh.js';
import { natKind, probeBoots } from '../../src/nat/netcheck.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork } from '../../src/sim/network.js';
import { simAddr } from '../../src/sim/swarm.js';
import { PING_INTERVAL, TUNNEL_PING_PORT } from '../../src/params.js';

const sodium = await sodiumReady();

function pair() {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { seed: 11 });
  const mk = (i: number, workbit = 0) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit, namespace: 'p', transport: net.bind(simAddr(i)), clock, refresh: false });
  const a = mk(1), b = mk(2), stranger = mk(3);
  const ov = (i: number) => ({ host: `10.77.0.${i}`, port: TUNNEL_PING_PORT });
  // a trusts b at 10.77.0.2 and b trusts a at 10.77.0.1; the stranger is nobody's peer.
  const ta = new TunnelPing({ dht: a, isPeerAt: (hex, ip) => hex === b.hex && ip === '10.77.0.2' }, net.bind(ov(1)));
  const tb = new TunnelPing({ dht: b, isPeerAt: (hex, ip) => hex === a.hex && ip === '10.77.0.1' }, net.bind(ov(2)));
  const ts = new TunnelPing({ dht: stranger, isPeerAt: () => true }, net.bind(ov(3)));
  return { clock, net, a, b, stranger, ta, tb, ts, mk, ov };
}

async function settle<T>(clock: VirtualClock, p: Promise<T>, ms = 3000): Promise<T> {
  let done = false, value: T | undefined;
  void p.then((v) => { done = true; value = v; });
  await clock.runUntil(() => done, ms, 10);
  assert.ok(done, 'settled');
  return value as T;
}

test('tunnel ping: a trusted peer answers from its overlay address; nothing enters the DHT tables', async () => {
  const { clock, a, b, ta, tb } = pair();
  const rtt = await settle(clock, ta.ping(b.id, '10.77.0.2', 2000));
  assert.equal(typeof rtt, 'number');
  assert.equal(b.counters.toJSON()['tunnel-ping-answered'], 1);
  // The overlay is not an address of the DHT: neither side learned the other there.
  assert.equal(a.table.size, 0);
  assert.equal(b.table.size, 0);
  assert.equal(await settle(clock, tb.ping(a.id, '10.77.0.1', 2000)) !== undefined, true, 'and back');
});

test('tunnel ping (attack): an untrusted key, or a trusted key from another address, gets no pong', async () => {
  const pairNet = pair();
  const { clock, a, b, stranger, ts, ta } = pairNet;
  // The stranger seals a ping to b's tunnel port with its own key: b refuses it, silently.
  assert.equal(await settle(clock, ts.ping(b.id, '10.77.0.2', 500)), undefined);
  assert.equal(b.counters.toJSON()['tunnel-ping-refused'], 1);
  assert.equal(b.counters.toJSON()['tunnel-ping-answered'], undefined);
  // a's own key, but from an address that is not a's overlay address (10.77.0.9): refused too.
  const { net } = pairNet;
  const elsewhere = new TunnelPing({ dht: a, isPeerAt: () => true }, net.bind({ host: '10.77.0.9', port: TUNNEL_PING_PORT }));
  assert.equal(await settle(clock, elsewhere.ping(b.id, '10.77.0.2', 500)), undefined);
  assert.equal(b.counters.toJSON()['tunnel-ping-refused'], 2);
  void ta; void stranger;
});

test('tunnel ping: no answer within the timeout is undefined (one try, no retry)', async () => {
  const { clock, ta, b, net } = pair();
  net.loss = 1;
  const t0 = clock.now();
  assert.equal(await settle(clock, ta.ping(b.id, '10.77.0.2', 700)), undefined);
  assert.ok(clock.now() - t0 >= 700 && clock.now() - t0 < 800, `${clock.now() - t0} ms`);
});

test('ping request: parsed and bounded', () => {
  assert.deepEqual(parseRequest({ cmd: 'ping', peer: 'b' }), { cmd: 'ping', peer: 'b' });
  assert.deepEqual(parseRequest({ cmd: 'ping', peer: 'b', timeoutMs: 1500 }), { cmd: 'ping', peer: 'b', timeoutMs: 1500 });
  assert.equal(parseRequest({ cmd: 'ping' }), undefined);
  assert.equal(parseRequest({ cmd: 'ping', peer: 3 }), undefined);
  assert.equal(parseRequest({ cmd: 'ping', peer: 'b', timeoutMs: '9' }), undefined);
  assert.equal(pingTimeout(undefined), 5000);
  assert.throws(() => pingTimeout(0), /more than 0/);
  assert.throws(() => pingTimeout(60_000), /at most 10 s/);
});

const answer = (o: Partial<PingAnswer>): PingAnswer => ({
  name: 'b', key: 'K', ip: '10.77.0.2', answered: true, rttMs: 12.3, path: 'direct', endpoint: '20.0.2.2:62096',
  relay: null, relayAddress: null, relayForwarding: null, timeoutMs: 5000, ...o,
});
const relayed = answer({ path: 'relay', endpoint: null, relay: 'RELAYKEY=', relayAddress: '20.0.1.1:62096', relayForwarding: 'kernel', rttMs: 30 });

test('ping lines: direct, relayed (kernel, daemon), timeouts', () => {
  assert.equal(formatPing(answer({})), 'pong from b (10.77.0.2) via 20.0.2.2:62096 in 12.3ms');
  assert.equal(formatPing(relayed), 'pong from b (10.77.0.2) via relay RELAYKEY= at 20.0.1.1:62096 (kernel forwarding) in 30ms');
  assert.equal(formatPing({ ...relayed, relayForwarding: 'daemon' }), 'pong from b (10.77.0.2) via relay RELAYKEY= at 20.0.1.1:62096 (daemon forwarding) in 30ms');
  assert.equal(formatPing({ ...relayed, relayForwarding: 'websocket' }), 'pong from b (10.77.0.2) via relay RELAYKEY= at 20.0.1.1:62096 (relay over WebSocket) in 30ms');
  assert.equal(formatPing(answer({ answered: false, rttMs: null, path: 'searching', endpoint: null, timeoutMs: 2500 })), 'no pong from b (10.77.0.2) within 2.5s (path: no path (searching))');
  assert.equal(formatPing(answer({ name: null, answered: false, path: 'down' })), 'no pong from K (10.77.0.2) within 5s (path: nowhere (the data plane is down))');
});

async function loop(answers: PingAnswer[], plan: { count: number; countGiven: boolean; untilDirect: boolean }) {
  let i = 0;
  const lines: string[] = [], sleeps: number[] = [];
  const r = await pingLoop(plan, async () => answers[Math.min(i++, answers.length - 1)]!, (l) => lines.push(l), async (ms) => { sleeps.push(ms); });
  return { ...r, sent: i, lines, sleeps };
}
const lost = answer({ answered: false, rttMs: null });

test('ping loop: stops at the first pong by default; -c sends N; --until-direct waits for a direct pong', async () => {
  const first = await loop([lost, lost, answer({})], { count: 10, countGiven: false, untilDirect: false });
  assert.deepEqual([first.ok, first.sent, first.sleeps.length], [true, 3, 0], 'a timeout is followed at once');
  const none = await loop([lost], { count: 4, countGiven: false, untilDirect: false });
  assert.deepEqual([none.ok, none.sent, none.why], [false, 4, 'no pong after 4 pings']);
  const counted = await loop([answer({})], { count: 3, countGiven: true, untilDirect: false });
  assert.deepEqual([counted.ok, counted.sent, counted.sleeps], [true, 3, [PING_INTERVAL, PING_INTERVAL]]);
  const upgrade = await loop([relayed, relayed, answer({})], { count: 10, countGiven: false, untilDirect: true });
  assert.deepEqual([upgrade.ok, upgrade.sent], [true, 3]);
  const never = await loop([relayed], { count: 2, countGiven: true, untilDirect: true });
  assert.deepEqual([never.ok, never.sent, never.why], [false, 2, 'no direct path after 2 pings (2 answered)']);
  const one = await loop([lost], { count: 1, countGiven: true, untilDirect: true });
  assert.equal(one.why, 'no direct path after 1 ping (0 answered)');
});

test('netcheck words and report', () => {
  assert.match(natKind('endpoint-independent', true), /^full cone/);
  assert.match(natKind('endpoint-independent', false), /^restricted cone/);
  assert.match(natKind('endpoint-independent', null), /^cone .*not checked/);
  assert.match(natKind('symmetric', false), /^symmetric/);
  assert.match(natKind('none', null), /^no NAT/);
  assert.match(natKind('none', false), /firewall/);
  assert.match(natKind('blocked', null), /no boot node answered/);
  assert.match(natKind('unknown', null), /two boot nodes/);
  assert.equal(mapperOf(undefined), null);
  assert.deepEqual(mapperOf({ kind: 'pmp', pmpGateway: '192.168.1.1', externalIp: '' }), { method: 'nat-pmp', gateway: '192.168.1.1', externalIp: null });
  const r: NetcheckReport = {
    config: 'x.conf', localPort: 40000, mapping: 'symmetric', publicAddress: null, reachable: false, reachCheckedBy: 'boot1:62096',
    natType: natKind('symmetric', false), portMapper: { method: 'upnp-igd2', gateway: '192.168.1.1', externalIp: '20.0.2.1' }, unresolved: ['b.example:62096: cannot resolve b.example (x)'], keySearchSeconds: 0,
    wsBoots: [{ url: 'ws://20.0.1.1:8080/', key: 'K1', rttMs: 4.5 }], udp: 'works', transport: 'udp', via: null,
    boots: [
      { name: 'boot1:62096', address: '20.0.1.1:62096', key: 'K1', rttMs: 3.2, seenAs: '20.0.2.1:1024', refusedBelowWorkbit: null },
      { name: '20.0.1.2:62096', address: '20.0.1.2:62096', key: 'K2', rttMs: null, seenAs: null, refusedBelowWorkbit: 12 },
    ],
  };
  assert.equal(formatNetcheck(r), [
    'Report (x.conf, from UDP port 40000):',
    '  * public address: none (a different one per boot node)',
    '  * NAT: symmetric (a new public port per destination: a peer behind a restricting NAT needs a relay)',
    '  * mapping: symmetric',
    '  * a ping from a port we never sent to: was dropped (checked by boot1:62096)',
    '  * port mapping gateway: UPnP IGD v2 at 192.168.1.1, external IP 20.0.2.1',
    '  * boot nodes:',
    '      - boot1:62096 (20.0.1.1:62096): 3.2ms, sees us at 20.0.2.1:1024',
    '      - 20.0.1.2:62096: refused: it asks keys of workbit 12',
    '      - ws://20.0.1.1:8080/: 4.5ms over WebSocket',
    '      - b.example:62096: cannot resolve b.example (x)',
    '  * UDP: works',
    '  * transport: UDP',
  ].join('\n') + '\n');
  const schema = JSON.parse(readFileSync(join(ROOT, 'docs', 'wh-json.schema.json'), 'utf8')) as Record<string, unknown>;
  const j = netcheckJSON({ ...r, boots: r.boots.map((b) => ({ ...b, key: keyToBase64(new Uint8Array(32)) })), wsBoots: r.wsBoots.map((b) => ({ ...b, key: keyToBase64(new Uint8Array(32)) })) });
  assert.deepEqual(validate(schema, j), []);
  assert.equal(j.wsBoots[0]!.rttSeconds, 0.0045);
  // UDP blocked, a ws:// boot line answered: the node would use WebSocket.
  const blocked = { ...r, boots: r.boots.map((b) => ({ ...b, rttMs: null, seenAs: null, refusedBelowWorkbit: null })) };
  const v = transportVerdict(blocked.boots, r.wsBoots);
  assert.deepEqual(v, { udp: 'blocked', transport: 'ws', via: 'ws://20.0.1.1:8080/' });
  assert.match(formatNetcheck({ ...blocked, ...v }), /\* UDP: blocked \(no boot node answered over UDP\)\n {2}\* transport: WebSocket \(ws:\/\/20\.0\.1\.1:8080\/\)\n$/);
  assert.deepEqual(transportVerdict(blocked.boots, [{ ...r.wsBoots[0]!, rttMs: null }]), { udp: 'blocked', transport: 'none', via: null });
  assert.deepEqual(transportVerdict([], r.wsBoots), { udp: 'untested', transport: 'ws', via: 'ws://20.0.1.1:8080/' });
  assert.deepEqual(transportVerdict(r.boots, []), { udp: 'works', transport: 'udp', via: null }, 'a refusal is an answer over UDP too');
  assert.equal(j.boots[0]!.rttSeconds, 0.0032);
  assert.notDeepEqual(validate(schema, { ...j, extra: 1 }), [], 'the schema is closed');
});

test('netcheck probe: answers give the view, a workbit refusal is reported, no reach checker is null', async () => {
  const { clock, mk } = pair();
  const me = mk(10), boot1 = mk(11), strict = mk(12, 30);
  const refusals = new Map();
  me.rpc.onRefusal = (r, from) => refusals.set(`${from.host}:${from.port}`, r);
  const boots = [boot1, strict].map((n, i) => ({ key: n.id, addr: simAddr(11 + i), keyB64: keyToBase64(n.id), name: `boot${i + 1}` }));
  const r = await settle(clock, probeBoots(me, boots, { localIps: [simAddr(10).host], localPort: simAddr(10).port, refusals, settle: () => clock.run(300) }), 20_000);
  assert.equal(r.boots[0]!.seenAs, `${simAddr(10).host}:${simAddr(10).port}`);
  assert.ok(r.boots[0]!.rttMs !== null);
  assert.equal(r.boots[1]!.rttMs, null);
  assert.equal(r.boots[1]!.refusedBelowWorkbit, 30);
  assert.equal(r.mapping, 'none', 'seen at its own address and port');
  assert.equal(r.reachable, null, 'a bare DHT node does not check reach');
});

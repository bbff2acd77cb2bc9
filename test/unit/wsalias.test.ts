// Where the WebSocket transport meets the UDP DHT, addresses of the two must never alias
// (docs/NAT.md "WebSocket contacts"; docs/PROTOCOL.md section 12.1). Attacks, each in-process
// over 127.0.0.1 with real daemons (src/daemon/daemon.ts, real UDP and WebSocket transports):
// - a public node that serves WebSocket must not hand out a WS client's TCP address as a UDP
//   contact: not in `nodes` answers, not in a rendezvous's `punch-ok`/`punch-notify`;
// - a UDP datagram from a WS client's exact TCP ip:port is a UDP datagram: answered over UDP,
//   never over that client's connection.
// - a WebSocket connection from a UDP relay member's exact ip:port is not that member: its
//   WS_TO frames are not relayed as the member's.
// (The fallback's key check is test/unit/wsfallbackdriver.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { DhtNode } from '../../src/dht/node.js';
import { toHex } from '../../src/dht/id.js';
import { UdpTransport } from '../../src/net/udp.js';
import { Puncher } from '../../src/nat/punch.js';
import { usableAddr, type Addr } from '../../src/proto/addr.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { encodeBody, type MessageOf } from '../../src/proto/messages.js';
import { PING_PAD_TO, WS_SUBPROTOCOL } from '../../src/params.js';
import { realClock } from '../../src/util/clock.js';
import { initiation, quietLog } from './fakenet.js';
import { BlockedUdp, fakeDeps, noSystem } from './fakedaemon.js';
import { freePort } from './freeport.js';

const sodium = await sodiumReady();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (let t = 0; t < ms; t += 25) { if (await f()) return; await sleep(25); }
  assert.fail('condition not met in time');
}
const pub = (s: Uint8Array) => keyToBase64(sodium.crypto_scalarmult_base(s));

/** A public boot node serving `listen ws://` and UDP on 127.0.0.1. */
async function startBoot(secret: Uint8Array): Promise<{ d: Daemon; wsPort: number; udpPort: number }> {
  const wsPort = await freePort(), udpPort = await freePort();
  const text = `name pub\nworkbit 0\nlisten ws://127.0.0.1:${wsPort}\n`;
  const d = await Daemon.start({
    sodium, configPath: 'pub.conf', config: parseConfig(text, 'pub.conf', sodium), secret, iface: 'whtestwsa',
    listenPort: udpPort, daemonPort: udpPort, bindHost: '127.0.0.1', log: quietLog(), deps: fakeDeps(), seams: noSystem,
  });
  return { d, wsPort, udpPort };
}

/** A bare DHT node over real UDP on 127.0.0.1: a third party of the public DHT. */
async function thirdParty(): Promise<{ node: DhtNode; udp: UdpTransport }> {
  const udp = await UdpTransport.bind('127.0.0.1', 0);
  const node = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'public', transport: udp, clock: realClock, refresh: false, direct: true });
  return { node, udp };
}

test('a WS client is never handed out at its TCP address: not in nodes answers, not by a rendezvous', async (t) => {
  const bootSecret = generateSecret(sodium), nodeSecret = generateSecret(sodium);
  const boot = await startBoot(bootSecret);
  t.after(() => boot.d.stop());
  const bootKey = sodium.crypto_scalarmult_base(bootSecret), nodeKey = sodium.crypto_scalarmult_base(nodeSecret);
  const text = ['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${pub(bootSecret)} ws://127.0.0.1:${boot.wsPort}/`, `trust n ${pub(nodeSecret)}`].join('\n') + '\n';
  const node = await Daemon.start({
    sodium, configPath: 't.conf', config: parseConfig(text, 't.conf', sodium), secret: nodeSecret, iface: 'whtestwsc',
    listenPort: await freePort(), daemonPort: await freePort(), log: quietLog(), deps: fakeDeps(),
    seams: { ...noSystem, bindTransport: async () => new BlockedUdp() },
  });
  t.after(() => node.stop());
  // The boot node verified the WS client over its connection: it is in the boot node's table.
  await until(() => boot.d.dht.table.get(toHex(nodeKey)) !== undefined);
  const tcp = boot.d.dht.table.get(toHex(nodeKey))!.addr;
  // (What the boot node saw of the client over the connection, a TCP source, is not taken as
  // the client's UDP address: NAT detection builds on `observed`.)
  assert.deepEqual([...node.dht.observed.values()], [], 'a pong over WebSocket was taken as our UDP address');

  const third = await thirdParty();
  t.after(() => { third.node.close(); third.udp.close(); });
  const bootUdp: Addr = { host: '127.0.0.1', port: boot.udpPort };
  assert.ok(await third.node.ping(bootKey, bootUdp));
  await third.node.lookup(third.node.id); // its (padded) finds let the boot node verify it
  await until(() => boot.d.dht.table.get(third.node.hex) !== undefined);

  // (1) nodes answers: the boot node must not name the WS client at its TCP address.
  const r = await third.node.lookup(nodeKey);
  const named = r.closest.filter((c) => toHex(c.id) === toHex(nodeKey));
  assert.deepEqual({ found: r.found, named }, { found: undefined, named: [] },
    `the boot node handed out the WS client ${toHex(nodeKey).slice(0, 8)} at its TCP address ${tcp.host}:${tcp.port}`);

  // (2) a rendezvous: punch-ok's `e` is the target's UDP address; a WS client has none.
  const ok = await third.node.rpc.request(bootUdp, bootKey, (x) => ({ t: 'punch-req', x, k: nodeKey }));
  assert.equal(ok?.msg.t, 'punch-ok');
  assert.equal((ok!.msg as MessageOf<'punch-ok'>).e, undefined, 'punch-ok names the WS client at its TCP address');
  // The initiator takes such a punch-ok (the relay there) and probes nothing.
  const puncher = new Puncher({ dht: third.node, clock: realClock, isTrusted: () => false, isRendezvous: () => true, announceAddr: () => undefined });
  let accepted = 0;
  const tx0 = third.udp.counters.get('tx');
  const punched = await puncher.punch(nodeKey, [{ key: bootKey, hex: toHex(bootKey), addr: bootUdp }], () => false, () => accepted++);
  assert.deepEqual({ accepted, direct: punched.direct, sent: third.udp.counters.get('tx') - tx0 }, { accepted: 1, direct: false, sent: 1 }, 'one punch-req, no probe');

  // (3) the other way: a WS client asks to punch a UDP node; the notify names no address the
  // UDP node could probe (it reaches the client through the relay only).
  const notified: MessageOf<'punch-notify'>[] = [];
  third.node.extend({ request: (req, max) => {
    if (req.msg.t !== 'punch-notify') return undefined;
    notified.push(req.msg);
    return third.node.rpc.send(req.from, req.sender, { t: 'ack', x: req.msg.x }, max);
  } });
  const viaWs = node.join.boots[0]!.addr;
  const ok2 = await node.dht.rpc.request(viaWs, bootKey, (x) => ({ t: 'punch-req', x, k: third.node.id }));
  assert.equal(ok2?.msg.t, 'punch-ok');
  await until(() => notified.length > 0);
  const a = notified[0]!.a;
  assert.ok(!(a.host === tcp.host && a.port === tcp.port) && !usableAddr(a, a), `punch-notify gives the WS client's TCP address ${a.host}:${a.port} to probe`);
});

test('UDP from a WS client\'s exact TCP ip:port is answered over UDP, never over that WebSocket', async (t) => {
  const bootSecret = generateSecret(sodium);
  const boot = await startBoot(bootSecret);
  t.after(() => boot.d.stop());
  const bootKey = sodium.crypto_scalarmult_base(bootSecret);
  const ws = new WebSocket(`ws://127.0.0.1:${boot.wsPort}/`, [WS_SUBPROTOCOL]);
  t.after(() => ws.terminate());
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let overWs = 0;
  ws.on('message', () => overWs++);
  const tcpPort = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;

  // A spoofer sends UDP with the WS client's TCP source address (on loopback it can simply
  // bind that port number for UDP), sealed under its own key.
  const spoof = await UdpTransport.bind('127.0.0.1', tcpPort);
  t.after(() => spoof.close());
  let overUdp = 0;
  spoof.setReceiver(() => overUdp++);
  const ch = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: 'public' });
  spoof.send({ host: '127.0.0.1', port: boot.udpPort }, ch.seal(bootKey, encodeBody({ t: 'ping', x: sodium.randombytes_buf(8) }, PING_PAD_TO - 68)));
  await until(() => overUdp + overWs > 0).catch(() => undefined);
  await sleep(100);
  assert.deepEqual({ overUdp, overWs }, { overUdp: 1, overWs: 0 }, 'the pong to a UDP source went over the WebSocket of the client at that TCP address');
  const server = (await boot.d.show(true)).transports?.find((x) => x.role === 'server');
  assert.equal(server?.counters?.['ws-tx'] ?? 0, 0);
});

test('a WebSocket connection from a UDP relay member\'s exact ip:port cannot send WS_TO as that member', async (t) => {
  const bootSecret = generateSecret(sodium);
  const boot = await startBoot(bootSecret);
  t.after(() => boot.d.stop());
  const bootKey = sodium.crypto_scalarmult_base(bootSecret), bootUdp: Addr = { host: '127.0.0.1', port: boot.udpPort };
  const a = await thirdParty(), b = await thirdParty();
  t.after(() => { for (const x of [a, b]) { x.node.close(); x.udp.close(); } });
  let atB = 0;
  b.node.extend({ oneWay: (m) => { if (m.msg.t === 'relayed') atB++; return true; } });
  // A and B open a relay session at the boot node over UDP.
  for (const [x, y] of [[a, b], [b, a]] as const) {
    const r = await x.node.rpc.request(bootUdp, bootKey, (tx) => ({ t: 'relay-open', x: tx, k: y.node.id }));
    assert.equal(r?.msg.t, 'relay-ok');
  }
  // The session works: A's relay message reaches B.
  a.node.rpc.send(bootUdp, bootKey, { t: 'relay', k: b.node.id, d: initiation(1) });
  await until(() => atB === 1);
  // An attacker's WebSocket connection from A's exact ip:port (TCP port = A's UDP port).
  const ws = new WebSocket(`ws://127.0.0.1:${boot.wsPort}/`, [WS_SUBPROTOCOL], { localAddress: '127.0.0.1', localPort: a.udp.local.port });
  t.after(() => ws.terminate());
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  ws.send(Buffer.concat([Buffer.from([2]), Buffer.from(b.node.id), initiation(2)]));
  await until(async () => ((await boot.d.show(true)).transports?.find((x) => x.role === 'server')?.counters?.['ws-to-rx'] ?? 0) === 1);
  await sleep(100);
  assert.equal(atB, 1, 'a WS_TO from a connection at A\'s UDP ip:port was relayed to B as A\'s');
  assert.equal(boot.d.dht.counters.get('relay-ws-no-session'), 1);
});

// The simulator's fake WireGuard (src/sim/dataplane.ts), which the whole-daemon grid
// (test/unit/simnodes.test.ts) stands on: it must behave as WireGuard does where the daemon and
// the relays look: WireGuard-shaped datagrams (what a relay forwards, src/relay/wgshape.ts), the
// handshake (and the crossing that fails both sides), roaming, counters and handshake times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { clampSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { addrKey, type Addr } from '../../src/proto/addr.js';
import type { Transport } from '../../src/net/transport.js';
import { isWireGuardShaped } from '../../src/relay/wgshape.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimLoopback, SimWireGuard, WG_REKEY_JITTER, WG_REKEY_TIMEOUT } from '../../src/sim/dataplane.js';
import { seededRandom, SimNetwork } from '../../src/sim/network.js';

const sodium = await sodiumReady();
const WALL = 1_700_000_000_000;

interface Side { wg: SimWireGuard; addr: Addr; pub: string; ip: string; sent: Uint8Array[]; echoes: number[] }

function pair(opts: { delay?: number } = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { minDelay: opts.delay ?? 10, maxDelay: opts.delay ?? 10, seed: 4 });
  const random = seededRandom(9);
  const side = (n: number): Side => {
    const secret = clampSecret(new Uint8Array(32).fill(n));
    const publicKey = sodium.crypto_scalarmult_base(secret);
    const addr = { host: `198.51.100.${n}`, port: 51820 };
    const port = net.bind(addr);
    const sent: Uint8Array[] = [];
    // Every datagram this WireGuard sends, as the network gets it.
    const tap: Transport = { send: (to, d) => { sent.push(new Uint8Array(d)); port.send(to, d); }, setReceiver: (r) => port.setReceiver(r), close: () => port.close() };
    const ip = `10.0.0.${n}`;
    const wg = new SimWireGuard({ name: `wg${n}`, privateKey: keyToBase64(secret), publicKey, listenPort: 51820, addresses: [`${ip}/24`], clock, port: tap, loopback: new SimLoopback(clock), random, wallBase: WALL });
    const s: Side = { wg, addr, pub: keyToBase64(publicKey), ip, sent, echoes: [] };
    wg.onEcho = (_from, id) => s.echoes.push(id);
    return s;
  };
  const A = side(1), B = side(2);
  return { clock, net, A, B };
}

const peerOf = async (s: Side, other: Side) => (await s.wg.dump()).peers.find((p) => p.publicKey === other.pub)!;

test('a ping through the fake WireGuard: one handshake, the echo comes back, counters and the handshake time as WireGuard reports them, every datagram WireGuard-shaped', async () => {
  const { clock, A, B } = pair();
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], endpoint: addrKey(B.addr) });
  await B.wg.setPeer({ publicKey: A.pub, allowedIps: [`${A.ip}/32`] }); // B learns A's endpoint from A
  assert.equal(A.wg.sendIp('10.0.0.99', 'echo', 1), false, 'no route outside the allowed IPs');
  assert.ok(A.wg.sendIp(B.ip, 'echo', 7));
  await clock.run(100);
  assert.deepEqual(A.echoes, [7], 'the staged echo went out after the handshake and came back');
  const a = await peerOf(A, B), b = await peerOf(B, A);
  assert.equal(b.endpoint, addrKey(A.addr), 'B roamed to where A sent from');
  assert.equal(a.latestHandshake, Math.floor((WALL + 20) / 1000), 'the initiator: at the response (two 10 ms hops)');
  assert.equal(b.latestHandshake, Math.floor((WALL + 30) / 1000), 'the responder: at the first data');
  // initiation 148 + echo 32+96 (84 bytes padded to 96); response 92 + echo reply 128
  assert.deepEqual([a.txBytes, a.rxBytes, b.txBytes, b.rxBytes], [148 + 128, 92 + 128, 92 + 128, 148 + 128]);
  const shapes = [...A.sent, ...B.sent].map((d) => `${d[0]}/${d.length}`);
  assert.deepEqual(shapes, ['1/148', '4/128', '2/92', '4/128']);
  assert.ok([...A.sent, ...B.sent].every(isWireGuardShaped), 'a relay would forward every one of them');
});

test('two initiations that cross fail both handshakes, as in wireguard-go; the retry after REKEY_TIMEOUT makes the session', async () => {
  const { clock, A, B } = pair();
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], endpoint: addrKey(B.addr) });
  await B.wg.setPeer({ publicKey: A.pub, allowedIps: [`${A.ip}/32`], endpoint: addrKey(A.addr) });
  A.wg.sendIp(B.ip, 'echo', 1);
  B.wg.sendIp(A.ip, 'echo', 2);
  await clock.run(1000);
  assert.equal(A.wg.drops.get('invalid-response'), 1);
  assert.equal(B.wg.drops.get('invalid-response'), 1);
  assert.deepEqual([(await peerOf(A, B)).latestHandshake, (await peerOf(B, A)).latestHandshake], [0, 0], 'no session on either side');
  assert.deepEqual([A.echoes, B.echoes], [[], []]);
  // Each side retries after REKEY_TIMEOUT plus its own jitter: they may cross again (when the
  // two retries leave within one hop of each other), not forever.
  let both = false;
  for (let i = 0; i < 4 * (WG_REKEY_TIMEOUT + WG_REKEY_JITTER) / 100 && !both; i++) {
    await clock.run(100);
    both = (await peerOf(A, B)).latestHandshake > 0 && (await peerOf(B, A)).latestHandshake > 0;
  }
  assert.ok(both, 'a retry got through');
  assert.ok(clock.now() >= WG_REKEY_TIMEOUT, 'not before the retry');
  A.wg.sendIp(B.ip, 'echo', 3);
  await clock.run(100);
  assert.ok(A.echoes.includes(3));
});

test('roaming: the peer\'s endpoint follows its authenticated datagrams; an unknown key\'s initiation is dropped', async () => {
  const { clock, net, A, B } = pair();
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], endpoint: addrKey(B.addr) });
  await B.wg.setPeer({ publicKey: A.pub, allowedIps: [`${A.ip}/32`], endpoint: '198.51.100.77:9' });
  A.wg.sendIp(B.ip, 'echo', 1);
  await clock.run(100);
  assert.equal((await peerOf(B, A)).endpoint, addrKey(A.addr), 'from the configured (wrong) endpoint to where A really is');
  // A third WireGuard that B does not know.
  const stranger = net.bind({ host: '198.51.100.9', port: 51820 });
  const init = new Uint8Array(148); init[0] = 1; init.set(new Uint8Array(32).fill(5), 8);
  stranger.send(B.addr, init);
  await clock.run(100);
  assert.equal(B.wg.drops.get('unknown-key'), 1);
  assert.equal((await peerOf(B, A)).endpoint, addrKey(A.addr));
});

test('the persistent keepalive: turning it on sends one at once (a handshake), then one per interval of silence', async () => {
  const { clock, A, B } = pair();
  await B.wg.setPeer({ publicKey: A.pub, allowedIps: [`${A.ip}/32`] });
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], endpoint: addrKey(B.addr) });
  await clock.run(1000);
  assert.equal(A.sent.length, 0, 'nothing without traffic or keepalive');
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], keepalive: 20 });
  await clock.run(1000);
  assert.deepEqual(A.sent.map((d) => `${d[0]}/${d.length}`), ['1/148', '4/32'], 'an initiation, then the keepalive that confirms it');
  await clock.run(20_000);
  assert.equal(A.sent.length, 3, 'one keepalive 20 s later');
});

test('as wireguard-go: no initiation within REKEY_TIMEOUT of one that found no endpoint; an initiation not newer than the last one taken is dropped (a replay)', async () => {
  const { clock, A, B } = pair();
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`] }); // no endpoint yet
  await B.wg.setPeer({ publicKey: A.pub, allowedIps: [`${A.ip}/32`] });
  A.wg.sendIp(B.ip, 'echo', 1); // the attempt fails: no endpoint
  assert.equal(A.wg.drops.get('no-endpoint'), 1);
  await clock.run(100);
  await A.wg.setPeer({ publicKey: B.pub, allowedIps: [`${B.ip}/32`], endpoint: addrKey(B.addr) });
  A.wg.sendIp(B.ip, 'echo', 2);
  await clock.run(1000);
  assert.equal(A.sent.length, 0, 'nothing sent within REKEY_TIMEOUT of the failed attempt');
  await clock.run(WG_REKEY_TIMEOUT + WG_REKEY_JITTER);
  assert.ok(A.echoes.includes(1) && A.echoes.includes(2), 'the retry goes out, and the staged echoes with it');
  // A replay: the first initiation again, later.
  const init = A.sent.find((d) => d[0] === 1)!;
  const before = B.wg.drops.get('initiation-replay') ?? 0;
  B.wg.receive(init, A.addr);
  assert.equal(B.wg.drops.get('initiation-replay'), before + 1, 'an old initiation is a replay');
});

// Joining through a relay (docs/PROTOCOL.md section 7.6 "Joining through a relay",
// src/daemon/inviterelay.ts): the `alias` exchange as whole sealed frames in relay data, over real
// DHT nodes, a real relay server and the inviter's real relay client on an in-memory network; and
// the attacks on that path: a stranger's frames, a forged inner sender, a relay outside the
// inviter's rendezvous set.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { toHex } from '../../src/dht/id.js';
import { Invites } from '../../src/daemon/invites.js';
import { fetchNetworkFile, JoinError } from '../../src/daemon/invitejoin.js';
import { relayedRpc } from '../../src/daemon/inviterelay.js';
import type { NodeContext } from '../../src/daemon/context.js';
import { parseConfig } from '../../src/config/index.js';
import { RelayServer } from '../../src/relay/server.js';
import { RelayClient } from '../../src/relay/client.js';
import { fragmentShapeOk, isSealedFrameShaped } from '../../src/relay/wgshape.js';
import { MAX_RELAY_DATA } from '../../src/proto/messages.js';
import type { Transport } from '../../src/net/transport.js';
import { realClock } from '../../src/util/clock.js';
import { FakeNet, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-inviterelay-test-'));
const keepAlive = setInterval(() => undefined, 1000);
after(() => { clearInterval(keepAlive); fs.rmSync(tmp, { recursive: true, force: true }); });

test('a relay forwards a whole sealed frame besides WireGuard, and nothing else new', () => {
  const frame = new Uint8Array(200); frame.set([0xf7, 1, 1, 0]);
  assert.ok(isSealedFrameShaped(frame) && fragmentShapeOk({ d: frame }));
  const relayKind = frame.slice(); relayKind[2] = 2;
  const cookie = frame.slice(); cookie[2] = 3;
  const version = frame.slice(); version[1] = 2;
  const big = new Uint8Array(MAX_RELAY_DATA + 1); big.set([0xf7, 1, 1, 0]);
  for (const bad of [relayKind, cookie, version, big, frame.slice(0, 20)]) assert.ok(!fragmentShapeOk({ d: bad }), 'refused');
  assert.ok(!fragmentShapeOk({ d: frame, g: 1, i: 0, c: 2 }), 'never as a fragment');
});

interface World {
  net: FakeNet; inviter: DhtNode; relay: DhtNode; invites: Invites; configPath: string; nodes: DhtNode[]; close(): void;
}

function world(name: string, rendezvous = true): World {
  const net = new FakeNet();
  const node = (secret: Uint8Array, host: string) => new DhtNode({ sodium, secret, workbit: 0, namespace: 'testnet', transport: net.bind({ host, port: 1 }), clock: realClock });
  const inviterSecret = generateSecret(sodium);
  const inviter = node(inviterSecret, '10.0.0.1');
  const relay = node(generateSecret(sodium), '10.0.0.3');
  const server = new RelayServer({ dht: relay, log: quietLog(), clock: realClock, canRelay: () => true });
  relay.extend({
    request: (req, max) => (req.msg.t === 'relay-open' ? server.onRelayOpen(req, req.msg, (m) => relay.rpc.send(req.from, req.sender, m, max), Date.now()) : undefined),
    oneWay: (inc) => { if (inc.msg.t !== 'relay') return false; server.onRelay(inc, inc.msg, Date.now()); return true; },
  });
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const configPath = path.join(dir, 'testnet.conf');
  fs.writeFileSync(configPath, `name testnet\nsubnet 10.7.0.0/24\ntrust inviter 10.7.0.1 ${keyToBase64(inviter.id)}\n`);
  const ctx = { opts: { configPath, secret: inviterSecret }, dht: inviter, clock: realClock, log: quietLog(),
    config: parseConfig(fs.readFileSync(configPath, 'utf8'), configPath, sodium) } as unknown as NodeContext;
  const invites = new Invites(ctx, async () => undefined, () => 1_800_000_000_000);
  const no = () => { throw new Error('not used here'); };
  const client = new RelayClient({
    dht: inviter, log: quietLog(), clock: realClock, wgPort: undefined, isTrusted: () => false, isDirect: () => false,
    isRendezvous: (hex) => rendezvous && hex === toHex(relay.id), relayReady: no, relayCandidates: () => [], notifyPeer: no, introducedVia: () => false,
    onRelayedFrame: (inc, m) => invites.relay.onFrame(inc, m),
  });
  inviter.extend({ oneWay: (inc) => { if (inc.msg.t !== 'relayed') return false; client.onRelayed(inc, inc.msg); return true; } });
  const nodes = [inviter, relay];
  return { net, inviter, relay, invites, configPath, nodes, close: () => { for (const n of nodes) n.close(); } };
}

const ref = (relay: DhtNode) => ({ key: relay.id, hex: toHex(relay.id), addr: { host: '10.0.0.3', port: 1 } }); // the relay, at 10.0.0.3

/** A node as `secret` at `host` with a relay session to the inviter (both halves opened, as the
 *  inviter does for a punch it acts on), and an Rpc whose frames ride it. */
async function relayedJoiner(w: World, secret: Uint8Array, host: string) {
  const j = new DhtNode({ sodium, secret, workbit: 0, namespace: 'testnet', transport: w.net.bind({ host, port: 1 }), clock: realClock });
  w.nodes.push(j);
  const relay = ref(w.relay);
  const opened = await Promise.all([
    w.inviter.rpc.request(relay.addr, relay.key, (x) => ({ t: 'relay-open', x, k: j.id })),
    j.rpc.request(relay.addr, relay.key, (x) => ({ t: 'relay-open', x, k: w.inviter.id })),
  ]);
  assert.ok(opened.every((r) => r?.msg.t === 'relay-ok'), 'the session is open');
  const { rpc, transport } = relayedRpc(j, relay, w.inviter.id);
  j.extend({ oneWay: (inc) => { if (inc.msg.t !== 'relayed') return false; transport.deliver(inc.msg.d); return true; } });
  return { j, rpc, relay };
}

const fetch = (w: World, j: { j: DhtNode; rpc: ReturnType<typeof relayedRpc>['rpc']; relay: { addr: { host: string; port: number } } }, joiner: Uint8Array) =>
  fetchNetworkFile({ sodium, dht: j.j, rpc: j.rpc, addr: j.relay.addr, inviter: w.inviter.id, secret: joiner, padTo: MAX_RELAY_DATA, timeout: 300, retries: 1 });

async function issue(w: World): Promise<Uint8Array> {
  const alias = generateSecret(sodium);
  await w.invites.add({ alias: keyToBase64(sodium.crypto_scalarmult_base(alias)), created: 1_800_000_000_000, expires: 1_900_000_000_000, hostname: 'node_r' });
  return alias;
}

test('a joiner that can only be relayed gets the network file through the relay, sealed end to end', async () => {
  const w = world('ok');
  try {
    const alias = await issue(w);
    const j = await relayedJoiner(w, alias, '10.0.0.2');
    const joiner = generateSecret(sodium);
    const file = Buffer.from(await fetch(w, j, joiner)).toString('utf8');
    const key = keyToBase64(sodium.crypto_scalarmult_base(joiner));
    assert.match(file, new RegExp(`^trust node_r ${key.replace(/[+/]/g, '\\$&')}`, 'm'), 'with its own trust line');
    assert.ok(fs.readFileSync(w.configPath, 'utf8').includes(key), 'recorded by the inviter');
    assert.ok(w.relay.counters.get('relay-forwarded') >= 2, 'through the relay');
    assert.equal(w.relay.counters.get('relay-malformed'), 0);
  } finally { w.close(); }
});

test('attack: a stranger (no invitation of ours) with a relay session to the inviter gets nothing: dropped and counted', async () => {
  const w = world('stranger');
  try {
    await issue(w);
    const x = await relayedJoiner(w, generateSecret(sodium), '10.0.0.4');
    await assert.rejects(fetch(w, x, generateSecret(sodium)), (e) => e instanceof JoinError && /did not answer/.test(e.message));
    assert.ok(w.inviter.counters.get('relayed-frame-refused') >= 1, 'counted');
    for (const c of ['alias-ok', 'alias-accepted', 'alias-unknown', 'alias-forged']) assert.equal(w.inviter.counters.get(c), 0, `${c}: never handled`);
    assert.ok(!fs.readFileSync(w.configPath, 'utf8').includes('node_r'), 'nothing written');
  } finally { w.close(); }
});

test('attack: a frame sealed by another key than the one the relay names is dropped, never answered', async () => {
  const w = world('forged');
  try {
    const alias = await issue(w);
    // A stranger seals an `alias` request of its own; a (malicious) relay hands it to the inviter
    // as coming from the invitation's alias key.
    const stranger = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'testnet', transport: w.net.bind({ host: '10.0.0.5', port: 1 }), clock: realClock });
    w.nodes.push(stranger);
    const captured: Uint8Array[] = [];
    const capture: Transport = { send: (_to, d) => { captured.push(d); }, setReceiver: () => undefined, close: () => undefined };
    const rpc = stranger.rpc.fork(capture, { onRequest: () => undefined, onOneWay: () => undefined });
    void rpc.request({ host: '10.0.0.3', port: 1 }, w.inviter.id, (x) => ({ t: 'alias', x, k: stranger.id, m: new Uint8Array(32) }), { timeout: 50, retries: 0, padTo: MAX_RELAY_DATA });
    assert.equal(captured.length, 1);
    const aliasKey = sodium.crypto_scalarmult_base(alias);
    w.relay.rpc.send({ host: '10.0.0.1', port: 1 }, w.inviter.id, { t: 'relayed', k: aliasKey, d: captured[0]! });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(w.inviter.counters.get('alias-relayed-refused'), 1, 'dropped and counted');
    assert.equal(w.inviter.counters.get('alias-forged') + w.inviter.counters.get('alias-ok'), 0, 'no proof checked, no answer');
    rpc.close();
  } finally { w.close(); }
});

test('attack: frames relayed by a node outside the inviter\'s rendezvous set are dropped', async () => {
  const w = world('norendezvous', false);
  try {
    const alias = await issue(w);
    const j = await relayedJoiner(w, alias, '10.0.0.2');
    await assert.rejects(fetch(w, j, generateSecret(sodium)), JoinError);
    assert.ok(w.inviter.counters.get('relayed-frame-refused') >= 1);
    assert.equal(w.inviter.counters.get('alias-accepted'), 0);
  } finally { w.close(); }
});

// src/relay/stray.ts: a relay link follows its peer to the relay the peer's datagrams come
// through, after RELAY_STRAY_DATAGRAMS in a row and RELAY_STRAY_HOLD on its relay (twice that on
// the side with the larger key); a datagram through the link's own relay resets the count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_STRAY_DATAGRAMS, RELAY_STRAY_HOLD } from '../../src/params.js';
import { strayStep, type StrayState } from '../../src/relay/stray.js';
import dgram from 'node:dgram';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { toHex } from '../../src/dht/id.js';
import { RelayClient } from '../../src/relay/client.js';
import { RelayServer } from '../../src/relay/server.js';
import type { RelayLink } from '../../src/relay/link.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { advance, FakeNet, initiation, quietLog } from './fakenet.js';

/** Feeds datagrams through `vias` at `now`, returns the index of the one that made the link follow. */
function feed(vias: string[], now: number, smallerKey: boolean, setAt = 0): number {
  let s: StrayState | undefined;
  for (let i = 0; i < vias.length; i++) {
    const r = strayStep(s, vias[i]!, 'R2', setAt, now, smallerKey);
    s = r.state;
    if (r.follow) return i;
  }
  return -1;
}

test('the peer through another relay: followed at the RELAY_STRAY_DATAGRAMS-th datagram in a row', () => {
  assert.equal(feed(Array(10).fill('R1'), RELAY_STRAY_HOLD, true), RELAY_STRAY_DATAGRAMS - 1);
});

test('a datagram through our own relay, or through a third one, starts the count again', () => {
  const n = RELAY_STRAY_DATAGRAMS;
  const broken = [...Array(n - 1).fill('R1'), 'R2', ...Array(n - 1).fill('R1'), 'R3', ...Array(n - 1).fill('R1')];
  assert.equal(feed(broken, RELAY_STRAY_HOLD, true), -1);
  assert.equal(feed([...broken, 'R1'], RELAY_STRAY_HOLD, true), broken.length);
});

test('not before the hold: RELAY_STRAY_HOLD on the smaller key, twice that on the larger', () => {
  const many = Array(20).fill('R1');
  assert.equal(feed(many, RELAY_STRAY_HOLD - 1, true), -1, 'a link just moved stays');
  assert.equal(feed(many, RELAY_STRAY_HOLD, true), RELAY_STRAY_DATAGRAMS - 1);
  assert.equal(feed(many, 2 * RELAY_STRAY_HOLD - 1, false), -1, 'the larger key waits longer');
  assert.equal(feed(many, 2 * RELAY_STRAY_HOLD, false), RELAY_STRAY_DATAGRAMS - 1);
});

// The relay client itself (src/relay/client.ts strayed): a real RelayClient with a link through
// R2 (a real RelayServer), on one virtual clock; the peer's datagrams then come as `relayed`
// messages through R1 (the peer moved there and introduced itself through it) or through A, a
// public node the peer never introduced itself through.
test('a relay link follows the peer to the relay its datagrams come through (introduced there), never to a node it was not introduced through', async () => {
  const sodium = await sodiumReady();
  const clock = new VirtualClock(), net = new FakeNet();
  const node = (host: string) => new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'stray', transport: net.bind({ host, port: 1 }), clock, refresh: false });
  const me = node('10.0.0.1'), peer = node('10.0.0.2'), r2 = node('10.0.0.3'), r1 = node('10.0.0.4'), a = node('10.0.0.5');
  const server = new RelayServer({ dht: r2, log: quietLog(), clock, canRelay: () => true });
  r2.extend({ request: (req, max) => (req.msg.t === 'relay-open' ? server.onRelayOpen(req, req.msg, (m) => r2.rpc.send(req.from, req.sender, m, max), clock.now()) : undefined) });
  // WireGuard's port on this host: a real loopback socket that counts what the link hands it.
  const wg = dgram.createSocket('udp4');
  await new Promise<void>((r) => wg.bind(0, '127.0.0.1', () => r()));
  let delivered = 0;
  wg.on('message', () => { delivered++; });
  const log = quietLog();
  const ready: string[] = [];
  const client = new RelayClient({
    dht: me, log, clock, wgPort: (wg.address()).port, isTrusted: (hex) => hex === toHex(peer.id), isDirect: () => false,
    isRendezvous: () => true, relayReady: (_hex, link) => { ready.push(link.relay.hex); }, relayCandidates: () => [],
    notifyPeer: () => undefined, introducedVia: (_peer, hex) => hex === toHex(r1.id),
  });
  const ref = (n: DhtNode, host: string) => ({ key: n.id, hex: toHex(n.id), addr: { host, port: 1 } });
  try {
    const opening = client.openLink(peer.id, ref(r2, '10.0.0.3'), false);
    await advance(clock, 50);
    const link = (await opening) as RelayLink;
    assert.equal(link.relay.hex, toHex(r2.id));
    const through = (n: DhtNode, host: string, count: number) => {
      for (let i = 0; i < count; i++) client.onRelayed({ sender: n.id, senderHex: toHex(n.id), from: { host, port: 1 } } as never, { t: 'relayed', k: peer.id, d: initiation(i) } as never);
    };
    await advance(clock, 5000); // past either side's hold
    through(a, '10.0.0.5', 10);
    assert.equal(link.relay.hex, toHex(r2.id), 'datagrams through a node the peer was not introduced through move nothing');
    through(r1, '10.0.0.4', 3);
    assert.equal(link.relay.hex, toHex(r1.id), 'the link follows the peer to R1');
    assert.equal(ready.at(-1), toHex(r1.id), 'WireGuard is pointed at the moved link');
    assert.equal(me.counters.get('relay-followed-stray'), 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(delivered >= 13, `every datagram went to WireGuard (${delivered})`);
  } finally {
    client.close();
    wg.close();
    for (const n of [me, peer, r2, r1, a]) n.close();
  }
});

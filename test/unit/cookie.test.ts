// Cookies (docs/PROTOCOL.md 5.7): the test vector, secret rotation, the frame flag, and the
// sender's side of a cookie reply (matching, bounded resends).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { CookieJar, makeCookie, parseCookieReply, writeCookieReply, COOKIE_REPLY_BYTES } from '../../src/proto/cookie.js';
import { encodeBody } from '../../src/proto/messages.js';
import { parseHeader, MIN_PACKET } from '../../src/proto/packet.js';
import { Rpc } from '../../src/dht/rpc.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { SimNetwork } from '../../src/sim/network.js';
import { randomBytes } from '../../src/util/random.js';
import { COOKIE_RESENDS, COOKIE_ROTATE, REQUEST_RETRIES } from '../../src/params.js';

const sodium = await sodiumReady();
const vec = JSON.parse(readFileSync(new URL('../../../test/vectors/cookie.json', import.meta.url), 'utf8')) as Record<string, string>;
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const FROM = { host: '192.0.2.1', port: 62096 };

test('cookie test vector: cookie, cookie reply, and the resent datagram with its MAC', () => {
  const epoch = BigInt(vec.epoch!);
  const a = new SecureChannel(sodium, { secret: h(vec.sender_secret!), workbit: 0, namespace: '', epoch });
  const b = new SecureChannel(sodium, { secret: h(vec.receiver_secret!), workbit: 0, namespace: '', epoch: 1n });
  assert.equal(Buffer.from(a.publicKey).toString('hex'), vec.sender_public);
  const cookie = makeCookie(sodium, h(vec.cookie_secret!), a.publicKey, FROM);
  assert.deepEqual(cookie, h(vec.cookie!));
  assert.deepEqual(a.seal(b.publicKey, h(vec.body!)), h(vec.first_datagram!));
  const reply = writeCookieReply({ responder: b.publicKey, epoch, counter: 0n, cookie });
  assert.deepEqual(reply, h(vec.cookie_reply!));
  assert.equal(reply.length, COOKIE_REPLY_BYTES);
  assert.deepEqual(parseCookieReply(reply), { responder: b.publicKey, epoch, counter: 0n, cookie });
  const second = a.seal(b.publicKey, h(vec.body!), 1, cookie);
  assert.deepEqual(second, h(vec.second_datagram!));
  // The receiver (cookie secret of the vector) accepts the MAC from that address only.
  const jar = new CookieJar(sodium, new VirtualClock(), () => h(vec.cookie_secret!));
  const hdr = parseHeader(second);
  assert.ok(typeof hdr !== 'string' && hdr.mac !== undefined);
  assert.deepEqual(hdr.mac, h(vec.second_mac!));
  assert.ok(jar.check(a.publicKey, FROM, second.subarray(0, hdr.sealedEnd), hdr.mac));
  assert.ok(!jar.check(a.publicKey, { host: '192.0.2.1', port: 62097 }, second.subarray(0, hdr.sealedEnd), hdr.mac), 'another port');
  assert.ok(!jar.check(b.publicKey, FROM, second.subarray(0, hdr.sealedEnd), hdr.mac), 'another key');
  // The MAC does not change what the datagram says: it opens, and says it carried a cookie.
  const opened = b.open(second);
  assert.ok(opened.ok && opened.cookie && opened.senderHex === vec.sender_public);
});

test('cookie secrets rotate: a cookie holds in its period and the next, not after', async () => {
  const clock = new VirtualClock();
  const jar = new CookieJar(sodium, clock, randomBytes);
  const key = randomBytes(32);
  const c = jar.cookieFor(key, FROM);
  const a = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: '' });
  const dgram = a.seal(randomBytes(32).fill(9), encodeBody({ t: 'ping', x: randomBytes(8) }), 1, c);
  const hdr = parseHeader(dgram);
  assert.ok(typeof hdr !== 'string' && hdr.mac !== undefined);
  const ok = (): boolean => jar.check(key, FROM, dgram.subarray(0, hdr.sealedEnd), hdr.mac!);
  assert.ok(ok());
  await clock.run(COOKIE_ROTATE);
  assert.ok(ok(), 'previous secret still accepted');
  await clock.run(COOKIE_ROTATE);
  assert.ok(!ok(), 'two rotations later the cookie is refused');
});

test('frame flags: FLAG_COOKIE needs room for its MAC; other flag values are rejected', () => {
  const p = new Uint8Array(MIN_PACKET + 15);
  p.set([0xf7, 1, 1, 1], 0);
  assert.equal(parseHeader(p), 'short');
  const q = new Uint8Array(MIN_PACKET + 16);
  q.set([0xf7, 1, 1, 1], 0);
  assert.ok(typeof parseHeader(q) !== 'string');
  for (const flags of [2, 3, 0x80, 0xff]) {
    q[3] = flags;
    assert.equal(parseHeader(q), 'reserved');
  }
  q[3] = 0;
  q[2] = 3; // a cookie reply is never opened as a sealed frame
  assert.equal(parseHeader(q), 'kind');
});

test('sender side: a cookie reply resends the named request at once with the cookie, at most COOKIE_RESENDS times; others are dropped', async () => {
  const clock = new VirtualClock();
  const net = new SimNetwork(clock, { minDelay: 1, maxDelay: 1 });
  const peer = { host: '10.0.0.2', port: 1 };
  const peerKey = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const ch = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: '' });
  const rpc = new Rpc(ch, net.bind({ host: '10.0.0.1', port: 1 }), clock, randomBytes, { onRequest: () => {}, onOneWay: () => {} });
  // The peer answers every datagram with a cookie reply naming it (as a node under load would,
  // or an on-path forger), and never answers the request itself.
  const got: Uint8Array[] = [];
  const peerEnd = net.bind(peer);
  const cookie = randomBytes(16);
  peerEnd.setReceiver((data, from) => {
    got.push(data);
    const hdr = parseHeader(data);
    if (typeof hdr === 'string') return;
    peerEnd.send(from, writeCookieReply({ responder: peerKey, epoch: hdr.epoch, counter: hdr.counter, cookie }));
    peerEnd.send(from, writeCookieReply({ responder: peerKey, epoch: hdr.epoch, counter: hdr.counter + 1000n, cookie })); // names nothing
  });
  let done = false;
  void rpc.request(peer, peerKey, (x) => ({ t: 'ping', x })).then(() => { done = true; });
  await clock.runUntil(() => done, 10_000, 10);
  assert.equal(got.length, 1 + COOKIE_RESENDS + REQUEST_RETRIES, 'first send, resends on cookie replies, then the normal retries');
  const flagged = got.map((d) => d[3]);
  assert.deepEqual(flagged, [0, ...Array<number>(COOKIE_RESENDS + REQUEST_RETRIES).fill(1)], 'every send after the first cookie carries it');
  assert.equal(rpc.counters.get('drop:unexpected-cookie'), got.length, 'each reply naming no pending transmission is dropped');
  // The resends follow the cookie replies at once (2 ms: one round trip), not after a timeout.
  assert.ok(rpc.counters.get('cookie-received') >= COOKIE_RESENDS);
  rpc.close();
});

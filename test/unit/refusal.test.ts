// Workbit refusals (issue 9): a node whose key a boot node refuses for its workbit learns it,
// from a small unauthenticated frame (kind 4) that is never larger than what it answers and is
// rate-limited; the receiver takes it only from the boot node it sent to, as a report.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { workbit } from '../../src/crypto/workbit.js';
import { searchKey } from '../../src/crypto/keysearch.js';
import { DhtNode } from '../../src/dht/node.js';
import { realClock } from '../../src/util/clock.js';
import { BootContact } from '../../src/daemon/contact.js';
import { parseRefusal, writeRefusal } from '../../src/proto/refusal.js';
import { REFUSAL_MIN_INTERVAL, REFUSALS_BURST } from '../../src/params.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { FakeNet } from './fakenet.js';

const sodium = await sodiumReady();
// realClock's timers do not keep the process alive; this does, while the tests run.
const keepAlive = setInterval(() => undefined, 1000);
after(() => clearInterval(keepAlive));
const vectors = JSON.parse(fs.readFileSync(new URL('../../../test/vectors/refusal.json', import.meta.url), 'utf8')) as {
  vectors: { responder: string; epoch: string; counter: string; workbit: number; namespace: string; frame: string }[];
  invalid: string[];
};

/** A secret whose public key has workbit < 8 in "public" (almost every random key). */
function weakSecret(): Uint8Array {
  for (;;) {
    const sk = generateSecret(sodium);
    if (workbit(sodium, sodium.crypto_scalarmult_base(sk), 'public') < 8) return sk;
  }
}


/** A public boot node (workbit 8 in "public") and a node, on a fake network. */
async function pair(nodeSecret: Uint8Array) {
  const net = new FakeNet();
  const bootAddr = { host: '192.0.2.1', port: 62096 };
  const nodeAddr = { host: '192.0.2.2', port: 62096 };
  const bootT = net.bind(bootAddr);
  const nodeT = net.bind(nodeAddr);
  const bootSecret = (await searchKey({ workbit: 8, namespace: 'public', threads: 1 })).secret;
  const boot = new DhtNode({ sodium, secret: bootSecret, workbit: 8, namespace: 'public', transport: bootT, clock: realClock, refresh: false, direct: true, requestTimeout: 200, retries: 0 });
  const node = new DhtNode({ sodium, secret: nodeSecret, workbit: 0, namespace: 'public', transport: nodeT, clock: realClock, refresh: false, requestTimeout: 200, retries: 0 });
  return { net, bootAddr, nodeAddr, bootT, nodeT, boot, node, close: () => { boot.close(); node.close(); } };
}

describe('workbit refusal', () => {
  test('frame layout matches test/vectors/refusal.json; malformed frames are refused', () => {
    for (const v of vectors.vectors) {
      const r = { responder: Buffer.from(v.responder, 'hex'), epoch: BigInt(v.epoch), counter: BigInt(v.counter), workbit: v.workbit, namespace: v.namespace };
      assert.equal(Buffer.from(writeRefusal(r)!).toString('hex'), v.frame);
      const p = parseRefusal(Buffer.from(v.frame, 'hex'))!;
      assert.deepEqual({ ...p, responder: Buffer.from(p.responder).toString('hex') }, { ...r, responder: v.responder });
    }
    for (const bad of vectors.invalid) assert.equal(parseRefusal(Buffer.from(bad, 'hex')), undefined, bad);
  });

  test('a boot node answers a ping from a key below its workbit with a refusal no larger than the ping, naming workbit and namespace', async () => {
    const p = await pair(weakSecret());
    try {
      const refusals: { workbit: number; namespace: string; from: string }[] = [];
      (p.node.rpc as unknown as { onRefusal: unknown }).onRefusal = (r: { workbit: number; namespace: string }, from: { host: string }) => refusals.push({ workbit: r.workbit, namespace: r.namespace, from: from.host });
      const pong = await p.node.ping(p.boot.id, p.bootAddr);
      assert.equal(pong, undefined, 'no pong: the boot node refuses the key');
      const ping = p.nodeT.sent.find((s) => s.to.host === p.bootAddr.host)!;
      const answers = p.bootT.sent.filter((s) => s.to.host === p.nodeAddr.host);
      assert.equal(answers.length, 1, 'the boot node answers the refused ping with exactly one datagram');
      const a = answers[0]!.data;
      assert.deepEqual([a[0], a[1], a[2]], [0xf7, 1, 4], 'a kind-4 frame');
      assert.ok(a.length <= ping.data.length, `refusal ${a.length} bytes <= ping ${ping.data.length} bytes`);
      assert.deepEqual(refusals, [{ workbit: 8, namespace: 'public', from: p.bootAddr.host }]);
      assert.equal(p.boot.rpc.counters.get('drop:workbit'), 1);
    } finally { p.close(); }
  });

  test('a forged refusal naming no request of ours still pending to that address and key is dropped (epoch is public)', async () => {
    // rev3: the epoch is in the clear header of every datagram we send, so any node we ever
    // sent to knows it; the boot node's key and address are public. The refusal must also name
    // a request of ours still waiting for that key at that address, as a cookie reply must.
    const p = await pair(weakSecret());
    try {
      const refusals: { workbit: number; namespace: string }[] = [];
      (p.node.rpc as unknown as { onRefusal: unknown }).onRefusal = (r: { workbit: number; namespace: string }) => refusals.push({ workbit: r.workbit, namespace: r.namespace });
      p.bootT.close(); // the real boot node is silent: the ping times out
      assert.equal(await p.node.ping(p.boot.id, p.bootAddr), undefined);
      const ping = p.nodeT.sent.find((s) => s.to.host === p.bootAddr.host)!.data;
      const dv = new DataView(ping.buffer, ping.byteOffset, ping.byteLength);
      const epoch = dv.getBigUint64(36);
      const forge = (counter: bigint) => writeRefusal({ responder: p.boot.id, epoch, counter, workbit: 200, namespace: 'evil' })!;
      // Long after the ping timed out, from the boot node's address (spoofed), its counter and others.
      for (const c of [dv.getBigUint64(44), 0n, 1n, 2n, 3n]) p.net.deliver(p.bootAddr, p.nodeAddr, forge(c));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(refusals, [], 'a forged refusal for no pending request was taken');
      assert.equal(p.node.rpc.counters.get('drop:unexpected-refusal'), 5);
    } finally { p.close(); }
  });

  test('a key that meets the workbit gets its pong and no refusal', async () => {
    const strong = (await searchKey({ workbit: 8, namespace: 'public', threads: 1 })).secret;
    const p = await pair(strong);
    try {
      assert.notEqual(await p.node.ping(p.boot.id, p.bootAddr), undefined);
      assert.ok(p.bootT.sent.every((s) => s.data[2] !== 4));
    } finally { p.close(); }
  });

  test('refusals are rate-limited: one per source per interval, and a global budget', async () => {
    // A virtual clock: time stands still while the forged datagrams arrive.
    const clock = new VirtualClock();
    const net = new FakeNet();
    const t = net.bind({ host: '192.0.2.1', port: 62096 });
    const boot = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 8, namespace: 'public', transport: t, clock, refresh: false });
    try {
      const weak = sodium.crypto_scalarmult_base(weakSecret());
      const forged = () => {
        const d = new Uint8Array(70);
        d.set([0xf7, 1, 1, 0]); d.set(weak, 4); d.set(sodium.randombytes_buf(34), 36);
        return d;
      };
      const refusalsTo = (host: string) => t.sent.filter((s) => s.data[2] === 4 && s.to.host === host).length;
      // 50 forged datagrams from one address (different ports): one refusal.
      for (let i = 0; i < 50; i++) boot.rpc.receive(forged(), { host: '198.51.100.7', port: 1000 + i });
      assert.equal(refusalsTo('198.51.100.7'), 1, 'one refusal per source per interval');
      // From 500 spoofed sources at once: the global burst, no more.
      for (let i = 0; i < 500; i++) boot.rpc.receive(forged(), { host: `10.9.${i >> 8}.${i & 255}`, port: 1 });
      const total = t.sent.filter((s) => s.data[2] === 4).length;
      assert.equal(total, REFUSALS_BURST, `${total} refusals for 550 forged datagrams`);
      const bytesOut = t.sent.filter((s) => s.data[2] === 4).reduce((n, s) => n + s.data.length, 0);
      assert.ok(bytesOut <= 550 * 70 / 10, `reflected ${bytesOut} bytes for ${550 * 70}`);
      // A second later the same source gets one again, and the budget has refilled by the rate.
      await clock.run(REFUSAL_MIN_INTERVAL);
      boot.rpc.receive(forged(), { host: '198.51.100.7', port: 1 });
      assert.equal(refusalsTo('198.51.100.7'), 2);
    } finally { boot.close(); }
  });

  test('the refusal fits the datagram it answers, or is not sent (a long namespace)', async () => {
    const net = new FakeNet();
    const t = net.bind({ host: '192.0.2.9', port: 1 });
    const longNs = 'n'.repeat(30);
    const boot = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 30, namespace: longNs, transport: t, clock: realClock, refresh: false });
    try {
      const d = new Uint8Array(70);
      d.set([0xf7, 1, 1, 0]); d.set(sodium.crypto_scalarmult_base(generateSecret(sodium)), 4);
      boot.rpc.receive(d, { host: '198.51.100.8', port: 9 });
      const big = new Uint8Array(120); big.set(d);
      boot.rpc.receive(big, { host: '198.51.100.9', port: 9 });
      const out = t.sent.filter((s) => s.data[2] === 4);
      assert.equal(out.length, 1, 'only the 120-byte datagram gets a refusal (85 bytes)');
      assert.equal(out[0]!.to.host, '198.51.100.9');
      assert.ok(out[0]!.data.length <= 120);
    } finally { boot.close(); }
  });
});

describe('boot contact report', () => {
  const bootKey = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const bootAddr = { host: '192.0.2.1', port: 62096 };
  const refusal = (responder: Uint8Array) => ({ responder, epoch: 1n, counter: 0n, workbit: 8, namespace: 'public' });

  test('a refusal from the boot node\'s own address and key is reported with the command to run; anything else is ignored', () => {
    const me = sodium.crypto_scalarmult_base(weakSecret());
    const c = new BootContact(sodium, me, [{ key: bootKey, addr: bootAddr }]);
    assert.equal(c.refused(refusal(bootKey), { host: '192.0.2.66', port: 62096 }), undefined, 'another address');
    assert.equal(c.refused(refusal(sodium.crypto_scalarmult_base(generateSecret(sodium))), bootAddr), undefined, 'another key');
    assert.equal(c.status()[0]!.state, 'pending');
    const m = c.refused(refusal(bootKey), bootAddr)!;
    assert.match(m, /^boot node 192\.0\.2\.1:62096 refuses keys below workbit 8 in namespace "public" \(this key has \d\): make one with `wh genkey --workbit 8 --namespace public`$/);
    assert.equal(c.refused(refusal(bootKey), bootAddr), undefined, 'said once');
    assert.deepEqual(c.joined(), [], 'a refused boot node is not also unreachable (its refusal was reported as it came)');
    assert.equal(c.status()[0]!.state, 'refused');
    assert.equal(c.status()[0]!.message, m);
    // A reload that keeps the boot line keeps what is known of it; a new line starts pending.
    const other = sodium.crypto_scalarmult_base(generateSecret(sodium));
    c.sync([{ key: other, addr: { host: '192.0.2.3', port: 1 } }, { key: bootKey, addr: bootAddr }]);
    assert.deepEqual(c.status().map((s) => s.state), ['pending', 'refused']);
    assert.equal(c.joined().length, 1);
  });

  test('a boot node that never answers is reported as unreachable, distinctly; one that answered is not reported', () => {
    const other = sodium.crypto_scalarmult_base(generateSecret(sodium));
    const c = new BootContact(sodium, bootKey, [{ key: bootKey, addr: bootAddr }, { key: other, addr: { host: '192.0.2.2', port: 1 } }]);
    c.heard(Buffer.from(other).toString('hex'));
    assert.deepEqual(c.joined(), ['boot node 192.0.2.1:62096 is unreachable: it did not answer (wrong address or key, a firewall, or it is down)']);
    assert.deepEqual(c.status().map((s) => s.state), ['unreachable', 'answered']);
    // A refusal after an answer is not believed (it is unauthenticated).
    assert.equal(c.refused(refusal(other), { host: '192.0.2.2', port: 1 }), undefined);
  });
});


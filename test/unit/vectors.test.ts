// The protocol's test vectors (test/vectors/*.json, docs/PROTOCOL.md Appendix A) recomputed
// from the real code: keys, key derivation, padding, bodies, node records, kind-1 and kind-2
// frames. Each vector was generated once by the reference code; a change of encoding fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { clampSecret, keyToBase64, publicFromSecret } from '../../src/crypto/keys.js';
import { workbit, workbitInput } from '../../src/crypto/workbit.js';
import { SecureChannel } from '../../src/proto/channel.js';
import {
  decodeBody, decodeRecords, decodeRelayBody, encodeBody, encodeRecords, encodeRelayBody, recordSize, type Message, type NodeRecord,
} from '../../src/proto/messages.js';
import { HEADER_BYTES, KIND_RELAY, KIND_SEALED, nonceFor, parseHeader } from '../../src/proto/packet.js';
import { fragment, Reassembler } from '../../src/relay/fragment.js';
import { PING_PAD_TO } from '../../src/params.js';

const sodium = await sodiumReady();
// dist/test/unit → the source tree's test/vectors.
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../../test/vectors/${name}`, import.meta.url), 'utf8')) as T;
const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const channel = (secret: string, epoch: string) => new SecureChannel(sodium, { secret: h(secret), workbit: 0, namespace: '', epoch: BigInt(epoch) });
const parseAddr = (s: string) => {
  const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^(.+):(\d+)$/.exec(s);
  return { host: m![1]!, port: Number(m![2]) };
};
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

test('Appendix A vector (test/vectors/ping.json): keys, direction keys, padded ping, nonce, sealed datagram; B opens it', () => {
  const v = load<Record<string, string>>('ping.json');
  const a = channel(v.sender_secret!, v.epoch!);
  const b = channel(v.receiver_secret!, '1');
  assert.equal(hex(a.publicKey), v.sender_public);
  assert.equal(hex(b.publicKey), v.receiver_public);
  // Section 5.2, written out: X25519, then keyed BLAKE2b over the label and both keys.
  const s = sodium.crypto_scalarmult(h(v.sender_secret!), b.publicKey);
  assert.equal(hex(s), v.shared_secret);
  assert.equal(hex(sodium.crypto_scalarmult(h(v.receiver_secret!), a.publicKey)), v.shared_secret, 'both sides agree');
  const label = new TextEncoder().encode('wirehub/1 dir');
  assert.equal(hex(sodium.crypto_generichash(32, concat(label, a.publicKey, b.publicKey), s)), v.key_a_to_b);
  assert.equal(hex(sodium.crypto_generichash(32, concat(label, b.publicKey, a.publicKey), s)), v.key_b_to_a);
  // Section 7.2 padding and 7.4 ping.
  const body = encodeBody({ t: 'ping', x: h(v.x!) }, PING_PAD_TO - 68);
  assert.equal(hex(body), v.body);
  assert.equal(Number(v.pad_to_datagram), PING_PAD_TO);
  // Section 5.3 nonce, 5.1 frame: the real channel's datagram.
  assert.equal(hex(nonceFor(BigInt(v.epoch!), 0n)), v.nonce);
  const dgram = a.seal(b.publicKey, body);
  assert.equal(hex(dgram), v.datagram);
  assert.equal(dgram.length, PING_PAD_TO);
  // The ciphertext opens under k(A→B) as the spec says, and with the real receiver.
  const opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, dgram.subarray(HEADER_BYTES), dgram.subarray(0, HEADER_BYTES), h(v.nonce!), h(v.key_a_to_b!));
  assert.equal(hex(opened), v.body);
  const r = b.open(h(v.datagram!));
  assert.ok(r.ok && r.kind === KIND_SEALED && r.senderHex === v.sender_public && hex(r.body) === v.body);
  const msg = decodeBody(r.body);
  assert.ok(msg.ok && msg.msg.t === 'ping' && hex(msg.msg.x) === v.x);
});

interface RelayFrame { counter: number; g?: number; i?: number; c?: number; data?: string; data_length?: number; body: string; datagram: string }
interface RelayVector {
  client_secret: string; client_public: string; relay_secret: string; relay_public: string; peer_public: string; epoch: string;
  relay: RelayFrame; relayed_data: string; relayed: RelayFrame[];
}

test('relay vector (test/vectors/relay.json): kind-2 frames, a whole relay and a fragmented relayed; opened and reassembled', () => {
  const v = load<RelayVector>('relay.json');
  const client = channel(v.client_secret, v.epoch), relay = channel(v.relay_secret, v.epoch);
  assert.equal(hex(client.publicKey), v.client_public);
  assert.equal(hex(relay.publicKey), v.relay_public);
  const peer = h(v.peer_public);
  // Client → relay: a whole WireGuard datagram (no g/i/c), counter 0.
  const whole = encodeRelayBody({ t: 'relay', k: peer, d: h(v.relay.data!) });
  assert.equal(hex(whole), v.relay.body);
  const wholeFrame = client.seal(relay.publicKey, whole, KIND_RELAY);
  assert.equal(hex(wholeFrame), v.relay.datagram);
  const hdr = parseHeader(wholeFrame);
  assert.ok(typeof hdr !== 'string' && hdr.kind === KIND_RELAY && hdr.counter === BigInt(v.relay.counter));
  const got = relay.open(wholeFrame);
  assert.ok(got.ok && got.kind === KIND_RELAY);
  assert.deepEqual(decodeRelayBody(got.body), { ok: true, msg: { t: 'relay', k: peer, d: h(v.relay.data!) } });
  // Relay → client: a full-size datagram in fragments (the real fragmenter), counters 0, 1.
  const data = h(v.relayed_data);
  const frags = fragment(data, v.relayed[0]!.g!)!;
  assert.equal(frags.length, v.relayed.length);
  const reasm = new Reassembler(1000, 4);
  let out: Uint8Array | undefined;
  frags.forEach((f, n) => {
    const want = v.relayed[n]!;
    assert.deepEqual([f.g, f.i, f.c, f.d.length], [want.g, want.i, want.c, want.data_length]);
    const body = encodeRelayBody({ t: 'relayed', k: peer, ...f });
    assert.equal(hex(body), want.body, `fragment ${n} body`);
    const frame = relay.seal(client.publicKey, body, KIND_RELAY);
    assert.equal(hex(frame), want.datagram, `fragment ${n} frame`);
    const o = client.open(h(want.datagram));
    assert.ok(o.ok && o.kind === KIND_RELAY);
    const m = decodeRelayBody(o.body);
    assert.ok(m.ok && m.msg.t === 'relayed' && hex(m.msg.k) === v.peer_public);
    out = reasm.add(v.peer_public, { d: m.msg.d, g: m.msg.g!, i: m.msg.i!, c: m.msg.c! }, 0) ?? out;
  });
  assert.ok(out !== undefined && hex(out) === v.relayed_data, 'the fragments reassemble to the datagram');
  // A relay body in a kind-1 frame is not a message (section 7.4, relay data frames).
  assert.equal(decodeBody(h(v.relay.body)).ok, false);
});

interface NodesVector {
  responder_secret: string; responder_public: string; requester_public: string; epoch: string; x: string;
  records: { key: string; address: string; direct: boolean; relay?: string; bytes: string }[];
  n: string; body: string; datagram: string; empty_body: string;
}

test('nodes vector (test/vectors/nodes.json): node records of each form, the nodes body and its sealed datagram', () => {
  const v = load<NodesVector>('nodes.json');
  const recs: NodeRecord[] = v.records.map((r) => ({ key: h(r.key), addr: parseAddr(r.address), direct: r.direct, ...(r.relay ? { relay: h(r.relay) } : {}) }));
  v.records.forEach((r, n) => {
    const one = encodeRecords([recs[n]!]);
    assert.equal(hex(one), r.bytes, `record ${n} (${r.address})`);
    assert.equal(recordSize(recs[n]!), one.length);
    assert.deepEqual(decodeRecords(one), [recs[n]]);
  });
  assert.deepEqual(v.records.map((r) => r.bytes.length / 2), [39, 83, 39, 51, 71], 'section 8.2 sizes');
  assert.equal(hex(encodeRecords(recs)), v.n);
  assert.deepEqual(decodeRecords(h(v.n)), recs);
  assert.equal(decodeRecords(h(v.n).subarray(0, h(v.n).length - 1)), undefined, 'a record cut short invalidates all');
  const x = h(v.x);
  const body = encodeBody({ t: 'nodes', x, n: recs });
  assert.equal(hex(body), v.body);
  assert.deepEqual(decodeBody(h(v.body)), { ok: true, msg: { t: 'nodes', x, n: recs } });
  assert.equal(hex(encodeBody({ t: 'nodes', x, n: [] })), v.empty_body);
  const responder = channel(v.responder_secret, v.epoch);
  assert.equal(hex(responder.publicKey), v.responder_public);
  assert.equal(hex(responder.seal(h(v.requester_public), body)), v.datagram);
});

interface PaddingVector { cases: { message: { t: 'ping' | 'find'; x: string; k?: string }; pad_to: number; length: number; body: string }[] }

test('padding vector (test/vectors/padding.json): bodies padded to each target, one byte short and too-small gaps', () => {
  const v = load<PaddingVector>('padding.json');
  assert.ok(v.cases.length >= 5);
  for (const c of v.cases) {
    const msg: Message = c.message.t === 'ping' ? { t: 'ping', x: h(c.message.x) } : { t: 'find', x: h(c.message.x), k: h(c.message.k!) };
    const body = encodeBody(msg, c.pad_to);
    assert.equal(hex(body), c.body, `${c.message.t} padded to ${c.pad_to}`);
    assert.equal(body.length, c.length);
    assert.ok(c.pad_to === 0 || body.length <= Math.max(c.pad_to, encodeBody(msg).length), 'never above the target');
    const d = decodeBody(body);
    assert.ok(d.ok && d.msg.t === c.message.t, 'a padded body decodes to the same message');
  }
  // The cases the spec names (section 7.2): one byte short at a width change, a gap under 5 bytes.
  const ping = (padTo: number) => v.cases.find((c) => c.message.t === 'ping' && c.pad_to === padTo)!;
  assert.equal(ping(0).length, 30);
  assert.equal(ping(45).length, 44);
  assert.equal(ping(34).length, 30);
  assert.equal(ping(92).length, PING_PAD_TO - 68);
});

interface WorkbitVector { examples: { private_seed?: string; private_key: string; private_hex: string; public_key: string; public_hex: string; namespace: string; hash: string; workbit: number }[] }

test('workbit vector (test/vectors/workbit.json): keys, BLAKE2b-256(pk || namespace) and the workbit of section 3', () => {
  const v = load<WorkbitVector>('workbit.json');
  assert.ok(v.examples.length >= 3);
  for (const e of v.examples) {
    const sk = e.private_seed !== undefined
      ? clampSecret(sodium.crypto_generichash(32, new TextEncoder().encode(e.private_seed), null))
      : h(e.private_hex);
    assert.equal(hex(sk), e.private_hex);
    assert.equal(keyToBase64(sk), e.private_key);
    const pk = publicFromSecret(sodium, sk);
    assert.equal(keyToBase64(pk), e.public_key);
    assert.equal(hex(pk), e.public_hex);
    assert.equal(hex(sodium.crypto_generichash(32, workbitInput(pk, e.namespace), null)), e.hash);
    assert.equal(workbit(sodium, pk, e.namespace), e.workbit, `${e.public_key} in ${e.namespace}`);
    // A network asking exactly that workbit in that namespace accepts the key, one more refuses it.
    const ch = (w: number) => new SecureChannel(sodium, { secret: sk, workbit: w, namespace: e.namespace });
    assert.equal(ch(e.workbit).acceptsKey(pk), true);
    assert.equal(ch(e.workbit + 1).acceptsKey(pk), false);
  }
  // The first key clamped from bytes 01..20 is the one of every other vector.
  assert.equal(v.examples[0]!.private_hex, load<Record<string, string>>('ping.json').sender_secret);
});

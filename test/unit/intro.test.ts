// Sealed introductions (src/nat/intro.ts; docs/PROTOCOL.md section 7.4, `punch-req` and
// `punch-notify` field `i`): the test vector of test/vectors/intro.json (checked with an
// independent implementation, see docs/PROTOCOL.md appendix A), and what openIntro refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { SecureChannel } from '../../src/proto/channel.js';
import { decodeBody, decodeIntro, encodeBody, encodeIntro, MAX_INTRO } from '../../src/proto/messages.js';
import { notifyProbes, openIntro, sealIntro } from '../../src/nat/intro.js';
import { PING_PAD_TO, PUNCH_NOTIFY_BUDGET, PUNCH_NOTIFY_PROBES } from '../../src/params.js';

const sodium = await sodiumReady();
// dist/test/unit → the source tree's test/vectors.
const vector = JSON.parse(fs.readFileSync(new URL('../../../test/vectors/intro.json', import.meta.url), 'utf8')) as Record<string, string>;
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const addr = (s: string) => { const [host, port] = s.split(':'); return { host: host!, port: Number(port) }; };
const channel = (secret: Uint8Array, epoch?: bigint) => new SecureChannel(sodium, { secret, workbit: 0, namespace: '', ...(epoch ? { epoch } : {}) });
const trustAll = () => true;

test('intro vector: body, sealed frame, punch-req and punch-notify bodies; the target opens it', () => {
  const a = channel(h(vector.initiator_secret!), BigInt(vector.epoch!));
  assert.equal(hex(a.publicKey), vector.initiator_public);
  const r = h(vector.rendezvous_public!), b = h(vector.target_public!), own = addr(vector.own_address!);
  assert.equal(hex(encodeIntro({ r, a: own })), vector.intro_body);
  const sealed = sealIntro(a, b, r, own)!;
  assert.equal(hex(sealed), vector.intro_sealed, 'the first frame of the epoch (counter 0)');
  assert.ok(sealed.length <= MAX_INTRO);
  const x = h(vector.punch_req_x!);
  assert.equal(hex(encodeBody({ t: 'punch-req', x, k: b, i: sealed })), vector.punch_req_body);
  assert.equal(hex(encodeBody({ t: 'punch-notify', x, k: a.publicKey, a: addr(vector.punch_notify_a!), i: sealed })), vector.punch_notify_body);
  const notify = decodeBody(h(vector.punch_notify_body!));
  assert.ok(notify.ok && notify.msg.t === 'punch-notify' && notify.msg.i !== undefined);
  const target = channel(h(vector.target_secret!));
  assert.deepEqual(openIntro(target, notify.msg.i, notify.msg.k, r, trustAll), { ok: true, intro: { r, a: own } });
  assert.deepEqual(openIntro(target, notify.msg.i, notify.msg.k, r, trustAll), { ok: false, reason: 'intro-replay' }, 'once only');
});

test('openIntro refuses: no intro, another key\'s, for another target, another rendezvous, an untrusted key, a body that is no intro', () => {
  const a = channel(generateSecret(sodium)), b = channel(generateSecret(sodium)), c = channel(generateSecret(sodium));
  const via = sodium.crypto_scalarmult_base(generateSecret(sodium)), other = sodium.crypto_scalarmult_base(generateSecret(sodium));
  const refused = (frame: Uint8Array | undefined, from = a.publicKey, r = via, trusted: (hex: string) => boolean = trustAll) => {
    const v = openIntro(b, frame, from, r, trusted);
    assert.equal(v.ok, false);
    return (v as { reason: string }).reason;
  };
  assert.equal(refused(undefined), 'no-intro');
  assert.equal(refused(new Uint8Array(80)), 'intro-frame');
  assert.equal(refused(sealIntro(c, b.publicKey, via)), 'intro-not-from-key', 'c\'s intro for a notify naming a');
  assert.equal(refused(sealIntro(a, c.publicKey, via)), 'intro-auth', 'sealed for c');
  assert.equal(refused(sealIntro(a, b.publicKey, via), a.publicKey, other), 'intro-rendezvous');
  let asked = 0;
  assert.equal(refused(sealIntro(a, b.publicKey, via), a.publicKey, via, () => { asked++; return false; }), 'untrusted');
  assert.equal(asked, 1);
  assert.equal(refused(a.seal(b.publicKey, encodeBody({ t: 'ping', x: new Uint8Array(8) }))), 'intro-body', 'a sealed ping is no intro');
  assert.equal(decodeIntro(encodeBody({ t: 'ping', x: new Uint8Array(8) })).ok, false);
  // An intro sent on its own as a datagram is no message.
  assert.deepEqual(decodeBody(encodeIntro({ r: via })), { ok: false, reason: 'unknown-type' });
  assert.equal(openIntro(b, sealIntro(a, b.publicKey, via), a.publicKey, via, trustAll).ok, true);
});

test('punch-req and punch-notify: an `i` longer than MAX_INTRO makes the body invalid', () => {
  const x = new Uint8Array(8), k = new Uint8Array(32);
  const a = { host: '192.0.2.1', port: 1 };
  assert.equal(decodeBody(encodeBody({ t: 'punch-notify', x, k, a, i: new Uint8Array(MAX_INTRO) })).ok, true);
  assert.deepEqual(decodeBody(encodeBody({ t: 'punch-notify', x, k, a, i: new Uint8Array(MAX_INTRO + 1) })), { ok: false, reason: 'body' });
  assert.deepEqual(decodeBody(encodeBody({ t: 'punch-req', x, k, i: new Uint8Array(MAX_INTRO + 1) })), { ok: false, reason: 'body' });
});

test('notifyProbes: PUNCH_NOTIFY_PROBES at most, within PUNCH_NOTIFY_BUDGET times the notify', () => {
  for (const size of [0, 97, 156, 287, 298, 1452]) {
    const n = notifyProbes(size);
    assert.ok(n <= PUNCH_NOTIFY_PROBES && n * PING_PAD_TO <= PUNCH_NOTIFY_BUDGET * size, `${size} B → ${n}`);
  }
  assert.equal(notifyProbes(287), PUNCH_NOTIFY_PROBES, 'a punch-notify with an introduction gets the full count');
  assert.equal(notifyProbes(156), 4, 'a notify the size of an old one would get 4');
});

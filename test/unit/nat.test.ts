// The NAT classifier on synthetic samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNat, type NatSample } from '../../src/nat/classify.js';
import { ReachVerdicts } from '../../src/nat/reach.js';

const r = (i: number) => ({ host: `20.0.1.${i}`, port: 62096 });
const local = { localIps: ['192.168.1.2', '127.0.0.1'], localPort: 62096 };

test('no samples: unknown, or blocked once several nodes were asked', () => {
  assert.equal(classifyNat([], local).type, 'unknown');
  assert.equal(classifyNat([], { ...local, attempted: 3 }).type, 'blocked');
});

test('observed address is ours, same port: no NAT', () => {
  const s: NatSample[] = [{ responder: r(1), observed: { host: '192.168.1.2', port: 62096 } }, { responder: r(2), observed: { host: '192.168.1.2', port: 62096 } }];
  assert.equal(classifyNat(s, local).type, 'none');
  // Our IP but another port: something rewrote the port (a NAT on the same address).
  assert.notEqual(classifyNat([{ responder: r(1), observed: { host: '192.168.1.2', port: 1000 } }, { responder: r(2), observed: { host: '192.168.1.2', port: 1000 } }], local).type, 'none');
});

test('one public ip:port seen by two responders: endpoint-independent; by one: unknown', () => {
  const pub = { host: '20.0.2.1', port: 62096 };
  const v = classifyNat([{ responder: r(1), observed: pub }, { responder: r(2), observed: pub }], local);
  assert.equal(v.type, 'endpoint-independent');
  assert.deepEqual(v.publicAddr, pub);
  assert.equal(classifyNat([{ responder: r(1), observed: pub }, { responder: r(1), observed: pub }], local).type, 'unknown');
});

test('different ports for different responders: symmetric', () => {
  const v = classifyNat([{ responder: r(1), observed: { host: '20.0.2.1', port: 40001 } }, { responder: r(2), observed: { host: '20.0.2.1', port: 51234 } }], local);
  assert.equal(v.type, 'symmetric');
  assert.equal(v.observed.length, 2);
});

test('dual stack: a node seen at one address per family is classified by its IPv4 samples; an IPv6-only one by its IPv6 samples', () => {
  const r6 = (i: number) => ({ host: `2001:db8::1:${i}`, port: 62096 });
  const dual = { localIps: ['192.168.1.2', '2001:db8::2:5', '127.0.0.1', '::1'], localPort: 62096 };
  const pub4 = { host: '20.0.2.1', port: 62096 }, own6 = { host: '2001:db8::2:5', port: 62096 };
  // Behind a cone NAT for IPv4, its own address over IPv6: cone, not symmetric.
  const behind = classifyNat([{ responder: r(1), observed: pub4 }, { responder: r(2), observed: pub4 }, { responder: r6(1), observed: own6 }, { responder: r6(2), observed: own6 }], dual);
  assert.equal(behind.type, 'endpoint-independent');
  assert.deepEqual(behind.publicAddr, pub4);
  assert.equal(behind.observed.length, 2, 'both views are shown');
  // Public in both families.
  const own4 = { host: '192.168.1.2', port: 62096 };
  assert.equal(classifyNat([{ responder: r(1), observed: own4 }, { responder: r6(1), observed: own6 }], dual).type, 'none');
  // IPv6 only.
  assert.equal(classifyNat([{ responder: r6(1), observed: own6 }, { responder: r6(2), observed: own6 }], dual).type, 'none');
  assert.equal(classifyNat([{ responder: r6(1), observed: { ...own6, port: 1 } }, { responder: r6(2), observed: { ...own6, port: 2 } }], dual).type, 'symmetric');
  // IPv4 ports differ per responder: symmetric, whatever IPv6 says.
  assert.equal(classifyNat([{ responder: r(1), observed: { ...pub4, port: 1 } }, { responder: r(2), observed: { ...pub4, port: 2 } }, { responder: r6(1), observed: own6 }], dual).type, 'symmetric');
});

// ---- direct claims (src/nat/reach.ts) -----------------------------------------------------------

test('ReachVerdicts: nothing is confirmed until a checker says so, and only at the checked address', () => {
  const v = new ReachVerdicts(1000, 100);
  const c = { hex: 'aa', addr: { host: '20.0.1.9', port: 62096 } };
  assert.equal(v.confirmed('aa', c.addr, 0), false);
  assert.deepEqual(v.due([c], 0, 4), [c]);
  v.record(c, true, 0);
  assert.equal(v.confirmed('aa', c.addr, 999), true);
  assert.equal(v.confirmed('aa', { host: '20.0.1.9', port: 1 }, 10), false, 'another address is another claim');
  assert.equal(v.confirmed('aa', c.addr, 1000), false, 'a confirmation lapses');
  // Renewed at half its validity, so that a live claim never lapses.
  assert.deepEqual(v.due([c], 499, 4), []);
  assert.deepEqual(v.due([c], 500, 4), [c]);
  // At a new address the claim is due at once.
  const moved = { hex: 'aa', addr: { host: '20.0.1.9', port: 2 } };
  assert.deepEqual(v.due([moved], 1, 4), [moved]);
  assert.deepEqual(v.summary(10), { confirmed: ['aa'], refuted: [] });
});

test('ReachVerdicts: a refuted claim is retried after the retry delay; an untested one believes nothing new', () => {
  const v = new ReachVerdicts(1000, 100);
  const c = { hex: 'bb', addr: { host: '20.0.1.8', port: 62096 } };
  v.record(c, false, 0);
  assert.equal(v.confirmed('bb', c.addr, 1), false);
  assert.deepEqual(v.due([c], 99, 4), []);
  assert.deepEqual(v.due([c], 100, 4), [c]);
  assert.deepEqual(v.summary(1), { confirmed: [], refuted: ['bb'] });
  // No checker answered: not refuted (summary), not confirmed, retried later.
  const u = { hex: 'cc', addr: { host: '20.0.1.7', port: 62096 } };
  v.untested(u, 0);
  assert.equal(v.confirmed('cc', u.addr, 1), false);
  assert.deepEqual(v.summary(1).refuted, ['bb']);
  assert.deepEqual(v.due([u], 50, 4), []);
  // A confirmation still valid survives a round in which no checker answered.
  v.record(u, true, 200);
  v.untested(u, 300);
  assert.equal(v.confirmed('cc', u.addr, 301), true);
  // Never-checked claims come before verdicts due again, oldest verdicts first.
  const fresh = { hex: 'dd', addr: { host: '20.0.1.6', port: 1 } };
  v.record({ hex: 'ee', addr: { host: '20.0.1.5', port: 1 } }, false, 10);
  assert.deepEqual(v.due([{ hex: 'ee', addr: { host: '20.0.1.5', port: 1 } }, c, fresh], 1000, 2).map((x) => x.hex), ['dd', 'bb']);
  // At most `max` claims per round, in the order given.
  const many = ['1', '2', '3', '4', '5'].map((h) => ({ hex: h, addr: { host: '20.0.2.1', port: Number(h) } }));
  assert.deepEqual(v.due(many, 0, 3).map((x) => x.hex), ['1', '2', '3']);
});

test('ReachVerdicts: bounded memory, oldest verdicts go first', () => {
  const v = new ReachVerdicts(1000, 100, 3);
  for (const h of ['1', '2', '3', '4']) v.record({ hex: h, addr: { host: '20.0.3.1', port: 1 } }, true, 0);
  assert.deepEqual(v.summary(1).confirmed, ['2', '3', '4']);
});

// The NAT classifier on synthetic samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyNat, type NatSample } from '../../src/nat/classify.js';

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

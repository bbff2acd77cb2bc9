// The peer-argument resolver (src/daemon/resolve.ts): each rule, their order, ambiguity, case,
// the key prefix's minimum length, IPv6 spellings, '_' in names, and errors that never echo a key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchPeer, resolvePeer, type PeerView } from '../../src/daemon/resolve.js';
import { PEER_PREFIX_MIN } from '../../src/params.js';

const A = 'Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=';
const B = 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=';
// Shares its first 5 characters with A ("Gb2ti"), differs at the 6th.
const C = 'Gb2tiZ/+JXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=';
const PEERS: PeerView[] = [
  { key: A, hostname: 'node_a', ipv4: '10.0.0.1', ipv6: 'fd00::1' },
  { key: B, hostname: 'Bob', ipv4: '10.0.0.2', ipv6: null },
  { key: C, hostname: null, ipv4: '10.0.0.3', ipv6: 'fd00::3' },
];

const key = (q: string, peers = PEERS, opts = {}) => {
  const r = resolvePeer(q, peers, opts);
  return 'peer' in r ? r.peer.key : `error: ${r.error}`;
};

test('a full key in any accepted form, and 64 hex digits', () => {
  assert.equal(key(A), A);
  assert.equal(key(A.slice(0, -1)), A, 'unpadded');
  assert.equal(key(C.replace(/\+/g, '-').replace(/\//g, '_').slice(0, -1)), C, 'URL-safe, as the original wrote keys');
  assert.equal(key(Buffer.from(B, 'base64').toString('hex')), B);
  assert.equal(key(Buffer.from(B, 'base64').toString('hex').toUpperCase()), B);
});

test('an unknown full key is refused without quoting it (it may be a private key pasted by mistake)', () => {
  const other = 'aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28=';
  const r = matchPeer(other, PEERS);
  assert.equal(r.kind, 'unknown');
  assert.ok('error' in r && !r.error.includes(other.slice(0, 8)), JSON.stringify(r));
});

test('a private key with a typo (one character more, or one changed past the padding) is not quoted either', () => {
  const secret = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
  for (const q of [`${secret}x`, `${secret.slice(0, -1)}x`, `x${secret}`, Buffer.from(secret, 'base64').toString('hex').slice(1)]) {
    const r = matchPeer(q, PEERS);
    assert.ok('error' in r && !r.error.includes(q.slice(0, 12)) && !r.error.includes(q.slice(1, 13)), `${q}: ${JSON.stringify(r)}`);
  }
});

test('overlay addresses: IPv4, IPv6 in any spelling, brackets, IPv4-mapped', () => {
  assert.equal(key('10.0.0.2'), B);
  for (const q of ['fd00::1', 'FD00::1', 'fd00:0:0:0:0:0:0:1', 'fd00:0000::0001', '[fd00::1]']) assert.equal(key(q), A, q);
  assert.equal(key('::ffff:10.0.0.3'), C, 'IPv4-mapped IPv6 names the IPv4 peer');
  assert.match(key('10.0.0.9'), /^error: no peer has the overlay address 10\.0\.0\.9$/);
  assert.match(key('fe80::1%eth0'), /no zone id/);
  assert.match(key('10.0.0.0/24'), /is a subnet/);
});

test('hostnames: case-insensitive, with "_", and HOSTNAME.NETWORK when the network is known', () => {
  assert.equal(key('node_a'), A);
  assert.equal(key('NODE_A'), A);
  assert.equal(key('bob'), B);
  assert.equal(key('node_a.e2e', PEERS, { network: 'e2e' }), A);
  assert.equal(key('Node_A.E2E', PEERS, { network: 'e2e' }), A);
  assert.match(key('node_a.e2e'), /^error: no peer is named "node_a\.e2e"/, 'without the network, the suffix is part of the name');
  assert.match(key('node_a.other', PEERS, { network: 'e2e' }), /^error: /);
});

test('key prefixes: at least PEER_PREFIX_MIN characters, case-sensitive, unique', () => {
  assert.equal(PEER_PREFIX_MIN, 4);
  assert.equal(key('m5sT'), B);
  assert.equal(key('Gb2tiK'), A);
  assert.equal(key('Gb2tiZ'), C);
  assert.match(key('m5s'), /^error: no peer is named "m5s" \(a key prefix needs at least 4 characters\)$/);
  const amb = matchPeer('Gb2t', PEERS);
  assert.equal(amb.kind, 'ambiguous');
  assert.ok(amb.kind === 'ambiguous' && amb.candidates.length === 2);
  assert.match(key('Gb2ti'), /^error: key prefix "Gb2ti" is ambiguous: it names 2 peers: node_a \(Gb2tiKkAJXWr\.\.\.\), Gb2tiZ\/\+JXWr\.\.\.; give more characters of the key$/);
  assert.match(key('M5ST'), /^error: no peer is named "M5ST" or has a key starting with it; keys are case-sensitive: Bob \(m5sT9oiYcvnW\.\.\.\) differ only in case$/);
  assert.equal(key('Gb2tiZ_-'), C, "URL-safe '_' and '-' read as '/' and '+'");
});

test("an exact hostname wins over another peer's key prefix", () => {
  const peers: PeerView[] = [{ key: A, hostname: 'm5sT' }, { key: B, hostname: 'bob' }];
  assert.equal(key('m5sT', peers), A);
  assert.equal(key('m5sT9', peers), B);
});

test('two peers of one hostname or one address are ambiguous, never a guess', () => {
  const peers: PeerView[] = [{ key: A, hostname: 'x', ipv4: '10.0.0.1' }, { key: B, hostname: 'X', ipv4: '10.0.0.1' }];
  assert.equal(matchPeer('x', peers).kind, 'ambiguous');
  assert.equal(matchPeer('10.0.0.1', peers).kind, 'ambiguous');
});

test('empty, overlong and unknown texts: clear errors', () => {
  assert.equal(matchPeer('  ', PEERS).kind, 'invalid');
  assert.equal(matchPeer('a'.repeat(301), PEERS).kind, 'invalid');
  assert.match(key('carol'), /^error: no peer is named "carol" or has a key starting with it$/);
  assert.match(key('no such'), /^error: no peer is named "no such"$/, 'a text with a space is no key prefix');
  assert.equal(key(' bob '), B, 'surrounding spaces are ignored');
  assert.match(key('x', []), /^error: /);
});

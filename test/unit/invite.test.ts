// Invitations (docs/PROTOCOL.md sections 7.4 `alias`/`alias-ok`, 7.6, 7.8): the test vector of
// test/vectors/alias.json (checked independently by test/vectors/independent.py), the invitation
// line, and the inviter's side (src/daemon/invites.ts) over real DHT nodes on a fake network:
// accepted once, written to disk before the answer, refused when used, expired or unknown, a
// forged proof dropped and counted, a file in several parts, a restart, the rate limit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { aliasProof, checkAliasProof, decodeInvitation, encodeInvitation, splitParts } from '../../src/proto/alias.js';
import { decodeBody, encodeBody } from '../../src/proto/messages.js';
import { DhtNode } from '../../src/dht/node.js';
import { Invites } from '../../src/daemon/invites.js';
import { fetchNetworkFile, JoinError } from '../../src/daemon/invitejoin.js';
import type { NodeContext } from '../../src/daemon/context.js';
import { parseConfig } from '../../src/config/index.js';
import { inviteBoots } from '../../src/cli/commands/invite.js';
import { realClock } from '../../src/util/clock.js';
import { ALIAS_BURST, ALIAS_CHUNK } from '../../src/params.js';
import { FakeNet, quietLog } from './fakenet.js';

const sodium = await sodiumReady();
const vector = JSON.parse(fs.readFileSync(new URL('../../../test/vectors/alias.json', import.meta.url), 'utf8')) as Record<string, string> & { invitation_fields: Record<string, string | number> };
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-invite-test-'));
// The real clock's timers do not hold the process: this does, while requests wait for answers.
const keepAlive = setInterval(() => undefined, 1000);
after(() => { clearInterval(keepAlive); fs.rmSync(tmp, { recursive: true, force: true }); });

test('alias vector: proof, alias and alias-ok bodies, the invitation line', () => {
  const I = h(vector.inviter_public!), J = h(vector.joiner_public!), S = h(vector.alias_public!), x = h(vector.x!);
  assert.equal(hex(sodium.crypto_scalarmult_base(h(vector.alias_secret!))), vector.alias_public);
  const m = aliasProof(sodium, h(vector.joiner_secret!), I, S, x)!;
  assert.equal(hex(m), vector.proof_m);
  assert.ok(checkAliasProof(sodium, h(vector.inviter_secret!), J, S, x, m));
  assert.ok(!checkAliasProof(sodium, h(vector.inviter_secret!), J, S, new Uint8Array(8), m), 'bound to x');
  assert.ok(!checkAliasProof(sodium, h(vector.inviter_secret!), I, S, x, m), 'bound to the joiner key');
  assert.ok(!checkAliasProof(sodium, h(vector.inviter_secret!), J, I, x, m), 'bound to the alias key');
  assert.ok(!checkAliasProof(sodium, h(vector.inviter_secret!), new Uint8Array(32), S, x, m), 'a small-order key never checks');
  assert.equal(hex(encodeBody({ t: 'alias', x, k: J, m })), vector.alias_body);
  assert.equal(hex(encodeBody({ t: 'alias', x, k: J, m, i: 2 })), vector.alias_body_part2);
  const file = h(vector.alias_ok_file!);
  assert.equal(hex(encodeBody({ t: 'alias-ok', x, c: 1, i: 0, d: file })), vector.alias_ok_body);
  const ok = decodeBody(h(vector.alias_ok_body!));
  assert.ok(ok.ok && ok.msg.t === 'alias-ok' && hex(ok.msg.d) === vector.alias_ok_file);
  // A part index not below the count, an empty or oversized part: not a body.
  for (const bad of [{ c: 1, i: 1, d: file }, { c: 2, i: 0, d: new Uint8Array(0) }, { c: 1, i: 0, d: new Uint8Array(ALIAS_CHUNK + 1) }]) {
    assert.deepEqual(decodeBody(encodeBody({ t: 'alias-ok', x, ...bad })), { ok: false, reason: 'body' });
  }
  const f = vector.invitation_fields;
  const inv = decodeInvitation(vector.invitation!);
  assert.ok(inv.ok);
  assert.equal(inv.invitation.network, f.network);
  assert.equal(inv.invitation.workbit, f.workbit);
  assert.equal(inv.invitation.namespace, f.namespace);
  assert.equal(inv.invitation.hostname, f.hostname);
  assert.equal(inv.invitation.expires, f.expires);
  assert.equal(hex(inv.invitation.inviter), vector.inviter_public);
  assert.equal(hex(inv.invitation.secret), vector.alias_secret);
  assert.equal(hex(inv.invitation.boots[0]!.key), f.boot_key);
  assert.equal(`${inv.invitation.boots[0]!.addr.host}:${inv.invitation.boots[0]!.addr.port}`, f.boot_addr);
  assert.equal(encodeInvitation(inv.invitation), vector.invitation, 'the line re-encodes to itself');
});

test('a damaged invitation is refused with a reason that never quotes it', () => {
  const line = vector.invitation!;
  const cases = [line.slice(0, 40), line.slice(12), `${line}!`, 'wh-invite-1:ZGU', line.replace('wh-invite-1:', 'wh-invite-2:'), 'x'.repeat(5000)];
  for (const text of cases) {
    const r = decodeInvitation(text);
    assert.equal(r.ok, false, text.slice(0, 20));
    const err = (r as { error: string }).error;
    assert.ok(!err.includes(line.slice(20, 40)), `no part of the invitation in ${JSON.stringify(err)}`);
  }
  assert.equal(decodeInvitation(` ${line}\n`).ok, true, 'surrounding whitespace is fine');
});

test('splitParts cuts a file into bounded parts and refuses one too large', () => {
  assert.deepEqual(splitParts(new Uint8Array(2500), 1024, 64)!.map((p) => p.length), [1024, 1024, 452]);
  assert.equal(splitParts(new Uint8Array(1024), 1024, 64)!.length, 1);
  assert.equal(splitParts(new Uint8Array(1024 * 64 + 1), 1024, 64), undefined);
  assert.equal(splitParts(new Uint8Array(0), 1024, 64), undefined);
});

// ---- the inviter's side, over real DHT nodes ----------------------------------------------------

const NET_TEXT = (inviterB64: string) => `# a test network\nname testnet\nsubnet 10.7.0.0/24\n\n# the inviter\ntrust inviter 10.7.0.1 ${inviterB64}\n`;

interface World {
  invites: Invites; inviter: DhtNode; inviterSecret: Uint8Array; configPath: string; reloads: number[]; net: FakeNet;
  wall: { now: number }; close(): void;
}

function world(name: string, text?: (b64: string) => string): World {
  const net = new FakeNet();
  const inviterSecret = generateSecret(sodium);
  const inviter = new DhtNode({ sodium, secret: inviterSecret, workbit: 0, namespace: 'testnet', transport: net.bind({ host: '10.0.0.1', port: 1 }), clock: realClock });
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const configPath = path.join(dir, 'testnet.conf');
  fs.writeFileSync(configPath, (text ?? NET_TEXT)(keyToBase64(inviter.id)), { mode: 0o644 });
  const reloads: number[] = [];
  const wall = { now: 1_800_000_000_000 };
  const ctx = {
    opts: { configPath, secret: inviterSecret }, dht: inviter, clock: realClock, log: quietLog(),
    config: parseConfig(fs.readFileSync(configPath, 'utf8'), configPath, sodium),
  } as unknown as NodeContext;
  const invites = new Invites(ctx, async () => { reloads.push(wall.now); }, () => wall.now);
  inviter.extend({ request: (req, max) => (req.msg.t === 'alias' ? invites.onAlias(req, req.msg, max) : undefined) });
  const nodes: DhtNode[] = [inviter];
  return { invites, inviter, inviterSecret, configPath, reloads, net, wall, close: () => { for (const n of nodes) n.close(); } };
}

/** A new invitation in `w`: its alias secret and the DHT node that speaks as it. */
async function invitation(w: World, port: number, opts: { hostname?: string; expiresIn?: number } = {}) {
  const alias = generateSecret(sodium);
  const pub = sodium.crypto_scalarmult_base(alias);
  await w.invites.add({ alias: keyToBase64(pub), created: w.wall.now, expires: w.wall.now + (opts.expiresIn ?? 3600_000), ...(opts.hostname ? { hostname: opts.hostname } : {}) });
  const node = new DhtNode({ sodium, secret: alias, workbit: 0, namespace: 'testnet', transport: w.net.bind({ host: '10.0.0.2', port }), clock: realClock });
  return { alias, node };
}

const fetch = (w: World, node: DhtNode, secret: Uint8Array, timeout = 500) =>
  fetchNetworkFile({ sodium, dht: node, addr: { host: '10.0.0.1', port: 1 }, inviter: w.inviter.id, secret, timeout, retries: 1 });

const refusal = async (p: Promise<unknown>): Promise<string> => {
  try { await p; } catch (e) { assert.ok(e instanceof JoinError, String(e)); return e.message; }
  assert.fail('expected a refusal');
};

test('an invitation is accepted once: trust line written and reloaded before the answer; a second key is refused, the same joiner gets the file again', async () => {
  const w = world('once');
  const { node } = await invitation(w, 10, { hostname: 'node_c' });
  const joiner = generateSecret(sodium), joinerB64 = keyToBase64(sodium.crypto_scalarmult_base(joiner));
  assert.ok(w.invites.isPending(node.hex));
  const file = Buffer.from(await fetch(w, node, joiner)).toString('utf8');
  assert.ok(file.startsWith('# a test network\n'), 'comments kept');
  assert.match(file, new RegExp(`^trust node_c ${joinerB64.replace(/[+/]/g, '\\$&')}   # joined with an invitation`, 'm'));
  assert.equal(fs.readFileSync(w.configPath, 'utf8'), file, 'the file on disk is the file sent');
  assert.equal(fs.statSync(w.configPath).mode & 0o777, 0o644, 'the network file keeps its mode');
  const cfg = parseConfig(file, w.configPath, sodium);
  assert.ok(cfg.peers.find((p) => p.keyB64 === joinerB64)?.ipv4?.startsWith('10.7.0.'), 'the joiner has an address');
  assert.equal(w.reloads.length, 1, 'applied live once');
  const stored = JSON.parse(fs.readFileSync(w.invites.store.file, 'utf8')) as { invitations: { alias: string; used?: { key: string } }[] };
  assert.equal(stored.invitations[0]!.used?.key, joinerB64, 'marked used on disk');
  assert.equal(fs.statSync(w.invites.store.file).mode & 0o777, 0o600);
  assert.ok(!fs.readFileSync(w.invites.store.file, 'utf8').includes(keyToBase64(generateSecret(sodium)).slice(0, 8)));
  assert.equal(w.invites.isPending(node.hex), false);
  // The same joiner again (its answer lost): the same file, nothing added twice.
  assert.equal(Buffer.from(await fetch(w, node, joiner)).toString('utf8'), file);
  assert.equal(w.reloads.length, 1);
  // Another key with the same invitation: refused.
  assert.equal(await refusal(fetch(w, node, generateSecret(sodium))), 'the inviter refused: invitation already used');
  assert.equal(w.inviter.counters.get('alias-used'), 1);
  assert.equal(fs.readFileSync(w.configPath, 'utf8'), file, 'nothing more written');
  node.close(); w.close();
});

test('a forged proof is dropped and counted, unanswered; expired and unknown invitations get a clear refusal', async () => {
  const w = world('refusals');
  const { node } = await invitation(w, 10);
  const joiner = generateSecret(sodium);
  // A proof made with another private key than the one of `k`.
  const reply = await node.rpc.request({ host: '10.0.0.1', port: 1 }, w.inviter.id, (x) => ({
    t: 'alias', x, k: sodium.crypto_scalarmult_base(joiner), m: aliasProof(sodium, generateSecret(sodium), w.inviter.id, node.id, x)!,
  }), { timeout: 300, retries: 0, padTo: 1452 });
  assert.equal(reply, undefined, 'no answer to a forged proof');
  assert.equal(w.inviter.counters.get('alias-forged'), 1);
  assert.ok(w.invites.isPending(node.hex), 'still pending: the real joiner may still come');
  // Expired.
  const late = await invitation(w, 11, { expiresIn: 60_000 });
  w.wall.now += 61_000;
  assert.equal(await refusal(fetch(w, late.node, joiner)), 'the inviter refused: invitation expired');
  assert.equal(w.reloads.length, 0);
  // An alias key the inviter never issued.
  const stranger = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: 0, namespace: 'testnet', transport: w.net.bind({ host: '10.0.0.3', port: 1 }), clock: realClock });
  assert.equal(await refusal(fetch(w, stranger, joiner)), 'the inviter refused: unknown invitation');
  assert.ok(!fs.readFileSync(w.configPath, 'utf8').includes(keyToBase64(sodium.crypto_scalarmult_base(joiner))));
  node.close(); late.node.close(); stranger.close(); w.close();
});

test('a network file larger than one datagram goes in parts; invitations survive a restart', async () => {
  const w = world('parts', (b64) => `${'# a long comment line to make the file large\n'.repeat(60)}${NET_TEXT(b64)}`);
  const a = await invitation(w, 10, { hostname: 'first' });
  const b = await invitation(w, 11, { hostname: 'second' });
  const joiner = generateSecret(sodium);
  const file = await fetch(w, a.node, joiner);
  assert.ok(file.length > 2 * ALIAS_CHUNK, `${file.length} bytes: three parts`);
  assert.equal(Buffer.from(file).toString('utf8'), fs.readFileSync(w.configPath, 'utf8'));
  // A restart: a new Invites reads the store; `a` stays used, `b` pending.
  const ctx = { opts: { configPath: w.configPath, secret: w.inviterSecret }, dht: w.inviter, clock: realClock, log: quietLog(), config: parseConfig(fs.readFileSync(w.configPath, 'utf8'), w.configPath, sodium) } as unknown as NodeContext;
  const again = new Invites(ctx, async () => undefined, () => w.wall.now);
  await again.store.load();
  w.inviter.extend({ request: (req, max) => (req.msg.t === 'alias' ? again.onAlias(req, req.msg, max) : undefined) });
  assert.equal(again.isPending(a.node.hex), false);
  assert.equal(again.isPending(b.node.hex), true);
  assert.equal(await refusal(fetch(w, a.node, generateSecret(sodium))), 'the inviter refused: invitation already used');
  assert.deepEqual(Buffer.from(await fetch(w, a.node, joiner)), Buffer.from(fs.readFileSync(w.configPath)), 'the first joiner can still fetch its file');
  const second = Buffer.from(await fetch(w, b.node, generateSecret(sodium))).toString('utf8');
  assert.match(second, /^trust second /m);
  assert.match(second, /^trust first /m);
  // A hostname already in the file or pending cannot be invited again.
  await assert.rejects(again.add({ alias: keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium))), hostname: 'inviter', created: w.wall.now, expires: w.wall.now + 1000 }), /hostname inviter is taken/);
  a.node.close(); b.node.close(); w.close();
});

test('alias requests from one source are rate-limited before any X25519', async () => {
  const w = world('rate');
  const { node } = await invitation(w, 10);
  const x = new Uint8Array(8);
  for (let i = 0; i < ALIAS_BURST + 10; i++) {
    x[0] = i;
    void node.rpc.request({ host: '10.0.0.1', port: 1 }, w.inviter.id, (tx) => ({ t: 'alias', x: tx, k: node.id, m: new Uint8Array(32) }), { timeout: 200, retries: 0 });
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w.inviter.counters.get('alias-forged'), ALIAS_BURST, 'the burst is checked (and fails)');
  assert.equal(w.inviter.counters.get('alias-rate-limited'), 10, 'the rest is dropped unchecked');
  node.close(); w.close();
});

test('wh join refuses a damaged invitation (exit 2, not quoted) and existing files (exit 1) before using the invitation', async () => {
  const { spawnSync } = await import('node:child_process');
  const WH = new URL('../../../bin/wh.js', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, [WH, ...args], { encoding: 'utf8', timeout: 20_000 });
  const line = vector.invitation!;
  const bad = run('join', line.slice(0, 60));
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^wh: invitation: not an invitation/);
  assert.ok(!bad.stderr.includes(line.slice(14, 50)), 'the invitation is not echoed');
  const dir = fs.mkdtempSync(path.join(tmp, 'joindir-'));
  fs.writeFileSync(path.join(dir, 'example.conf'), 'name example\n');
  const exists = run('join', line, '--dir', dir);
  assert.equal(exists.status, 1, exists.stderr);
  assert.match(exists.stderr, /example\.conf exists already: remove it, or join into another --dir/);
  assert.equal(fs.readFileSync(path.join(dir, 'example.conf'), 'utf8'), 'name example\n', 'left as it was');
  assert.ok(!fs.existsSync(path.join(dir, 'example.sk')));
});

test('wh invite --expires: a number and a unit, more than 0 and at most 30 days', async () => {
  const { parseDuration } = await import('../../src/cli/commands/invite.js');
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  for (const bad of ['1', 'h', '1w', '0s', '31d', '-1h', '1.5h', ' 1h']) assert.throws(() => parseDuration(bad), /--expires/, bad);
});

test('wh join writes a hostile inviter\'s hosts/dns lines turned off: its names cannot take over this host\'s lookups', async () => {
  const { namesOff } = await import('../../src/cli/commands/join.js');
  const sodium = await sodiumReady();
  const k = keyToBase64(generateSecret(sodium));
  const sent = `name com\nsubnet 10.9.0.0/24\nhosts yes\n  dns   yes # please\ntrust github 10.9.0.1 ${k}\n`;
  const written = namesOff(sent);
  const cfg = parseConfig(written, 'com.conf', sodium);
  assert.ok(cfg.names === undefined || (!cfg.names.hosts && !cfg.names.dns), JSON.stringify(cfg.names));
  assert.ok(parseConfig(sent, 'com.conf', sodium).names?.hosts, 'the file as sent would have published its names');
  assert.match(written, /^# hosts yes {3}# turned off by wh join/m);
  assert.equal(namesOff('hosts no\n'), 'hosts no\n', 'a line that turns them off is kept');
});

test('an invitation carries the boot nodes\' UDP lines only: a ws:// line\'s TCP port is never given as a UDP address', async () => {
  const pubB64 = () => keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
  const [k1, k2] = [pubB64(), pubB64()];
  const cfg = parseConfig(['name t', 'workbit 0', 'subnet 10.0.0.0/24', `boot ${k1} 192.0.2.1:62096`, `boot ${k1} ws://192.0.2.1:443/`, `boot ${k2} ws://192.0.2.2/`].join('\n') + '\n', 't.conf', sodium);
  const warned: string[] = [];
  const boots = await inviteBoots(cfg.boots, 'self', async (h) => h, (m) => warned.push(m));
  assert.deepEqual(boots.map((b) => [keyToBase64(b.key), b.addr]), [[k1, { host: '192.0.2.1', port: 62096 }]]);
  assert.deepEqual(warned, []);
});

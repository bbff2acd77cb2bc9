// First contact (issue 9), end to end as root in micronet namespaces: the original README's
// tutorial followed verbatim — a public boot node (`name public`, `workbit 8`), keys made with
// a plain `wh genkey | tee node_a.sk | wh pubkey | tee node_a.k`, the tutorial's network file
// with `trust node_a` / `trust node_b`, `wh up ./config private-key ./node_a.sk` on each node
// (detached, as a user runs it) — then pings both ways. And a node whose key is below the boot
// node's workbit: `wh up`, `wh show` and the log say so, and a boot node at a dead address is
// reported as unreachable, distinctly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { WhNet, WH, type WhNode } from './whnet.js';
import { LOG_DIR } from '../../src/cli/commands/up.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64 } from '../../src/crypto/keys.js';
import { validate } from '../unit/jsonschema.js';

const TOOLS = ['ip', 'nft', 'ping', 'wireguard-go'];
const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : missing.length ? `missing tools: ${missing.join(' ')}` : false;

const sh = (w: WhNet, n: WhNode, script: string, timeoutMs = 20_000) =>
  w.net.exec(n.host, ['sh', '-c', script], { timeoutMs });
const whCmd = `'${process.execPath}' '${WH}'`;

/** Runs the tutorial's key step in the node's directory; returns the public key it printed. */
async function tutorialKeys(w: WhNet, n: WhNode, base: string, genkeyArgs = ''): Promise<{ pub: string; sk: string }> {
  const r = await sh(w, n, `cd '${w.dir}' && ${whCmd} genkey ${genkeyArgs} | tee ${base}.sk | ${whCmd} pubkey | tee ${base}.k`);
  assert.equal(r.code, 0, r.stderr);
  return { pub: r.stdout.trim(), sk: path.join(w.dir, `${base}.sk`) };
}

async function downAll(w: WhNet, started: { n: WhNode; iface: string }[]): Promise<void> {
  for (const { n, iface } of started) await w.wh(n, ['down', iface]).catch(() => undefined);
}

test('the original tutorial, verbatim: public node at workbit 8, plain wh genkey keys, node_a/node_b; ping both ways within 15 s', { skip, timeout: 120_000 }, async () => {
  const w = await WhNet.create('tutorial');
  const started: { n: WhNode; iface: string }[] = [];
  try {
    const pub = await w.addPublicNode('pub', 'boot');
    const a = await w.addNode('na', { nat: 'port-restricted' });
    const b = await w.addPublicNode('nb');
    const kp = await tutorialKeys(w, pub, 'public');
    const ka = await tutorialKeys(w, a, 'node_a');
    const kb = await tutorialKeys(w, b, 'node_b');
    const publicConf = path.join(w.dir, 'public');
    fs.writeFileSync(publicConf, `name public\nworkbit 8\nboot ${kp.pub} ${pub.host.publicIp}\n`);
    const config = path.join(w.dir, 'config');
    fs.writeFileSync(config, `name tutorial\nsubnet 10.0.42.0/24\nboot ${kp.pub} ${pub.host.publicIp}\ntrust node_a ${ka.pub}\ntrust node_b ${kb.pub}\n`);

    const up = async (n: WhNode, conf: string, sk: string, pubKey: string) => {
      const r = await sh(w, n, `cd '${w.dir}' && ${whCmd} up ./${path.basename(conf)} private-key ./${path.basename(sk)}`);
      const iface = interfaceNameForKey(pubKey);
      started.push({ n, iface });
      return { ...r, iface };
    };
    const rp = await up(pub, publicConf, kp.sk, kp.pub);
    assert.equal(rp.code, 0, `public node: ${rp.stderr}`);
    const t0 = Date.now();
    const [ra, rb] = await Promise.all([up(a, config, ka.sk, ka.pub), up(b, config, kb.sk, kb.pub)]);
    for (const r of [ra, rb]) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /is up/);
      // `tee node_a.sk` makes a file others can read (umask 022): wh warns as wg does, and says
      // nothing else (no warning about the boot node).
      assert.match(r.stderr, /^(Warning: `\.\/node_[ab]\.sk' is world accessible\n)?$/, 'only the key file warning');
    }
    const ipOf = async (n: WhNode, iface: string) => {
      const s = await w.wh(n, ['show', iface, '--json']);
      return (JSON.parse(s.stdout) as { interfaces: { ipv4: string }[] }).interfaces[0]!.ipv4;
    };
    const [ipA, ipB] = await Promise.all([ipOf(a, ra.iface), ipOf(b, rb.iface)]);
    w.nodes.get('na')!.iface = ra.iface;
    w.nodes.get('nb')!.iface = rb.iface;
    const left = 15_000 - (Date.now() - t0);
    const [ab, ba] = await Promise.all([w.pingUntil('na', ipB, left), w.pingUntil('nb', ipA, left)]);
    const total = Date.now() - t0;
    const showA = await w.wh(a, ['show', ra.iface]);
    process.stdout.write(`# tutorial: both pings answered ${total} ms after the two \`wh up\` started (node_a ${ipA} -> node_b ${ipB}: first answer ${ab} ms after both were up; node_b -> node_a: ${ba} ms)\n# wh up (node_a): ${ra.stdout.trim()}\n# wh show (node_a):\n${showA.stdout.split('\n').map((l) => `#   ${l}`).join('\n')}\n`);
    assert.ok(ab >= 0, `node_a pings node_b within 15 s of wh up\n${showA.stdout}`);
    assert.ok(ba >= 0, 'node_b pings node_a within 15 s of wh up');
    assert.ok(Date.now() - t0 <= 15_000 + 3_000, 'within 15 s (plus the last ping\'s own timeout)');
  } finally {
    await downAll(w, started);
    await w.destroy();
  }
});

test('a key below the boot node\'s workbit: wh up, wh show and the log say so; a dead boot address is reported as unreachable', { skip, timeout: 120_000 }, async () => {
  const w = await WhNet.create('refused');
  const started: { n: WhNode; iface: string }[] = [];
  try {
    const pub = await w.addPublicNode('pub', 'boot');
    const a = await w.addPublicNode('na');
    // (explicit, so that this test does not depend on genkey's default)
    const kp = await tutorialKeys(w, pub, 'public', '--workbit 8 --namespace public');
    // A plain random key (no proof of work), re-drawn until it is below 8 in "public".
    let weak = '';
    for (let i = 0; i < 50 && weak === ''; i++) {
      const r = await sh(w, a, `cd '${w.dir}' && ${whCmd} genkey --workbit 0 > weak.sk && ${whCmd} pubkey < weak.sk > weak.k && ${whCmd} workbit < weak.k`);
      if (Number(r.stdout.trim()) < 8) weak = fs.readFileSync(path.join(w.dir, 'weak.k'), 'utf8').trim();
    }
    assert.notEqual(weak, '');
    fs.writeFileSync(path.join(w.dir, 'public'), `name public\nworkbit 8\nboot ${kp.pub} ${pub.host.publicIp}\n`);
    // A second boot line at an address nothing answers (a documentation address: no route leaves).
    const sodium = await sodiumReady();
    const dead = keyToBase64(sodium.crypto_scalarmult_base(generateSecret(sodium)));
    fs.writeFileSync(path.join(w.dir, 'config'), `name tutorial\nsubnet 10.0.42.0/24\nboot ${kp.pub} ${pub.host.publicIp}\nboot ${dead} ${a.host.publicIp.replace(/\.\d+$/, '.250')}\ntrust node-a ${weak}\n`);
    const rp = await sh(w, pub, `cd '${w.dir}' && ${whCmd} up ./public private-key ./public.sk`);
    started.push({ n: pub, iface: interfaceNameForKey(kp.pub) });
    assert.equal(rp.code, 0, rp.stderr);

    const ra = await sh(w, a, `cd '${w.dir}' && ${whCmd} up ./config private-key ./weak.sk`);
    const iface = interfaceNameForKey(weak);
    started.push({ n: a, iface });
    process.stdout.write(`# wh up (key below workbit 8):\n#   stdout: ${ra.stdout.trim()}\n${ra.stderr.trim().split('\n').map((l) => `#   stderr: ${l}`).join('\n')}\n`);
    const refusal = new RegExp(`boot node ${pub.host.publicIp.replace(/\./g, '\\.')}:62096 refuses keys below workbit 8 in namespace "public" \\(this key has \\d\\): make one with \`wh genkey --workbit 8 --namespace public\``);
    assert.equal(ra.code, 0, ra.stderr);
    assert.match(ra.stdout, /is up/);
    assert.match(ra.stderr, refusal, 'wh up says why the boot node does not answer');
    assert.doesNotMatch(ra.stderr, new RegExp(`${pub.host.publicIp.replace(/\./g, '\\.')}:62096 (is unreachable|has not answered)`));

    // wh show says it too; once the join gives up, the dead boot node is unreachable, distinctly.
    let show = '';
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      show = (await w.wh(a, ['show', iface])).stdout;
      if (/is unreachable/.test(show)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    process.stdout.write(`# wh show:\n${show.split('\n').map((l) => `#   ${l}`).join('\n')}\n`);
    const plain = show.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, refusal);
    assert.match(plain, /boot node \S+\.250:62096 is unreachable: it did not answer/);
    // --json: the same, in the documented schema.
    const json = JSON.parse((await w.wh(a, ['show', iface, '--json'])).stdout) as { interfaces: { boots: { address: string; state: string; workbit: number | null; namespace: string | null }[] }[] };
    const schema = JSON.parse(fs.readFileSync(new URL('../../../docs/wh-json.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(validate(schema, json), []);
    assert.deepEqual(json.interfaces[0]!.boots.map((b) => [b.state, b.workbit, b.namespace]), [['refused', 8, 'public'], ['unreachable', null, null]]);
    const log = fs.readFileSync(path.join(LOG_DIR, `${iface}.log`), 'utf8');
    assert.match(log, refusal, 'the log says it');
    assert.match(log, /\.250:62096 is unreachable/);
    // The boot node's side: the refusals it sent, within its limits.
    const bootShow = JSON.parse((await w.wh(pub, ['show', interfaceNameForKey(kp.pub), 'all', '--json'])).stdout) as { interfaces: { dht: { rpc: Record<string, number> } }[] };
    const rpc = bootShow.interfaces[0]!.dht.rpc;
    assert.ok((rpc['tx-refusal'] ?? 0) >= 1, JSON.stringify(rpc));
    assert.ok((rpc['tx-refusal'] ?? 0) <= (rpc['drop:workbit'] ?? 0));
  } finally {
    await downAll(w, started);
    await w.destroy();
  }
});

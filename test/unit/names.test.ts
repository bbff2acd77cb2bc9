// Nodes started by name and peers named on the command line: `wh up NAME` (WH_CONFIG_DIR,
// NAME.sk, wg-quick's key-file warning, no key), `wh down NAME`'s choice of interface,
// `wh resolve` and `wh show IFACE PEER` against a control socket answering with the daemon's
// own resolve handler, and the wording of `wh show` (plurals, the DHT node list).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import type { DhtNodeView, ShowResult } from '../../src/control/show.js';
import { answerResolve } from '../../src/daemon/resolvehandler.js';
import { configSource, isConfigPath, keyFileWarning } from '../../src/cli/upsource.js';
import { parseUpWords } from '../../src/cli/commands/up.js';
import { formatShow } from '../../src/cli/commands/show.js';
import { downTarget } from '../../src/cli/downtarget.js';
import { CliError } from '../../src/cli/errors.js';
import { agoText, duration, plural } from '../../src/cli/words.js';
import { runWh } from './runwh.js';
import { validate } from './jsonschema.js';
import { readFileSync } from 'node:fs';
import { ROOT } from './runwh.js';

const KEY_A = 'Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=';
const KEY_B = 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=';
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs', 'wh-json.schema.json'), 'utf8')) as Record<string, unknown>;

const peer = (name: string, key: string, ip: string) => ({
  name, key, ipv4: ip, ipv6: null, path: 'direct' as const, endpoint: '20.0.2.2:62096', relay: null, relayForwarding: null,
  since: 1, rttMs: 3, wgEndpoint: '20.0.2.2:62096', lastHandshake: null, rxBytes: 1, txBytes: 2,
});

function show(iface: string, network: string, peers = [peer('node_b', KEY_B, '10.0.0.2')]): ShowResult {
  return {
    interface: iface, network, config: `/etc/wirehub/${network}.conf`, publicKey: KEY_A, role: 'node', backend: 'userspace',
    dataPlane: 'up', dataPlaneRestarts: 1, dataPlaneError: 'x', ipv4: '10.0.0.1', ipv6: null, listenPort: 62096,
    nat: 'none', natObservers: 2, publicAddress: null, portMapping: null, uptime: 1, dhtNodes: 1,
    relaying: { sessions: 1, kernel: 0 }, peers,
  };
}

describe('wh up NAME: where the config and key come from', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'whnames-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a path has '/' or ends in .conf; anything else is a name (wg-quick's rule)", () => {
    for (const p of ['./net', '/etc/x', 'net.conf', 'a/b.conf']) assert.equal(isConfigPath(p), true, p);
    for (const n of ['net', 'node_a', 'my.net', 'net.sk']) assert.equal(isConfigPath(n), false, n);
  });

  test('a name reads DIR/NAME.conf, and DIR/NAME.sk when it exists', () => {
    writeFileSync(join(dir, 'alpha.conf'), 'name alpha\n');
    assert.deepEqual(configSource('alpha', { dir }), { file: join(dir, 'alpha.conf'), name: 'alpha' });
    writeFileSync(join(dir, 'alpha.sk'), 'x\n', { mode: 0o600 });
    assert.deepEqual(configSource('alpha', { dir }), { file: join(dir, 'alpha.conf'), name: 'alpha', keyFile: join(dir, 'alpha.sk') });
    assert.deepEqual(configSource('./alpha', { dir }), { file: './alpha' }, 'a path brings no key');
  });

  test('a name without its file, or that cannot be a name: clear errors', () => {
    assert.throws(() => configSource('nosuch', { dir }), (e: unknown) => e instanceof CliError && e.exitCode === 1 && e.message.startsWith(`${join(dir, 'nosuch.conf')} does not exist`));
    assert.throws(() => configSource('package.json', { dir }), /write \.\/package\.json/, 'a file of that name here: the hint says how to use it');
    for (const bad of ['..', '.hidden', 'a b', 'x'.repeat(65)]) {
      assert.throws(() => configSource(bad, { dir }), (e: unknown) => e instanceof CliError && e.exitCode === 2, bad);
    }
  });

  test('private-key is optional; given, it wins over NAME.sk', () => {
    assert.equal(parseUpWords('alpha', []).privateKey, undefined);
    assert.equal(parseUpWords('alpha', [], '/d/alpha.sk').privateKey, '/d/alpha.sk');
    assert.equal(parseUpWords('alpha', ['private-key', './k'], '/d/alpha.sk').privateKey, './k');
  });

  test("a key file group or others may access gets wg-quick's warning, word for word", () => {
    const f = join(dir, 'k.sk');
    writeFileSync(f, 'x');
    for (const [mode, warn] of [[0o600, false], [0o400, false], [0o640, true], [0o604, true], [0o660, true]] as const) {
      chmodSync(f, mode);
      assert.equal(keyFileWarning(f), warn ? `Warning: \`${f}' is world accessible` : undefined, mode.toString(8));
    }
  });

  test('the real CLI: wh up NAME with WH_CONFIG_DIR; no key for a network with trust lines is refused', async () => {
    writeFileSync(join(dir, 'beta.conf'), `name beta\nsubnet 10.9.0.0/24\ntrust b ${KEY_B}\n`);
    const env = { WH_CONFIG_DIR: dir, WH_CONTROL_DIR: join(dir, 'run') };
    const none = await runWh(['up', 'beta'], { env });
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /^wh: .*beta\.conf: network 'beta' has trust lines, so this node needs the key its trust line names: give private-key FILE or put it in .*beta\.sk/);
    // NAME.sk is used, and warned about: its key has no trust line, so nothing starts.
    writeFileSync(join(dir, 'beta.sk'), 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=\n', { mode: 0o644 });
    chmodSync(join(dir, 'beta.sk'), 0o644);
    const withKey = await runWh(['up', 'beta'], { env });
    assert.equal(withKey.code, 1);
    assert.match(withKey.stderr, new RegExp(`^Warning: \`${join(dir, 'beta.sk').replace(/[.]/g, '\\.')}' is world accessible\nwh: .*beta\\.conf: no trust line for this node's key`));
    const missing = await runWh(['up', 'gamma'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /gamma\.conf does not exist/);
  });
});

describe('wh resolve, wh show IFACE PEER and wh down NAME against control sockets', { concurrency: true }, () => {
  let dir: string;
  const servers: ControlServer[] = [];
  const serve = async (iface: string, s: ShowResult) => {
    servers.push(await ControlServer.listen(join(dir, `${iface}.sock`), async (req) => {
      if (req.cmd === 'show') return s;
      if (req.cmd === 'resolve') return answerResolve(s, 'node_a', req.peer);
      return {};
    }));
  };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'whresolve-'));
    await serve('whres0', show('whres0', 'alpha'));
    await serve('whres1', show('whres1', 'beta', [peer('carol', 'Gb2tiZ/+JXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=', '10.0.0.3')]));
    await serve('whres2', show('whres2', 'beta', []));
  });
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const wh = (args: string[]) => runWh(args, { env: { WH_CONTROL_DIR: dir } });

  test('by name, IP, prefix; --json fits the schema', async () => {
    const [byName, byIp, byPrefix, json] = await Promise.all([wh(['resolve', 'node_b']), wh(['resolve', '10.0.0.2', '-i', 'whres0']),
      wh(['resolve', 'm5sT']), wh(['resolve', 'NODE_B.alpha', '--json'])]);
    for (const r of [byName, byIp, byPrefix]) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^node_b\n  key: ${KEY_B.replace(/[+/]/g, '\\$&')}\n  hostname: node_b\n  overlay: 10\\.0\\.0\\.2\n  interface: whres0 \\(network alpha\\)\n  path: direct 20\\.0\\.2\\.2:62096 \\(for 1 second\\)\n$`));
    }
    assert.equal(json.code, 0, json.stderr);
    const v = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual(validate(SCHEMA, v), [], json.stdout);
    assert.equal(v.schema, 'wirehub.resolve');
    assert.equal(v.matchedBy, 'hostname');
    assert.equal(v.path, 'direct');
  });

  test('the node itself, and errors: unknown, ambiguous prefix, several interfaces', async () => {
    const [self, unknown, amb, several, short] = await Promise.all([wh(['resolve', '10.0.0.1', '-i', 'whres0']), wh(['resolve', 'dave']),
      wh(['resolve', 'Gb2t', '-i', 'whres1']), wh(['resolve', 'node_a']), wh(['resolve', 'm5', '-i', 'whres0'])]);
    assert.equal(self.code, 0, self.stderr);
    assert.match(self.stdout, /path: this node itself/);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^wh: whres0: no peer is named "dave" or has a key starting with it\nwhres1: .*\nwhres2: .*\n$/);
    assert.equal(amb.code, 1);
    assert.match(amb.stderr, /^wh: whres1: key prefix "Gb2t" is ambiguous: it names 2 peers: node_a \(Gb2tiKkAJXWr\.\.\.\), carol \(Gb2tiZ\/\+JXWr\.\.\.\); give more characters of the key\n$/);
    assert.equal(several.code, 1);
    assert.match(several.stderr, /^wh: "node_a" names a peer on 3 interfaces \(whres0: node_a, whres1: node_a, whres2: node_a\); choose one with --interface IFACE\n$/);
    assert.match(short.stderr, /a key prefix needs at least 4 characters/);
  });

  test('wh show IFACE PEER shows that peer only', async () => {
    const [one, bad, json] = await Promise.all([wh(['show', 'whres1', '10.0.0.3']), wh(['show', 'whres1', 'node_b']), wh(['show', 'whres1', 'carol', '--json'])]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /peer: carol \(10\.0\.0\.3\)/);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^wh: whres1: no peer is named "node_b"/);
    const v = JSON.parse(json.stdout) as { interfaces: { peers: { hostname: string }[] }[] };
    assert.deepEqual(v.interfaces[0]!.peers.map((p) => p.hostname), ['carol']);
  });

  test('wh down NAME: the one node of that network or config; several are refused', async () => {
    const old = process.env.WH_CONTROL_DIR;
    process.env.WH_CONTROL_DIR = dir;
    try {
      assert.equal(await downTarget('alpha'), 'whres0');
      assert.equal(await downTarget('/etc/wirehub/alpha.conf'), 'whres0', 'the config path it was started with');
      assert.equal(await downTarget('whres2'), 'whres2', 'an interface is itself');
      assert.equal(await downTarget('nosuch'), 'nosuch', 'else: the interface of that name (leftovers)');
      await assert.rejects(downTarget('beta'), /^Error: "beta" names 2 running nodes \(whres1, whres2\); name the interface: wh down whres1$/);
    } finally {
      if (old === undefined) delete process.env.WH_CONTROL_DIR; else process.env.WH_CONTROL_DIR = old;
    }
  });
});

describe('wh show: words', () => {
  test('singular and plural', () => {
    assert.equal(plural(1, 'node'), '1 node');
    assert.equal(plural(0, 'node'), '0 nodes');
    assert.equal(plural(2, 'miss', 'misses'), '2 misses');
    assert.equal(agoText(1), '1 second ago');
    assert.equal(agoText(0), '0 seconds ago');
    assert.equal(duration(60), '60 seconds');
    assert.equal(duration(150), '3 minutes');
    assert.equal(duration(3600 * 3), '3 hours');
    assert.equal(duration(86_400 * 3), '3 days');
  });

  test('one of everything reads in the singular', () => {
    const text = formatShow(show('wh0', 'alpha'));
    assert.match(text, /DHT: 1 node known/);
    assert.match(text, /relaying: 1 session,/);
    assert.match(text, /recreated 1 time;/);
    assert.match(text, /peers: 1 trusted peer\n/);
    assert.match(text, /\(for 1 second\)/);
  });

  test('wh show all: a table of DHT nodes, no JSON', () => {
    const node = (over: Partial<DhtNodeView>): DhtNodeView => ({
      key: KEY_B, address: '20.0.1.1:62096', bucket: 3, lastSeenAgoSeconds: 1, failures: 0, direct: true, verified: 'confirmed', relay: null, rttSeconds: 0.002, ...over,
    });
    const r = show('wh0', 'alpha');
    r.dhtNodes = 2;
    r.dht = {
      buckets: [{ index: 0, size: 1, replacements: 1 }, { index: 3, size: 1, replacements: 0 }], counters: { dropped: 2, zero: 0 }, rpc: { ping: 1 },
      reach: { confirmed: ['ab'], refuted: [] },
      nodes: [node({}), node({ key: KEY_A, bucket: 0, lastSeenAgoSeconds: 200, failures: 1, direct: false, verified: null, relay: KEY_B, rttSeconds: null })],
    };
    const text = formatShow(r);
    assert.doesNotMatch(text, /[{}[\]]/, 'no JSON');
    assert.match(text, /dht: 2 nodes in 2 buckets\n/);
    assert.match(text, /  key +address +bucket +last seen +reach +rtt\n/);
    assert.match(text, /  m5sT9oiY +20\.0\.1\.1:62096 +3 +1 second ago +direct, verified +2 ms\n/);
    assert.match(text, /  Gb2tiKkA +20\.0\.1\.1:62096 +0 +3 minutes ago \(1 miss\) +via relay m5sT9oiY +-\n/);
    assert.match(text, /waiting for room in a full bucket: 1 node\n/);
    assert.match(text, /direct claims: 1 node verified, 0 refuted/);
    assert.match(text, /counters: dropped 2\n  rpc: ping 1$/);
  });
});

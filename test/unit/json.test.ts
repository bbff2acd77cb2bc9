// Every `wh ... --json` output against the one documented schema (docs/wh-json.schema.json,
// docs/JSON.md), by running the real CLI. `wh show` and `wh reload` talk to a control socket
// served here by the real ControlServer with answers shaped as the daemon's; the e2e test
// test/e2e/firstcontact.test.ts checks a real daemon's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import type { ShowResult } from '../../src/control/show.js';
import { validate } from './jsonschema.js';

import { ROOT, runWh } from './runwh.js';

const wh = (args: string[], env: NodeJS.ProcessEnv = {}) => runWh(args, { env });
const SCHEMA = JSON.parse(readFileSync(join(ROOT, 'docs', 'wh-json.schema.json'), 'utf8')) as Record<string, unknown>;
const KEY_A = 'Gb2tiKkAJXWrmlWhdee7AFhT4yUhJseW8hjaOOEAMmE=';
const KEY_B = 'm5sT9oiYcvnWcOBwKDpX3N8e2okmrLzXFklx5yICqGM=';


function assertSchema(stdout: string, schema: string): Record<string, unknown> {
  const value = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(validate(SCHEMA, value), [], `output fits docs/wh-json.schema.json: ${stdout}`);
  assert.equal(value.schema, schema);
  assert.equal(value.schemaVersion, 1);
  return value;
}

/** A show answer as the daemon gives it (internal names: since, rttMs, epoch lastHandshake). */
const SHOW: ShowResult = {
  interface: 'whjson0', network: 'net', config: '/etc/wirehub/net', publicKey: KEY_A, role: 'node', backend: 'userspace',
  dataPlane: 'up', dataPlaneRestarts: 0, dataPlaneError: null, ipv4: '10.0.0.1', ipv6: null, listenPort: 62096,
  nat: 'unknown', natObservers: 1, publicAddress: '20.0.2.1:62096', portMapping: { method: 'upnp-igd2', external: '20.0.2.1:62096', lease: 3600 },
  uptime: 12, dhtNodes: 3, relaying: { sessions: 0, kernel: 0 },
  peers: [{
    name: 'bob', key: KEY_B, ipv4: '10.0.0.2', ipv6: null, path: 'direct', endpoint: '20.0.2.2:62096', relay: null, relayForwarding: null,
    since: 7, rttMs: 3, wgEndpoint: '20.0.2.2:62096', lastHandshake: 1764627000, rxBytes: 100, txBytes: 200,
  }],
};

describe('wh --json: one schema', { concurrency: true }, () => {
  let dir: string;
  let server: ControlServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'whjson-'));
    server = await ControlServer.listen(join(dir, 'whjson0.sock'), async (req) => {
      if (req.cmd === 'show') return SHOW;
      if (req.cmd === 'reload') return { added: ['carol'], removed: [], changed: [], bootsAdded: ['20.0.1.1:62096'], bootsRemoved: [], transports: ['listen ws://127.0.0.1:8000/ opened'] };
      return {};
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('wh check --json', async () => {
    for (const file of ['config/example', 'config/public']) {
      const r = await wh(['check', '--json', file]);
      assert.equal(r.code, 0, r.stderr);
      assertSchema(r.stdout, 'wirehub.check');
    }
  });

  test('wh show --json and wh show IFACE --json: names, seconds, ISO 8601 times', async () => {
    const env = { WH_CONTROL_DIR: dir };
    const [all, one] = await Promise.all([wh(['show', '--json'], env), wh(['show', 'whjson0', '--json'], env)]);
    for (const r of [all, one]) {
      assert.equal(r.code, 0, r.stderr);
      const v = assertSchema(r.stdout, 'wirehub.show') as { interfaces: Record<string, unknown>[] };
      assert.equal(v.interfaces.length, 1);
      const i = v.interfaces[0]!;
      assert.equal(i.uptimeSeconds, 12);
      assert.match(String(i.natReason), /2 observers/);
      const p = (i.peers as Record<string, unknown>[])[0]!;
      assert.equal(p.hostname, 'bob', 'a peer is named by its hostname, as in wh check');
      assert.equal(p.pathSeconds, 7);
      assert.equal(p.rttSeconds, 0.003);
      assert.equal(p.lastHandshake, new Date(1764627000 * 1000).toISOString());
    }
  });

  test('wh show --json with no daemon running', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'whjson-empty-'));
    try {
      const r = await wh(['show', '--json'], { WH_CONTROL_DIR: empty });
      assert.equal(r.code, 0, r.stderr);
      assertSchema(r.stdout, 'wirehub.show');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('wh show IFACE --json for a daemon that does not run: nothing on stdout, exit 1', async () => {
    const r = await wh(['show', 'whnone0', '--json'], { WH_CONTROL_DIR: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^wh: no daemon is running for whnone0/);
  });

  test('wh show with a stale socket beside a running daemon: shows the running one, names the stale one, exit 0', async () => {
    const mixed = mkdtempSync(join(tmpdir(), 'whjson-stale-'));
    const live = await ControlServer.listen(join(mixed, 'whjson0.sock'), async () => SHOW);
    try {
      // A daemon killed with SIGKILL leaves its socket file behind, with nobody listening.
      const stale = join(mixed, 'whdead0.sock');
      const child = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
      assert.equal(child.signal, 'SIGKILL');
      assert.ok(existsSync(stale), 'the killed daemon left its socket');
      const env = { WH_CONTROL_DIR: mixed };
      const [json, text, named] = await Promise.all([wh(['show', '--json'], env), wh(['show'], env), wh(['show', 'whdead0'], env)]);
      assert.equal(json.code, 0, json.stderr);
      const v = assertSchema(json.stdout, 'wirehub.show') as { interfaces: { interface: string }[] };
      assert.deepEqual(v.interfaces.map((i) => i.interface), ['whjson0']);
      assert.match(json.stderr, /whdead0: not running \(stale socket .*whdead0\.sock\); wh down whdead0 removes what it left/);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /whjson0/);
      assert.match(text.stderr, /whdead0: not running/);
      // Named explicitly, the interface is not running: that is a failure.
      assert.equal(named.code, 1);
      assert.match(named.stderr, /whdead0 is not running \(stale socket/);
    } finally {
      await live.close();
      rmSync(mixed, { recursive: true, force: true });
    }
  });

  test('wh reload --json', async () => {
    const r = await wh(['reload', 'whjson0', '--json'], { WH_CONTROL_DIR: dir });
    assert.equal(r.code, 0, r.stderr);
    const v = assertSchema(r.stdout, 'wirehub.reload');
    assert.deepEqual(v.bootsAdded, ['20.0.1.1:62096']);
    assert.deepEqual(v.transports, ['listen ws://127.0.0.1:8000/ opened']);
  });

  test('the schema checker refuses what does not fit', () => {
    assert.notDeepEqual(validate(SCHEMA, { schema: 'wirehub.show', schemaVersion: 1, interfaces: [{ interface: 'x' }] }), []);
    assert.notDeepEqual(validate(SCHEMA, { schema: 'wirehub.reload', schemaVersion: 1, interface: 'x', added: [], removed: [], changed: [], bootsAdded: [], bootsRemoved: [], errors: [], extra: 1 }), []);
    assert.deepEqual(validate(SCHEMA, { schema: 'wirehub.reload', schemaVersion: 1, interface: 'x', added: [], removed: [], changed: [], bootsAdded: [], bootsRemoved: [], transports: [], errors: [] }), []);
  });
});

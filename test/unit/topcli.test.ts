// `wh top` not on a terminal, against fake daemons on control sockets in a private directory
// (WH_CONTROL_DIR): it prints `wh show` once; NAME is an interface or the network of one
// running node. (On a terminal, in tmux against real daemons: test/e2e/top.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import { fakeShow } from '../../bench/topfake.js';
import { runWh } from './runwh.js';

describe('wh top, not on a terminal', { concurrency: true }, () => {
  let dir: string;
  const servers: ControlServer[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'whtop-'));
    const node = (iface: string, network: string) => ControlServer.listen(join(dir, `${iface}.sock`), async (req) => {
      if (req.cmd !== 'show') throw new Error('unexpected');
      return { ...fakeShow(3, 0, Date.now() / 1000), interface: iface, network };
    });
    servers.push(await node('topA', 'home'), await node('topB', 'work'), await node('topC', 'work'));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ WH_CONTROL_DIR: dir });

  test('wh top IFACE prints wh show IFACE once', async () => {
    const r = await runWh(['top', 'topB'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const show = await runWh(['show', 'topB'], { env: env() });
    assert.equal(r.stdout, show.stdout);
    assert.match(r.stdout, /^interface: topB$/m);
    assert.match(r.stdout, /^peer: peer-002 \(10\.0\.42\.4\)$/m);
  });
  test('wh top NETWORK: the one node of that network', async () => {
    const r = await runWh(['top', 'home'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^interface: topA$/m);
    assert.doesNotMatch(r.stdout, /topB|topC/);
  });
  test('wh top NETWORK of two nodes, or of none: refused, naming them', async () => {
    const two = await runWh(['top', 'work'], { env: env() });
    assert.equal(two.code, 1);
    assert.equal(two.stdout, '');
    assert.equal(two.stderr, 'wh: "work" names 2 running nodes (topB, topC); name the interface: wh top topB\n');
    const none = await runWh(['top', 'nowhere'], { env: env() });
    assert.equal(none.code, 1);
    assert.equal(none.stderr, 'wh: no running node is named "nowhere" (running: topA, topB, topC)\n');
  });
  test('wh top with no argument: wh show of every node', async () => {
    const r = await runWh(['top'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stdout.matchAll(/^interface: (\S+)$/gm)].map((m) => m[1]), ['topA', 'topB', 'topC']);
  });
});

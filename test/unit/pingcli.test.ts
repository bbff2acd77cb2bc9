// `wh ping` as a user runs it, against two fake daemons on control sockets in a private
// directory (WH_CONTROL_DIR): which node is asked, the lines, exit status and messages. (The
// real daemons and tunnel are in test/e2e/pingcheck.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import type { ShowPeer, ShowResult } from '../../src/control/show.js';
import type { PingAnswer } from '../../src/daemon/pingpeer.js';
import { answerResolve } from '../../src/daemon/resolvehandler.js';
import { runWh } from './runwh.js';

const KEY = (c: string) => c.repeat(43) + '=';
const peer = (name: string, key: string, ipv4: string): ShowPeer => ({
  name, key, ipv4, ipv6: null, path: 'direct', endpoint: null, relay: null, relayForwarding: null, since: 0, rttMs: null, wgEndpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0,
});
// A private key pasted by mistake where a peer was meant: never echoed.
const SECRET = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const show = (iface: string, peers: ShowPeer[]) => ({ interface: iface, network: 'e2e', publicKey: KEY(iface === 'pingA' ? 'A' : 'Z'), ipv4: null, ipv6: null, peers } as unknown as ShowResult);

describe('wh ping against fake daemons', { concurrency: true }, () => {
  let dir: string;
  const servers: ControlServer[] = [];
  const asked: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'whping-'));
    servers.push(await ControlServer.listen(join(dir, 'pingA.sock'), async (req) => {
      if (req.cmd === 'resolve') return answerResolve(show('pingA', [peer('bob', KEY('B'), '10.0.0.2'), peer('zed', KEY('D'), '10.0.0.4')]), 'alice', req.peer);
      if (req.cmd !== 'ping') return {};
      asked.push(`pingA ${req.peer} ${req.timeoutMs}`);
      if (req.peer === KEY('D')) throw new Error('pingA cannot ping: its tunnel ping socket is not bound (see its log)');
      return { name: 'bob', key: KEY('B'), ip: '10.0.0.2', answered: true, rttMs: 4.2, path: 'direct', endpoint: '20.0.2.2:62096', relay: null, relayAddress: null, relayForwarding: null, timeoutMs: req.timeoutMs ?? 5000 } satisfies PingAnswer;
    }));
    servers.push(await ControlServer.listen(join(dir, 'pingB.sock'), async (req) => {
      if (req.cmd === 'resolve') return answerResolve(show('pingB', [peer('carol', KEY('C'), '10.0.0.3')]), null, req.peer);
      if (req.cmd !== 'ping') return {};
      asked.push(`pingB ${req.peer}`);
      return { name: 'carol', key: KEY('C'), ip: '10.0.0.3', answered: true, rttMs: 30, path: 'relay', endpoint: null, relay: KEY('R'), relayAddress: '20.0.1.1:62096', relayForwarding: 'daemon', timeoutMs: 5000 } satisfies PingAnswer;
    }));
  });
  after(async () => {
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ WH_CONTROL_DIR: dir });

  test('several nodes up: the one that knows the peer is asked; one pong, exit 0', async () => {
    const r = await runWh(['ping', 'bob', '--timeout', '1.5'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'pong from bob (10.0.0.2) via 20.0.2.2:62096 in 4.2ms\n');
    assert.ok(asked.includes(`pingA ${KEY('B')} 1500`), asked.join(', '));
  });

  test('nobody knows the peer: each node says so, as `wh resolve` does; exit 1', async () => {
    const r = await runWh(['ping', 'dave'], { env: env() });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /pingA: .*dave/);
    assert.match(r.stderr, /pingB: .*dave/);
  });

  test('the node itself is no peer to ping: a usage error', async () => {
    const r = await runWh(['ping', 'alice'], { env: env() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /alice is pingA itself, not one of its peers/);
  });

  test('--until-direct over a relay: every ping printed, exit 1 when the count is spent', async () => {
    const r = await runWh(['ping', 'carol', '-i', 'pingB', '--until-direct', '-c', '2'], { env: env() });
    assert.equal(r.code, 1);
    assert.equal(r.stdout.split('\n').filter((l) => l.includes(`via relay ${KEY('R')} at 20.0.1.1:62096 (daemon forwarding) in 30ms`)).length, 2, r.stdout);
    assert.match(r.stderr, /ping carol: no direct path after 2 pings \(2 answered\)/);
  });

  test('a private key given as the peer is never echoed, whichever step refuses it', async () => {
    const [all, one, typo] = await Promise.all([
      runWh(['ping', SECRET], { env: env() }),
      runWh(['ping', SECRET, '-i', 'pingA'], { env: env() }),
      runWh(['ping', `${SECRET.slice(0, -1)}x`], { env: env() }),
    ]);
    for (const r of [all, one, typo]) {
      assert.notEqual(r.code, 0);
      assert.ok(!(r.stdout + r.stderr).includes(SECRET.slice(0, 12)), r.stderr);
    }
    assert.match(all.stderr, /pingA: no peer has that key/);
    assert.match(all.stderr, /pingB: no peer has that key/);
    assert.match(one.stderr, /pingA: no peer has that key/);
  });

  test("the daemon's refusal is the message; bad options are usage errors", async () => {
    const [zed, zero, slow] = await Promise.all([
      runWh(['ping', 'zed', '-i', 'pingA'], { env: env() }),
      runWh(['ping', 'bob', '-c', '0'], { env: env() }),
      runWh(['ping', 'bob', '--timeout', '60'], { env: env() }),
    ]);
    assert.equal(zed.code, 1);
    assert.match(zed.stderr, /ping zed: pingA cannot ping: its tunnel ping socket is not bound/);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /-c wants a whole number of pings, at least 1/);
    assert.equal(slow.code, 2);
    assert.match(slow.stderr, /--timeout wants seconds, more than 0 and at most 10/);
  });
});

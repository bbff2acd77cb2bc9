// One start at a time per interface (src/daemon/uplock.ts): while a node starts, a second
// `wh up` of the same interface and a `wh down` see it as running, never its marked interface
// as an earlier run's leftovers to destroy. Root, micronet namespaces, real wireguard-go.
// The start is held still after the interface exists: the node's `nft` (on its PATH) is a
// script that waits while a file exists before it runs the real nft on a ruleset (`nft -f`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WH, WhNet, type WhNode } from './whnet.js';
import { socketAccepts } from '../../src/util/unixsocket.js';
import { findExecutable } from '../../src/util/exec.js';
import { interfaceNameForKey } from '../../src/wg/index.js';
import { waitFor } from './traces.js';


async function markedLink(w: WhNet, n: WhNode, name: string): Promise<boolean> {
  const r = await w.net.exec(n.host, ['ip', '-d', 'link', 'show', 'dev', name]);
  return r.code === 0 && /alias wirehub/.test(r.stdout);
}

/** A directory with an `nft` that holds `nft -f` while `hold` exists (at most 30 s). */
function slowNft(dir: string): { bin: string; hold: string } {
  const bin = path.join(dir, 'slowbin');
  const hold = path.join(dir, 'hold');
  fs.mkdirSync(bin, { recursive: true });
  const real = findExecutable('nft', true)!;
  fs.writeFileSync(path.join(bin, 'nft'), `#!/bin/sh\nif [ "$1" = "-f" ]; then i=0; while [ -e '${hold}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; fi\nexec '${real}' "$@"\n`);
  fs.chmodSync(path.join(bin, 'nft'), 0o755);
  fs.writeFileSync(hold, '');
  return { bin, hold };
}

for (const mode of ['--foreground', 'detached'] as const) {
  test(`while a node starts (wh up ${mode}), a second wh up and a wh down leave its interface alone`, { timeout: 120_000 }, async () => {
    const w = await WhNet.create(mode === 'detached' ? 'lockd' : 'lockf');
    const slow = slowNft(w.dir);
    try {
      await w.addPublicNode('boot', 'boot');
      const n = await w.addPublicNode('n1');
      w.writeConfigs(['n1']);
      const iface = interfaceNameForKey(n.publicKey);
      const sock = `/var/run/wirehub/${iface}.sock`;
      const first = w.net.spawn(n.host, process.execPath, [WH, 'up', w.configFile, 'private-key', n.keyFile, ...(mode === '--foreground' ? [mode] : [])],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${slow.bin}:${process.env['PATH'] ?? ''}` } });
      if (mode === '--foreground') { n.daemon = first; n.iface = iface; }
      let firstOut = '';
      first.stdout!.on('data', (d: Buffer) => { firstOut += d.toString(); });
      first.stderr!.on('data', (d: Buffer) => { firstOut += d.toString(); });
      const firstExit = new Promise<number | null>((r) => first.once('exit', (c) => r(c)));
      assert.ok(await waitFor(() => markedLink(w, n, iface), 15_000), `the first wh up made its interface (${firstOut})`);
      assert.ok(!(await socketAccepts(sock)), 'and is still starting (no control socket yet)');

      const second = await w.wh(n, ['up', w.configFile, 'private-key', n.keyFile]);
      assert.equal(second.code, 1, `the second wh up fails (stdout: ${second.stdout} stderr: ${second.stderr})`);
      assert.match(second.stderr, new RegExp(`${iface} is already up, starting or stopping`));
      assert.doesNotMatch(second.stderr, /leftovers/);
      assert.ok(await markedLink(w, n, iface), 'the starting node\'s interface is still there after the second wh up');

      const down = await w.wh(n, ['down', iface]);
      assert.equal(down.code, 1, `wh down of a starting node fails (stdout: ${down.stdout} stderr: ${down.stderr})`);
      assert.match(down.stderr, new RegExp(`${iface} is already up, starting or stopping.*nothing was removed`));
      assert.equal(down.stdout, '');
      assert.ok(await markedLink(w, n, iface), 'the starting node\'s interface is still there after wh down');

      fs.rmSync(slow.hold);
      assert.ok(await waitFor(() => socketAccepts(sock), 15_000), `the first node comes up (${firstOut})`);
      if (mode === 'detached') {
        assert.equal(await firstExit, 0, `the detached wh up reports success (${firstOut})`);
        assert.match(firstOut, new RegExp(`${iface} is up`));
        // The daemon it forked holds the lock now (wh up has exited).
        const again = await w.wh(n, ['up', w.configFile, 'private-key', n.keyFile]);
        assert.equal(again.code, 1);
        assert.match(again.stderr, new RegExp(`${iface} is already up, starting or stopping`));
      }
      const show = await w.wh(n, ['show', iface]);
      assert.equal(show.code, 0, `wh show of the node: ${show.stderr}`);
      const stop = await w.wh(n, ['down', iface]);
      assert.equal(stop.code, 0, `wh down once it is up: ${stop.stderr}`);
      assert.match(stop.stdout, new RegExp(`^${iface} is down`));
      assert.ok(!(await markedLink(w, n, iface)), 'no interface left after wh down');
      if (mode === '--foreground') assert.equal(await firstExit, 0, `the foreground daemon exits 0 (${firstOut})`);
      // The lock is free again: the node starts anew.
      await w.up('n1');
      const r = await w.down('n1');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      fs.rmSync(slow.hold, { force: true });
      const n = w.nodes.get('n1');
      if (n) await w.wh(n, ['down', interfaceNameForKey(n.publicKey)]).catch(() => undefined);
      await w.destroy();
    }
  });
}

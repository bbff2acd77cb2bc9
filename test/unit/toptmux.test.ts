// `wh top` in a real terminal (tmux, 80x24) against a fake daemon of 50 peers (bench/topfake.ts
// on a control socket in a private WH_CONTROL_DIR): 18 rows shown and scrolled, sorting by
// rate from counters that grow, the daemon gone and back, q. (Real daemons in micronet:
// test/e2e/top.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import { fakeShow } from '../../bench/topfake.js';
import { WH } from './runwh.js';
import { Tmux } from './toptmux.js';

const peerRows = (s: string): string[] => s.split('\n').filter((l) => /^peer-\d{3} /.test(l)).map((l) => l.split(' ')[0]!);

test('wh top in tmux against a fake daemon: 50 peers scrolled, sorted by rate, daemon gone and back, q', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'whtop-fake-'));
  const sock = join(dir, 'whtopT.sock');
  let ticks = 0;
  const listen = () => ControlServer.listen(sock, async (req) => {
    if (req.cmd !== 'show') throw new Error('unexpected');
    return { ...fakeShow(50, ++ticks, Date.now() / 1000), interface: 'whtopT' };
  });
  let server: ControlServer | undefined = await listen();
  const tmux = new Tmux();
  try {
    await tmux.start([process.execPath, WH, 'top', 'whtopT'], 80, 24, { WH_CONTROL_DIR: dir });
    let s = await tmux.waitFor('the first page', (x) => x.includes('j/k rows 1-18 of 50'), 20_000);
    assert.deepEqual(peerRows(s), [...Array(18)].map((_, i) => `peer-${String(i).padStart(3, '0')}`));
    assert.ok(s.replace(/\n+$/, '').split('\n').length === 24 && s.split('\n').every((l) => l.length <= 80));

    await tmux.keys('End');
    s = await tmux.waitFor('the last page', (x) => x.includes('j/k rows 33-50 of 50'), 5000);
    assert.equal(peerRows(s).at(-1), 'peer-049');
    await tmux.keys('k', 'k');
    s = await tmux.waitFor('two rows up', (x) => x.includes('j/k rows 31-48 of 50'), 5000);
    await tmux.keys('Home');
    s = await tmux.waitFor('the top again', (x) => x.includes('j/k rows 1-18 of 50'), 5000);

    // rx grows by (i+1) kB per request for peer i: sorted by rx, largest first, peer-049 leads.
    await tmux.keys('6');
    s = await tmux.waitFor('sorted by rx', (x) => /^name +overlay ip .* rxv /m.test(x) && peerRows(x)[0] === 'peer-049' && /K\/s/.test(x), 10_000);
    assert.deepEqual(peerRows(s).slice(0, 3), ['peer-049', 'peer-048', 'peer-047']);

    await server.close();
    server = undefined;
    s = await tmux.waitFor('daemon gone', (x) => x.includes('daemon gone (trying again every 1 s): no daemon is running for whtopT'), 10_000);
    assert.equal(peerRows(s)[0], 'peer-049', 'the last rows stay shown');
    assert.ok(!s.includes('the command exited'));
    server = await listen();
    s = await tmux.waitFor('back', (x) => /^50 peers, as of /m.test(x) && !x.includes('daemon gone'), 10_000);

    await tmux.keys('q');
    await tmux.waitFor('quit', (x) => x.includes('the command exited 0'), 5000);
  } finally {
    await tmux.kill();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

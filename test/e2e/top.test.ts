// `wh top` as a person uses it: in a real terminal (tmux, 80x24), against real daemons in
// micronet (two port-restricted nodes, which punch, and a symmetric one, relayed). The screen
// is read with `tmux capture-pane -p`: peer names and paths appear, keys sort, filter and
// switch interface, a resize is survived, a peer that goes down changes its path, the daemon
// that goes away is said to be gone, `q` quits. Not on a terminal, it prints `wh show` once.
// Every wait is bounded; the tmux server, the nodes and their files are removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { WhNet, WH } from './whnet.js';
import { runWh } from '../unit/runwh.js';
import { Tmux } from '../unit/toptmux.js';

/** The row of peer `name` in the table (the line that starts with it), or undefined. */
const row = (screen: string, name: string): string | undefined => screen.split('\n').find((l) => l.startsWith(`${name} `));
const order = (screen: string, names: string[]): string[] =>
  screen.split('\n').map((l) => l.split(' ')[0]!).filter((n) => names.includes(n));

async function waitPath(w: WhNet, from: string, to: string, want: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if ((await w.show(from)).peers.find((p) => p.name === to)?.path === want) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

test('wh top in tmux: peers and paths, sort, filter, interface switch, resize, a peer down, the daemon gone, q', { timeout: 240_000 }, async () => {
  const w = await WhNet.create('wtop');
  const tmux = new Tmux();
  try {
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    await w.addNode('a', { nat: 'port-restricted' });
    await w.addNode('b', { nat: 'port-restricted' });
    await w.addNode('c', { nat: 'symmetric' });
    w.writeConfigs(['a', 'b', 'c']);
    for (const n of ['boot1', 'boot2', 'a', 'b', 'c']) await w.up(n);
    const a = w.nodes.get('a')!;
    assert.ok(await w.pingUntil('a', w.nodes.get('b')!.overlayIp!, 30_000) >= 0, 'a -> b over the overlay');
    assert.ok(await w.pingUntil('a', w.nodes.get('c')!.overlayIp!, 40_000) >= 0, 'a -> c over the overlay');
    assert.ok(await waitPath(w, 'a', 'b', 'direct', 15_000), 'a reaches b directly');
    assert.ok(await waitPath(w, 'a', 'c', 'relay', 15_000), 'a reaches c through a relay');

    // Not on a terminal: `wh show` once, and the exit.
    const piped = await runWh(['top', a.iface], { timeoutMs: 15_000 });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, new RegExp(`^interface: ${a.iface}$`, 'm'));
    assert.match(piped.stdout, /^peer: b \(10\.77\.0\.2\)$/m);
    assert.match(piped.stdout, /^ {2}path: direct /m);
    const byName = await runWh(['top', 'wtop-nobody'], { timeoutMs: 15_000 });
    assert.equal(byName.code, 1);
    assert.match(byName.stderr, /^wh: no running node is named "wtop-nobody"/);

    await tmux.start([process.execPath, WH, 'top', a.iface]);
    let s = await tmux.waitFor('b direct and c relayed', (x) => /^b +10\.77\.0\.2 +direct /m.test(x) && /^c +10\.77\.0\.3 +relay /m.test(x), 30_000);
    const lines = s.replace(/\n+$/, '').split('\n');
    assert.ok(lines.length <= 24 && lines.every((l) => l.length <= 80), 'fits 80x24');
    assert.match(lines[0]!, new RegExp(`^wh top: ${a.iface} \\(wtop\\), 10\\.77\\.0\\.1, port \\d+, up \\d+[smh]`));
    assert.match(s, /^NAT (endpoint-independent|unknown|none)/m);
    assert.match(s, /^DHT \d+ nodes?, relaying \d+ sessions?/m);
    assert.match(s, /^name\^ +overlay ip +path +since +rtt +rx +tx +handshake$/m);
    assert.match(row(s, 'b')!, / \d+s$/, 'a handshake age for b');

    // Rates from WireGuard's counters: pings to b make traffic, so b's rates are not zero.
    const pinging = w.net.exec(a.host, ['ping', '-c', '25', '-i', '0.2', '-s', '1000', w.nodes.get('b')!.overlayIp!], { timeoutMs: 15_000 })
      .catch(() => undefined);
    s = await tmux.waitFor('traffic rates for b', (x) => /direct .* [1-9][\d.]*[BK]\/s +[1-9][\d.]*[BK]\/s/.test(row(x, 'b') ?? ''), 10_000);
    if (process.env.WH_TOP_CAPTURE) writeFileSync(process.env.WH_TOP_CAPTURE, s);

    await pinging;

    // Sort: name ascending by default; `1` again reverses; `3` (path) puts direct first, `r` reverses.
    assert.deepEqual(order(s, ['b', 'c']), ['b', 'c']);
    await tmux.keys('1');
    s = await tmux.waitFor('sorted by name, descending', (x) => /^namev /m.test(x), 5000);
    assert.deepEqual(order(s, ['b', 'c']), ['c', 'b']);
    await tmux.keys('3');
    s = await tmux.waitFor('sorted by path', (x) => /^name +overlay ip +path\^ /m.test(x), 5000);
    assert.deepEqual(order(s, ['b', 'c']), ['b', 'c'], 'direct before relay');
    await tmux.keys('r');
    s = await tmux.waitFor('sorted by path, reversed', (x) => /^name +overlay ip +pathv /m.test(x), 5000);
    assert.deepEqual(order(s, ['b', 'c']), ['c', 'b']);

    // Filter by name: `/c` Enter shows c only; Esc clears.
    await tmux.keys('/', 'c', 'Enter');
    s = await tmux.waitFor('filtered to c', (x) => /^filter "c": 1 of 2 peers/m.test(x), 5000);
    assert.equal(row(s, 'b'), undefined);
    assert.ok(row(s, 'c'));
    await tmux.keys('Escape');
    s = await tmux.waitFor('filter cleared', (x) => row(x, 'b') !== undefined && row(x, 'c') !== undefined, 5000);

    // Resize: narrower and shorter, then back; the table is still drawn and fits.
    await tmux.resize(50, 12);
    s = await tmux.waitFor('redrawn at 50x12', (x) => x.split('\n').some((l) => l.startsWith('q quit') && l.length <= 50) && row(x, 'b') !== undefined, 5000);
    assert.ok(s.replace(/\n+$/, '').split('\n').length <= 12 && s.split('\n').every((l) => l.length <= 50), `fits 50x12:\n${s}`);
    assert.match(row(s, 'b')!, /direct/);
    await tmux.resize(80, 24);
    s = await tmux.waitFor('redrawn at 80x24', (x) => /handshake$/m.test(x), 5000);

    // Another interface (any other running daemon, this test's or not) and back.
    await tmux.keys('i');
    s = await tmux.waitFor('another interface', (x) => /^wh top: /m.test(x) && !x.startsWith(`wh top: ${a.iface} `), 10_000);
    await tmux.keys('I');
    s = await tmux.waitFor('back to a', (x) => x.startsWith(`wh top: ${a.iface} `) && row(x, 'b') !== undefined, 10_000);

    // A peer goes down: its path changes from direct (no goodbye: a notices the silence), to
    // searching or offline only: a relay opened from the boot nodes' stale entries of b reaches
    // no one, and is never shown (nor is b's last round-trip time).
    assert.equal((await w.down('b')).code, 0);
    s = await tmux.waitFor('b no longer direct', (x) => /^b +10\.77\.0\.2 +(searching|offline|relay) /m.test(x), 60_000);
    assert.match(row(s, 'b')!, /^b +10\.77\.0\.2 +(searching|offline) +\S+ +- /, `b searching or offline, no rtt:\n${s}`);
    // And it stays so while a's daemon tries the stale entries (a relay, then its hold: 20 s).
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      s = await tmux.screen();
      assert.match(row(s, 'b') ?? '', /^b +10\.77\.0\.2 +(searching|offline) +\S+ +- /, `b shown other than searching or offline, or with an rtt:\n${s}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(row(s, 'c')!, /relay/, 'c still relayed');

    // The daemon goes away: said so, and wh top keeps running until q.
    assert.equal((await w.down('a')).code, 0);
    s = await tmux.waitFor('daemon gone', (x) => x.includes(`daemon gone (trying again every 1 s): no daemon is running for ${a.iface}`), 10_000);
    assert.ok(!s.includes('the command exited'), 'still running');
    await tmux.keys('q');
    s = await tmux.waitFor('quit', (x) => x.includes('the command exited 0'), 5000);
  } finally {
    await tmux.kill();
    await w.destroy();
  }
});

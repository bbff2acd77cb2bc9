// Issue 8 item 9: the daemon's wall clock steps back an hour (test/e2e/clockstep.ts, preloaded
// into alice's daemon only; its monotonic clock runs on), or not (second test). Then bob's
// host dies (its network goes down). Alice must still re-check bob and leave `direct` in the normal time, never show
// a negative `since`, and not keep showing a relay opened from a boot node's stale entry of
// bob. Real namespaces and wireguard-go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ShowResult } from '../../src/control/show.js';
import { WhNet } from './whnet.js';

const PRELOAD = pathToFileURL(fileURLToPath(new URL('./clockstep.js', import.meta.url))).href;
const STEP_AFTER_MS = 8000;
/** Two missed re-checks (PEER_RECHECK 20 s, then PEER_SEARCH_MIN), with ping timeouts. */
const LEAVE_DIRECT_WITHIN = 40_000;
/** Longest `relay` may be shown for a dead peer (a relay path WireGuard never answered on). */
const MAX_DEAD_RELAY = 30_000;
const WATCH_MS = 80_000;

async function hostDies(stepped: boolean): Promise<void> {
  const w = await WhNet.create('clock');
  try {
    await w.addNode('boot1', { role: 'boot' });
    const alice = await w.addNode('alice', { nat: 'public' });
    const bob = await w.addNode('bob', { nat: 'full-cone' });
    w.writeConfigs(['alice', 'bob']);
    await w.up('boot1');
    const upAt = Date.now();
    await w.up('alice', 15_000, stepped ? { env: { NODE_OPTIONS: `--import ${PRELOAD}`, WH_TEST_CLOCK_STEP_AFTER_MS: String(STEP_AFTER_MS) } } : {});
    await w.up('bob');
    assert.ok(await w.pingUntil('alice', bob.overlayIp!, 20_000) >= 0, 'alice reaches bob');
    const peer = (s: ShowResult) => s.peers[0]!;
    let s = await w.show('alice');
    assert.equal(peer(s).path, 'direct', 'alice reaches bob directly');
    // Past alice's clock step (and a re-check scheduled before it).
    while (Date.now() - upAt < STEP_AFTER_MS + 3000) await new Promise((r) => setTimeout(r, 250));
    // Bob's host dies: every interface in its namespace goes down.
    const r = await w.net.exec(bob.host, ['sh', '-c', 'for i in $(ls /sys/class/net); do [ "$i" = lo ] || ip link set "$i" down; done']);
    assert.equal(r.code, 0, `bob's interfaces down: ${r.stderr}`);
    const killedAt = Date.now();
    const samples: { t: number; path: string; since: number; line: string }[] = [];
    let leftDirect: number | undefined;
    while (Date.now() - killedAt < WATCH_MS) {
      s = await w.show('alice');
      const p = peer(s);
      const t = Date.now() - killedAt;
      samples.push({ t, path: p.path, since: p.since, line: `${(t / 1000).toFixed(1)} ${p.path} ${p.endpoint ?? '-'} since=${p.since} uptime=${s.uptime}` });
      if (leftDirect === undefined && p.path !== 'direct') leftDirect = t;
      await new Promise((res) => setTimeout(res, 1000));
    }
    let relayRun = 0, relayStart: number | undefined;
    for (const x of samples) {
      if (x.path === 'relay') { relayStart ??= x.t; relayRun = Math.max(relayRun, x.t - relayStart); } else relayStart = undefined;
    }
    const minSince = Math.min(...samples.map((x) => x.since));
    process.stdout.write(`clockstep (${stepped ? 'wall clock stepped back' : 'no clock step'}): bob left direct after ${leftDirect ?? 'never'} ms; smallest since ${minSince} s; longest relay shown ${relayRun} ms; last: ${samples.at(-1)!.line}\n`);
    const ok = leftDirect !== undefined && leftDirect <= LEAVE_DIRECT_WITHIN && minSince >= 0 && relayRun <= MAX_DEAD_RELAY;
    if (!ok) process.stderr.write(samples.map((x) => x.line).join('\n') + `\n--- alice's log\n${alice.log.slice(-20_000)}\n`);
    assert.ok(minSince >= 0, `since never negative (smallest ${minSince} s)`);
    assert.ok(leftDirect !== undefined && leftDirect <= LEAVE_DIRECT_WITHIN, `alice left direct for the dead bob within ${LEAVE_DIRECT_WITHIN} ms (after ${leftDirect ?? 'never'})`);
    assert.ok(relayRun <= MAX_DEAD_RELAY, `a relay to the dead bob was shown ${relayRun} ms in a row (at most ${MAX_DEAD_RELAY})`);
  } finally {
    await w.destroy();
  }
}

test('clock step: with the wall clock stepped back 3600 s, a peer whose host died is re-checked and leaves direct; since stays >= 0', { timeout: 200_000 }, () => hostDies(true));

test('host death: a peer whose host died leaves direct, and a relay opened from a stale entry of it is not kept', { timeout: 200_000 }, () => hostDies(false));

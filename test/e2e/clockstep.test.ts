// Issue 8 item 9: the daemon's wall clock steps back an hour (test/e2e/clockstep.ts, preloaded
// into alice's daemon only; its monotonic clock runs on), or not (carol, a second observer in the
// same world, with no preload: one world for both checks keeps CI short). Then bob's
// host dies (its network goes down). Alice must still re-check bob and leave `direct` in the normal time, never show
// a negative `since`, and not keep showing a relay opened from a boot node's stale entry of
// bob. Real namespaces and wireguard-go.
import { after, before, test } from 'node:test';
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
/** Longest watch after bob's host dies (the watch ends earlier once both observers left direct
 *  and MAX_DEAD_RELAY + 5 s passed since the later one did, so a relay kept longer is still seen). */
const WATCH_MS = 80_000;
const AFTER_LEFT_MS = MAX_DEAD_RELAY + 5000;

interface Sample { t: number; path: string; since: number; line: string }
interface Watched { stepped: boolean; samples: Sample[]; leftDirect?: number; log: () => string }

let w: WhNet | undefined;
const watched = new Map<'alice' | 'carol', Watched>();

before(async () => {
  w = await WhNet.create('clock');
  await w.addNode('boot1', { role: 'boot' });
  const alice = await w.addNode('alice', { nat: 'public' });
  const carol = await w.addNode('carol', { nat: 'public' });
  const bob = await w.addNode('bob', { nat: 'full-cone' });
  w.writeConfigs(['alice', 'bob', 'carol']);
  await w.up('boot1');
  const upAt = Date.now();
  await w.up('alice', 15_000, { env: { NODE_OPTIONS: `--import ${PRELOAD}`, WH_TEST_CLOCK_STEP_AFTER_MS: String(STEP_AFTER_MS) } });
  await Promise.all([w.up('carol'), w.up('bob')]);
  watched.set('alice', { stepped: true, samples: [], log: () => alice.log });
  watched.set('carol', { stepped: false, samples: [], log: () => carol.log });
  // Each observer looks bob up by his key (alice and carol also see each other).
  const peer = (name: string, s: ShowResult) => {
    const p = s.peers.find((x) => x.key === bob.publicKey);
    assert.ok(p, `${name} lists bob (${bob.publicKey}) among its peers`);
    return p;
  };
  const [ra, rc] = await Promise.all([w.pingUntil('alice', bob.overlayIp!, 20_000), w.pingUntil('carol', bob.overlayIp!, 20_000)]);
  assert.ok(ra >= 0, 'alice reaches bob');
  assert.ok(rc >= 0, 'carol reaches bob');
  for (const name of watched.keys()) assert.equal(peer(name, await w.show(name)).path, 'direct', `${name} reaches bob directly`);
  // Past alice's clock step (and a re-check scheduled before it).
  while (Date.now() - upAt < STEP_AFTER_MS + 3000) await new Promise((r) => setTimeout(r, 250));
  // Bob's host dies: every interface in its namespace goes down.
  const r = await w.net.exec(bob.host, ['sh', '-c', 'for i in $(ls /sys/class/net); do [ "$i" = lo ] || ip link set "$i" down; done']);
  assert.equal(r.code, 0, `bob's interfaces down: ${r.stderr}`);
  const killedAt = Date.now();
  const done = () => {
    const left = [...watched.values()].map((x) => x.leftDirect);
    if (left.some((x) => x === undefined)) return false;
    return Date.now() - killedAt >= Math.max(...(left as number[])) + AFTER_LEFT_MS;
  };
  while (Date.now() - killedAt < WATCH_MS && !done()) {
    await Promise.all([...watched].map(async ([name, o]) => {
      const s = await w!.show(name);
      const p = peer(name, s);
      const t = Date.now() - killedAt;
      o.samples.push({ t, path: p.path, since: p.since, line: `${(t / 1000).toFixed(1)} ${p.path} ${p.endpoint ?? '-'} since=${p.since} uptime=${s.uptime}` });
      if (o.leftDirect === undefined && p.path !== 'direct') o.leftDirect = t;
    }));
    await new Promise((res) => setTimeout(res, 1000));
  }
}, { timeout: 200_000 });

after(async () => { await w?.destroy(); });

function check(name: 'alice' | 'carol'): void {
  const o = watched.get(name);
  assert.ok(o && o.samples.length > 0, `${name} was watched (see the set-up's error)`);
  const { samples, leftDirect, stepped } = o;
  let relayRun = 0, relayStart: number | undefined;
  for (const x of samples) {
    if (x.path === 'relay') { relayStart ??= x.t; relayRun = Math.max(relayRun, x.t - relayStart); } else relayStart = undefined;
  }
  const minSince = Math.min(...samples.map((x) => x.since));
  process.stdout.write(`clockstep (${name}, ${stepped ? 'wall clock stepped back' : 'no clock step'}): bob left direct after ${leftDirect ?? 'never'} ms; smallest since ${minSince} s; longest relay shown ${relayRun} ms; watched ${samples.at(-1)!.t} ms; last: ${samples.at(-1)!.line}\n`);
  const ok = leftDirect !== undefined && leftDirect <= LEAVE_DIRECT_WITHIN && minSince >= 0 && relayRun <= MAX_DEAD_RELAY;
  if (!ok) process.stderr.write(samples.map((x) => x.line).join('\n') + `\n--- ${name}'s log\n${o.log().slice(-20_000)}\n`);
  assert.ok(minSince >= 0, `${name}: since never negative (smallest ${minSince} s)`);
  assert.ok(leftDirect !== undefined && leftDirect <= LEAVE_DIRECT_WITHIN, `${name} left direct for the dead bob within ${LEAVE_DIRECT_WITHIN} ms (after ${leftDirect ?? 'never'})`);
  assert.ok(relayRun <= MAX_DEAD_RELAY, `${name}: a relay to the dead bob was shown ${relayRun} ms in a row (at most ${MAX_DEAD_RELAY})`);
}

test('clock step: with the wall clock stepped back 3600 s (alice), a peer whose host died is re-checked and leaves direct; since stays >= 0', () => check('alice'));

test('host death: a peer whose host died leaves direct (carol, no clock step), and a relay opened from a stale entry of it is not kept', () => check('carol'));

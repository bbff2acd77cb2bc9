// Attack on the daemon path's fair share (src/relay/fair.ts, src/relay/server.ts `budget`): the
// rate is divided among the sessions counted active at the last recount (RELAY_SHARE_RECOUNT),
// so sessions an attacker kept idle for RELAY_SHARE_ACTIVE are not counted, and when they all
// flood right after a recount each takes min(RELAY_SESSION_PPS, global / the few active ones):
// their rates add up to several times RELAY_GLOBAL_PPS, the global bucket runs dry, and what it
// lets through goes to whoever comes first. A victim session sending well under its fair share
// (among all established sessions) then loses most of its datagrams until the next recount; the
// attacker repeats every RELAY_SHARE_ACTIVE + RELAY_SHARE_RECOUNT with the same sessions.
// Before e6afe03 every rate was global / established sessions, so the rates never added up to
// more than the global one and a session within its share lost nothing.
// Real RelayServer and DhtNode over the fake net, one virtual clock, sessions half in the kernel
// (the cheapest path for an attacker: bare datagrams to the session ports), as in
// test/unit/wshalfshare.test.ts; each millisecond's datagrams arrive interleaved in proportion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_GLOBAL_PPS, RELAY_SESSION_PPS } from '../../src/params.js';
import { halfWorld } from './halfworld.js';

/** The relay of halfWorld; `run` sends, every 1 ms of the clock for `ms`, `perMs[k]` datagrams on session k's port, interleaved. */
async function world(K: number) {
  const w = await halfWorld(K, 'fairsqueeze');
  const run = async (perMs: number[], ms: number) => {
    for (let t = 0; t < ms; t++) { w.interleaved(perMs); await w.clock.run(1); }
  };
  return { ...w, run };
}

test('attack: sessions kept idle for RELAY_SHARE_ACTIVE flood right after a recount and take the global budget from a session within its fair share', async () => {
  const A = 8, K = A + 1; // session 0 the victim, 1..A the attacker's
  const w = await world(K);
  try {
    // The victim sends 10 000/s, under its share among the K established sessions (global / K).
    const victimPerMs = 10, fair = Math.min(RELAY_SESSION_PPS, Math.floor(RELAY_GLOBAL_PPS / K));
    assert.ok(victimPerMs * 1000 < fair, 'the victim stays within its fair share');
    const quiet = [victimPerMs, ...new Array<number>(A).fill(0)];
    // The attacker's sessions flood at RELAY_SESSION_PPS each (what one not counted active gets).
    const flood = [victimPerMs, ...new Array<number>(A).fill(RELAY_SESSION_PPS / 1000)];
    // The sessions are made at 0; the attacker's stay idle for RELAY_SHARE_ACTIVE + a recount.
    await w.run(quiet, 3001); // the recount at 3000 is the victim's
    const rounds: string[] = [];
    let sent = 0, got = 0;
    for (let r = 0; r < 3; r++) {
      const v0 = w.toWs[0]!, a0 = w.toWs.slice(1).reduce((a, b) => a + b, 0);
      await w.run(flood, 1000); // right after the recount that found them idle
      const v = w.toWs[0]! - v0, a = w.toWs.slice(1).reduce((x, y) => x + y, 0) - a0;
      rounds.push(`victim ${v} of ${victimPerMs * 1000}, attacker ${a}`);
      sent += victimPerMs * 1000;
      got += v;
      // Idle again (counted active for RELAY_SHARE_ACTIVE), then flood again.
      const q0 = w.toWs[0]!;
      await w.run(quiet, 2000);
      sent += victimPerMs * 2000;
      got += w.toWs[0]! - q0;
    }
    process.stdout.write(`# ${A} attacking sessions, each second of flood: ${rounds.join('; ')}; victim over 9 s: ${got} of ${sent} (fair share ${fair}/s)\n`);
    assert.ok(got >= 0.99 * sent, `the victim, within its fair share, got ${got} of ${sent} datagrams`);
  } finally {
    await w.close();
  }
});

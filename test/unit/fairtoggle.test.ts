// Attack on the relay's fair share (src/relay/fair.ts), found by a reviewing helper: an attacker
// with M sessions keeps only one of them established at a time (each slot it closes one member
// of the previous session and opens the next one again). When the share was counted over the
// sessions established (with a session that closed leaving the counts at once), the counts
// stayed at "victim + 1" (50 000/s, burst 5 000 each) while the closed sessions' buckets kept
// filling, so each session opened again came with a full burst: the attacker passed about M x
// RELAY_SESSION_PPS, the global bucket ran dry and a victim within its share lost datagrams.
// Now activity is counted by bucket (the same two keys, the same bucket): a session closed and
// opened again stays counted while its bucket can hold tokens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_GLOBAL_PPS, RELAY_HALF_OPEN_SECONDS, RELAY_SESSION_PPS } from '../../src/params.js';
import { halfWorld } from './halfworld.js';

test('attack: rotating which of M sessions is established keeps the counts low while every bucket refills', async () => {
  const M = 3, K = M + 1, SLOT = 50; // session 0 the victim, 1..M the attacker's; (M-1) x SLOT = 100 ms = a bucket's refill
  const w = await halfWorld(K, 'fairtoggle');
  const { clock, server, S, toWs } = w;
  try {
    // Only attacker session 1 established at first (the others' w closed).
    for (let k = 2; k <= M; k++) server.sessions.close(S[k]!.w, S[k]!.u);
    const victimPerMs = 10, attackPerMs = 150;
    const fair = Math.min(RELAY_SESSION_PPS, Math.floor(RELAY_GLOBAL_PPS / K));
    assert.ok(victimPerMs * 1000 < fair, 'the victim stays within its fair share among all K sessions');
    // Stay below RELAY_HALF_OPEN_SECONDS from the sessions' creation (a half-open session older
    // than that is deleted at the next expire(); a real attacker re-opens both members then).
    const END = RELAY_HALF_OPEN_SECONDS * 1000 - 500;
    let open = 1, sent = 0;
    for (let t = 0; t < END; t++) {
      const want = 1 + (Math.floor(t / SLOT) % M);
      if (want !== open) {
        server.sessions.close(S[open]!.w, S[open]!.u); // relay-close from the previous one's w
        assert.equal(server.sessions.open(S[want]!.w, S[want]!.u, S[want]!.wAddr, clock.now()), 'ok'); // relay-open from the next one's
        open = want;
      }
      // This millisecond's datagrams, the victim's and the open attacker session's interleaved in proportion.
      const perK = new Array<number>(K).fill(0);
      perK[0] = victimPerMs;
      perK[open] = attackPerMs;
      w.interleaved(perK);
      sent += victimPerMs;
      await clock.run(1);
    }
    const attacker = toWs.slice(1).reduce((a, b) => a + b, 0);
    process.stdout.write(`# rotating ${M} sessions every ${SLOT} ms: victim ${toWs[0]} of ${sent}, attacker ${attacker} in ${END} ms\n`);
    assert.ok(toWs[0]! >= 0.99 * sent, `the victim, within its fair share, got ${toWs[0]} of ${sent} datagrams`);
  } finally {
    await w.close();
  }
});

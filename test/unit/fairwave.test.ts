// An attack on the relay's fair share (src/relay/fair.ts), found by a reviewing helper:
// sessions established after a recount, bursting one after another: each session's bucket
// started full, at the burst of the count at its own first packet, so together they took
// sum_i global / (10 (E + i)), not global / 10 (99 999 and, once sessions counted from
// their first datagram, 41 972 of a 10 000 bound). The relay's global bucket now has that
// bound as its burst (RELAY_GLOBAL_BURST; it was a whole second's worth).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_GLOBAL_PPS } from '../../src/params.js';
import { halfRelay } from './halfworld.js';

test('attack: sessions established after a recount, bursting in turn, take at most RELAY_GLOBAL_PPS / 10 together', async () => {
  const M = 100, N = 6000;
  const w = await halfRelay(M + 1, 'burstwave');
  try {
    // The victim's session (0), whole; the attacker's sessions half-open (one member each).
    for (let k = 0; k <= M; k++) w.openU(k);
    await w.openW(0);
    w.send(0, 1); // a recount: established 1, active 1
    assert.equal(w.toWs[0], 1);
    for (let k = 1; k <= M; k++) await w.openW(k); // the attacker's second members, same instant
    for (let k = 1; k <= M; k++) w.send(k, N); // each bursts in turn
    const toWs = w.toWs.slice(1).reduce((a, b) => a + b, 0);
    process.stdout.write(`# ${M} sessions established after the recount, ${N} datagrams each at once: ${toWs} relayed (claimed bound RELAY_GLOBAL_PPS / 10 = ${RELAY_GLOBAL_PPS / 10})\n`);
    assert.ok(toWs <= RELAY_GLOBAL_PPS / 10, `${toWs} relayed in one instant: more than a tenth of RELAY_GLOBAL_PPS`);
  } finally {
    await w.close();
  }
});

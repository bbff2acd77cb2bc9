// DNS responder benchmark (`npm run bench:dns`): the cost of one answer (decode with
// `dns-packet`, look up, encode), in process, for a zone of 1000 names, on one core; and the
// same for malformed datagrams (what a flood of junk costs before it is dropped). It shows
// what the rate limits (DNS_QUERIES_PER_SEC) leave of a core.
// Progress lines start with '#'; the LAST line is one JSON object:
//   {"zone_names", "answers_per_sec", "us_per_answer", "malformed_per_sec", "us_per_malformed",
//    "junk_body_per_sec", "us_per_junk_body", "cpu_share_at_rate_limit", "dns_packet"}
import { createRequire } from 'node:module';
import dnsPacket from 'dns-packet';
import { answerQuery } from '../src/daemon/dnsanswer.js';
import type { Zone } from '../src/daemon/nameszone.js';
import { DNS_QUERIES_PER_SEC } from '../src/params.js';

const NAMES = 1000;
const SECONDS = 2;
const zone: Zone = {
  network: 'bench',
  entries: Array.from({ length: NAMES }, (_, i) => ({ name: `host_${i}`, ipv4: `10.${i >> 8}.${i & 255}.1`, ipv6: `fd00::${i.toString(16)}` })),
};
const queries = Array.from({ length: 64 }, (_, i) => dnsPacket.encode({
  type: 'query', id: i, flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ name: i % 4 === 3 ? `nobody${i}.bench` : `host_${(i * 37) % NAMES}.bench`, type: i % 2 === 0 ? 'A' : 'AAAA', class: 'IN' }],
}));
let seed = 7;
const next = () => (seed = (seed * 48271) % 2147483647);
// Junk: random bytes, and random bodies behind a query's header (one question), which pass
// the header check and reach the library.
const junk = Array.from({ length: 64 }, () => Buffer.from(Array.from({ length: 12 + (next() % 60) }, () => next() & 0xff)));
const bodies = Array.from({ length: 64 }, (_, i) => Buffer.concat([queries[i]!.subarray(0, 12), Buffer.from(Array.from({ length: 1 + (next() % 60) }, () => next() & 0xff))]));

function rate(inputs: Buffer[]): number {
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    for (const q of inputs) answerQuery(zone, q);
    n += inputs.length;
  }
  return n / SECONDS;
}

const answers = rate(queries);
process.stdout.write(`# ${Math.round(answers)} answers/s\n`);
const malformed = rate(junk);
process.stdout.write(`# ${Math.round(malformed)} malformed datagrams/s\n`);
const badBodies = rate(bodies);
process.stdout.write(`# ${Math.round(badBodies)} junk bodies behind a good header/s\n`);
const version = (createRequire(import.meta.url)('dns-packet/package.json') as { version: string }).version;
process.stdout.write(JSON.stringify({
  zone_names: NAMES, answers_per_sec: Math.round(answers), us_per_answer: Number((1e6 / answers).toFixed(2)),
  malformed_per_sec: Math.round(malformed), us_per_malformed: Number((1e6 / malformed).toFixed(2)),
  junk_body_per_sec: Math.round(badBodies), us_per_junk_body: Number((1e6 / badBodies).toFixed(2)),
  cpu_share_at_rate_limit: Number((DNS_QUERIES_PER_SEC / answers).toFixed(4)), dns_packet: version,
}) + '\n');

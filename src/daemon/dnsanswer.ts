// The DNS responder's answers (`dns yes`: docs/CONFIG.md, "Names for every program"): one
// query datagram in, one reply datagram or nothing out. Pure; the wire format is the
// `dns-packet` library's (README, "Dependencies"); src/daemon/dnsserver.ts owns the sockets.
//
//   NAME.NETWORK, A / AAAA   the peer's overlay address(es); a name with no address of that
//                            family, or another type, gets an empty NOERROR answer (NODATA)
//   NETWORK itself           SOA for an SOA query (a synthesized one), NODATA otherwise
//   another name in NETWORK  NXDOMAIN (NODATA when it is an empty non-terminal: b.NET with a.b)
//   a name outside NETWORK   REFUSED: the responder is authoritative for NETWORK only, it
//                            does not recurse (what an authoritative-only server answers)
//   an opcode but QUERY      NOTIMP;  not exactly one question: FORMERR;  class not IN: REFUSED
// Negative answers carry the SOA (RFC 2308), whose minimum is DNS_TTL. Undecodable datagrams
// and responses (QR set) get no reply at all: `malformed`.
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';
import { DNS_TTL } from '../params.js';
import type { NameEntry, Zone } from './nameszone.js';

export type DnsOutcome = 'answer' | 'nodata' | 'nxdomain' | 'refused' | 'formerr' | 'notimp' | 'malformed';

export interface DnsResult {
  outcome: DnsOutcome;
  /** The reply to send; absent for `malformed` (dropped). */
  reply?: Buffer;
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The lowercase name without its final dot. */
const norm = (name: string): string => name.toLowerCase().replace(/\.$/, '');

function soa(network: string): Answer {
  return {
    name: network, type: 'SOA', class: 'IN', ttl: DNS_TTL,
    data: { mname: network, rname: `hostmaster.${network}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: DNS_TTL },
  };
}

function records(q: Question, e: NameEntry): Answer[] {
  const out: Answer[] = [];
  const any = q.type === ('ANY' as Question['type']);
  if ((q.type === 'A' || any) && e.ipv4) out.push({ name: q.name, type: 'A', class: 'IN', ttl: DNS_TTL, data: e.ipv4 });
  if ((q.type === 'AAAA' || any) && e.ipv6) out.push({ name: q.name, type: 'AAAA', class: 'IN', ttl: DNS_TTL, data: e.ipv6 });
  return out;
}

/** What the zone says about question `q`. */
function lookup(zone: Zone, q: Question): { outcome: DnsOutcome; rcode: number; answers: Answer[]; authorities: Answer[] } {
  const network = norm(zone.network);
  const name = norm(q.name);
  const negative = (outcome: DnsOutcome, rcode: number) => ({ outcome, rcode, answers: [], authorities: [soa(zone.network)] });
  if (name !== network && !name.endsWith(`.${network}`)) return { outcome: 'refused', rcode: RCODE.REFUSED, answers: [], authorities: [] };
  if ((q.class ?? 'IN') !== 'IN') return { outcome: 'refused', rcode: RCODE.REFUSED, answers: [], authorities: [] };
  if (name === network) {
    if (q.type === 'SOA') return { outcome: 'answer', rcode: RCODE.NOERROR, answers: [{ ...soa(zone.network), name: q.name }], authorities: [] };
    return negative('nodata', RCODE.NOERROR);
  }
  const host = name.slice(0, name.length - network.length - 1);
  const entry = zone.entries.find((e) => e.name.toLowerCase() === host);
  if (entry === undefined) {
    const nonTerminal = zone.entries.some((e) => e.name.toLowerCase().endsWith(`.${host}`));
    return nonTerminal ? negative('nodata', RCODE.NOERROR) : negative('nxdomain', RCODE.NXDOMAIN);
  }
  const answers = records(q, entry);
  return answers.length > 0 ? { outcome: 'answer', rcode: RCODE.NOERROR, answers, authorities: [] } : negative('nodata', RCODE.NOERROR);
}

/** The reply to one query datagram. */
export function answerQuery(zone: Zone, query: Buffer): DnsResult {
  let q: DecodedPacket;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return { outcome: 'malformed' };
  }
  if (q.flag_qr) return { outcome: 'malformed' };
  const questions = q.questions ?? [];
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
  const reply = (rcode: number, answers: Answer[] = [], authorities: Answer[] = [], qs: Question[] = questions): Buffer =>
    dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: flags | rcode, questions: qs, answers, authorities });
  try {
    if ((q as { opcode?: string }).opcode !== 'QUERY') return { outcome: 'notimp', reply: reply(RCODE.NOTIMP, [], [], []) };
    if (questions.length !== 1) return { outcome: 'formerr', reply: reply(RCODE.FORMERR, [], [], []) };
    const r = lookup(zone, questions[0]!);
    return { outcome: r.outcome, reply: reply(r.rcode, r.answers, r.authorities) };
  } catch {
    // A question the library decodes but cannot encode back (an odd type or name).
    return { outcome: 'malformed' };
  }
}

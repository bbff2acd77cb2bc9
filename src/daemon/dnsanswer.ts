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
// The header is checked before the library sees the datagram: dns-packet allocates an array
// of each section's announced count before it reads a record, so a 12-byte header announcing
// 65535 records of each kind cost it 2 to 10 ms (measured: bench/dns.ts, junk datagrams, 192/s
// before this check), against 0.2 ms for a real query. A query has one question, no answer or
// authority records and at most one additional (EDNS's OPT); anything else is refused by its
// header alone (FORMERR for another number of questions, as RFC 1035 has it, else dropped).
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

/** The zone's names, lowercased, for lookups: built once per zone (a reload makes a new one). */
const indexes = new WeakMap<Zone, { names: Map<string, NameEntry>; parents: Set<string> }>();
function indexOf(zone: Zone): { names: Map<string, NameEntry>; parents: Set<string> } {
  let ix = indexes.get(zone);
  if (ix === undefined) {
    ix = { names: new Map(), parents: new Set() };
    for (const e of zone.entries) {
      const n = e.name.toLowerCase();
      ix.names.set(n, e);
      // Every proper suffix of a dotted name is an empty non-terminal (NODATA, not NXDOMAIN).
      for (let i = n.indexOf('.'); i >= 0; i = n.indexOf('.', i + 1)) ix.parents.add(n.slice(i + 1));
    }
    indexes.set(zone, ix);
  }
  return ix;
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
  const ix = indexOf(zone);
  const entry = ix.names.get(host);
  if (entry === undefined) return ix.parents.has(host) ? negative('nodata', RCODE.NOERROR) : negative('nxdomain', RCODE.NXDOMAIN);
  const answers = records(q, entry);
  return answers.length > 0 ? { outcome: 'answer', rcode: RCODE.NOERROR, answers, authorities: [] } : negative('nodata', RCODE.NOERROR);
}

/** A reply made from the header alone (no question echoed). */
function headerReply(query: Buffer, rcode: number): Buffer {
  const rd = (query.readUInt16BE(2) & 0x0100) !== 0;
  return dnsPacket.encode({ type: 'response', id: query.readUInt16BE(0), flags: dnsPacket.AUTHORITATIVE_ANSWER | (rd ? dnsPacket.RECURSION_DESIRED : 0) | rcode, questions: [], answers: [] });
}

/** The reply to one query datagram. `decode` is the library's (a test counts its calls). */
export function answerQuery(zone: Zone, query: Buffer, decode: (b: Buffer) => DecodedPacket = dnsPacket.decode): DnsResult {
  if (query.length < 12 || (query[2]! & 0x80) !== 0) return { outcome: 'malformed' };
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => query.readUInt16BE(o));
  if (an !== 0 || ns !== 0 || ar! > 1) return { outcome: 'malformed' };
  if (((query[2]! >> 3) & 0xf) !== 0) return { outcome: 'notimp', reply: headerReply(query, RCODE.NOTIMP) };
  if (qd !== 1) return { outcome: 'formerr', reply: headerReply(query, RCODE.FORMERR) };
  let q: DecodedPacket;
  try {
    q = decode(query);
  } catch {
    return { outcome: 'malformed' };
  }
  const questions = q.questions ?? [];
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | (q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
  const reply = (rcode: number, answers: Answer[] = [], authorities: Answer[] = [], qs: Question[] = questions): Buffer =>
    dnsPacket.encode({ type: 'response', id: q.id ?? 0, flags: flags | rcode, questions: qs, answers, authorities });
  try {
    const r = lookup(zone, questions[0]!);
    return { outcome: r.outcome, reply: reply(r.rcode, r.answers, r.authorities) };
  } catch {
    // A question the library decodes but cannot encode back (an odd type or name).
    return { outcome: 'malformed' };
  }
}

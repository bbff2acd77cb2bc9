// A peer argument (hostname, overlay IP, key or key prefix: src/daemon/resolve.ts) resolved by
// the running daemons: the one named with --interface, else every daemon of the machine, the
// answer coming from the one that knows the peer. For `wh resolve` and any command taking a PEER.
import { callDaemon, ControlError, listDaemons } from '../control/client.js';
import type { ResolveAnswer, ResolvedPeer } from '../control/resolve.js';
import { CliError } from './errors.js';

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Asks one daemon; throws a CliError when its answer names no single peer. */
async function askOne(iface: string, query: string): Promise<ResolvedPeer> {
  let a: ResolveAnswer;
  try {
    a = (await callDaemon(iface, { cmd: 'resolve', peer: query })) as ResolveAnswer;
  } catch (e) {
    throw new CliError(`cannot resolve on ${iface}: ${message(e)}`);
  }
  if (a.found) return a.peer;
  throw new CliError(`${iface}: ${a.error}`);
}

/** The peer `query` names: on `iface` when given, else on the one running daemon that knows it.
 *  Errors (unknown, ambiguous, several interfaces know it, no daemon) are CliErrors. */
export async function resolvePeerArg(query: string, iface?: string): Promise<ResolvedPeer> {
  if (iface !== undefined) return askOne(iface, query);
  let ifaces: string[];
  try { ifaces = listDaemons(); } catch (e) { throw new CliError(message(e)); }
  if (ifaces.length === 0) throw new CliError('no WireHub interface is up (start one with: wh up NAME)');
  if (ifaces.length === 1) return askOne(ifaces[0]!, query);
  const answers = await Promise.all(ifaces.map(async (i) => {
    try {
      return { iface: i, answer: (await callDaemon(i, { cmd: 'resolve', peer: query })) as ResolveAnswer };
    } catch (e) {
      // A socket a killed daemon left is no interface that is up.
      if (e instanceof ControlError && (e.code === 'stale' || e.code === 'no-daemon')) return undefined;
      return { iface: i, failed: message(e) };
    }
  }));
  const hits: ResolvedPeer[] = [];
  const misses: string[] = [];
  let invalid: string | undefined;
  for (const r of answers) {
    if (r === undefined) continue;
    if ('failed' in r) misses.push(`${r.iface}: ${r.failed}`);
    else if (r.answer.found) hits.push(r.answer.peer);
    else if (r.answer.reason === 'invalid') invalid = r.answer.error;
    else misses.push(`${r.iface}: ${r.answer.error}`);
  }
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) {
    throw new CliError(`${JSON.stringify(query)} names a peer on ${hits.length} interfaces (${hits.map((h) => `${h.interface}: ${h.hostname ?? h.key}`).join(', ')}); choose one with --interface IFACE`);
  }
  if (invalid !== undefined) throw new CliError(invalid);
  throw new CliError(misses.length > 0 ? misses.join('\n') : 'no WireHub interface is up (start one with: wh up NAME)');
}

// `wh __complete peers [IFACE]` (hidden), which the completion scripts run at TAB time: the
// names of the trusted peers of one running node, or of every running node, one a line. Fast and
// silent: each daemon gets COMPLETION_TIMEOUT to answer, and whatever fails prints nothing.
import { callDaemon, listDaemons } from '../../control/client.js';
import type { ShowResult } from '../../control/show.js';
import { COMPLETION_TIMEOUT } from '../../params.js';

export async function peerNames(iface: string | undefined): Promise<string[]> {
  let ifaces: string[];
  try { ifaces = iface !== undefined ? [iface] : listDaemons(); } catch { return []; }
  const answers = await Promise.all(ifaces.map((i) =>
    callDaemon(i, { cmd: 'show' }, COMPLETION_TIMEOUT).then((r) => (r as ShowResult).peers ?? [], () => [])));
  const names = new Set<string>();
  for (const peers of answers) for (const p of peers) if (typeof p.name === 'string') names.add(p.name);
  return [...names].sort();
}

/** `wh __complete WHAT [ARG]`: prints the candidates, one a line; never fails. bin/wh.js calls
 *  it without loading the rest of the CLI (a TAB then costs about 80 ms of CPU, not 300). */
export async function completeMain(args: string[]): Promise<void> {
  const [what, iface] = args;
  if (what !== 'peers') return;
  const names = await peerNames(iface !== undefined && iface !== '' ? iface : undefined);
  if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
}

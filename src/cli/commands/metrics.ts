// `wh metrics [NAME|IFACE]`: the running nodes' counters in the Prometheus text format
// (src/daemon/metrics.ts), for a scraper's textfile collector, a script, or a look. Without an
// argument, every running node, each sample labelled with its interface. The same text is
// served on HTTP by a node whose network file has a `metrics HOST:PORT` line.
import type { Command } from 'commander';
import { callDaemon, ControlError, listDaemons } from '../../control/client.js';
import type { ShowResult } from '../../control/show.js';
import { formatMetrics } from '../../daemon/metrics.js';
import { CliError } from '../errors.js';
import { downTarget } from '../downtarget.js';

export async function metricsAction(target: string | undefined): Promise<void> {
  let ifaces: string[];
  if (target !== undefined) ifaces = [await downTarget(target, 'metrics')];
  else {
    try { ifaces = listDaemons(); } catch (e) { throw new CliError(e instanceof Error ? e.message : String(e)); }
  }
  // Asked all at once: one slow daemon does not hold up the others.
  const answers = await Promise.all(ifaces.map((iface) => callDaemon(iface, { cmd: 'show', all: true }).then(
    (r) => ({ ok: true as const, r: r as ShowResult }), (e: unknown) => ({ ok: false as const, e }))));
  const results: ShowResult[] = [];
  const errors: string[] = [];
  for (const a of answers) {
    if (a.ok) { results.push(a.r); continue; }
    // Listing every interface, a socket a killed daemon left is no node: skipped.
    if (target === undefined && a.e instanceof ControlError && a.e.code === 'stale') continue;
    errors.push(a.e instanceof Error ? a.e.message : String(a.e));
  }
  if (results.length > 0) process.stdout.write(formatMetrics(results, Date.now() / 1000));
  if (errors.length > 0) throw new CliError(errors.join('\n'));
  if (results.length === 0) throw new CliError('no WireHub interface is up (start one with: wh up NAME)');
}

export function register(program: Command): void {
  program
    .command('metrics')
    .usage('[NAME|IFACE]')
    .description("print a running node's counters in the Prometheus text format (peers by path, traffic, handshakes, DHT, drops, relay sessions)")
    .argument('[node]', 'interface of the node, or the network name or config it was started with (default: every running node)')
    .action(metricsAction);
}

// `wh reload IFACE`: the daemon re-reads its config file and applies the difference.
import type { Command } from 'commander';
import { callDaemon, ControlError } from '../../control/client.js';
import { CliError } from '../errors.js';
import { jsonText, reloadJSON, type ReloadAnswer } from '../json.js';
import { downTarget } from '../downtarget.js';

export function register(program: Command): void {
  program
    .command('reload')
    .description('re-read the config file of a running node and apply the changes live')
    .argument('<iface>', 'interface of the running node, or the network name or config it was started with (when one node runs it)')
    .option('--json', 'print JSON for scripts')
    .action(async (arg: string, opts: { json?: boolean }) => {
      // By network name too, as wh down takes it (the systemd unit reloads wh@NAME so).
      const iface = await downTarget(arg, 'reload');
      let r: ReloadAnswer;
      try {
        r = (await callDaemon(iface, { cmd: 'reload' })) as typeof r;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        // Only a daemon that answered "no" has certainly kept its state.
        if (e instanceof ControlError && e.code === 'daemon') throw new CliError(`reload of ${iface} refused, running state kept: ${msg}`);
        if (e instanceof ControlError && (e.code === 'timeout' || e.code === 'protocol')) {
          throw new CliError(`reload of ${iface}: ${msg}; it may have been applied or not (see wh show ${iface})`);
        }
        throw new CliError(`reload of ${iface} not sent: ${msg}`);
      }
      if (opts.json) process.stdout.write(jsonText(reloadJSON(iface, r)));
      else {
        const parts = [['added', r.added], ['removed', r.removed], ['changed', r.changed],
          ['boot nodes added', r.bootsAdded ?? []], ['boot nodes removed', r.bootsRemoved ?? []], ['WebSocket', r.transports ?? []]]
          .filter(([, v]) => (v as string[]).length > 0).map(([k, v]) => `${k as string}: ${(v as string[]).join(', ')}`);
        process.stdout.write(`${iface}: ${parts.length > 0 ? parts.join('; ') : 'no change'}\n`);
      }
      // The new config is in effect, but WireGuard did not take all of it: say so, and fail.
      if (r.errors !== undefined && r.errors.length > 0) {
        throw new CliError(`reload of ${iface}: the new config is in effect, but ${r.errors.length} change(s) failed (WireGuard, names, metrics or WebSocket): ${r.errors.join('; ')}`);
      }
    });
}

// `wh down IFACE`: stops the node and removes every trace of it (interface, nftables table,
// control socket). With no daemon running, it still removes whatever an earlier run left.
import fs from 'node:fs';
import type { Command } from 'commander';
import { callDaemon, ControlError } from '../../control/client.js';
import { socketPath } from '../../control/protocol.js';
import { removeLeftovers } from '../../daemon/system.js';
import { CliError } from '../errors.js';

async function waitGone(file: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!fs.existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !fs.existsSync(file);
}

export function register(program: Command): void {
  program
    .command('down')
    .description('stop a node and remove its interface, firewall rules and sockets')
    .argument('<iface>', 'interface of the node')
    .action(async (iface: string) => {
      const file = socketPath(iface);
      let daemonStopped = false;
      try {
        await callDaemon(iface, { cmd: 'down' });
        daemonStopped = await waitGone(file, 10_000);
        if (!daemonStopped) process.stderr.write(`wh: the daemon of ${iface} did not finish within 10 s; removing what is left\n`);
      } catch (e) {
        if (!(e instanceof ControlError) || (e.code !== 'no-daemon' && e.code !== 'stale')) throw new CliError(e instanceof Error ? e.message : String(e));
      }
      const removed = await removeLeftovers(iface);
      try { fs.unlinkSync(file); removed.push(`stale socket ${file}`); } catch { /* none */ }
      if (!daemonStopped && removed.length === 0) throw new CliError(`${iface} is not up (no daemon, no interface, no firewall table)`);
      process.stdout.write(`${iface} is down${removed.length > 0 ? ` (removed: ${removed.join(', ')})` : ''}\n`);
    });
}

// `wh down IFACE|NAME|CONFIG`: stops the node (a network name or config file names the one
// node running it: src/cli/downtarget.ts) and removes every trace of it (interface, nftables table,
// control socket). With no daemon running, it still removes whatever an earlier run left, but
// only what carries WireHub's mark (src/daemon/leftovers.ts): another interface of that name
// (made by hand, eth0) is refused and left alone. It says "IFACE is down" only once it has
// seen the daemon gone.
import fs from 'node:fs';
import type { Command } from 'commander';
import { callDaemon, ControlError } from '../../control/client.js';
import { socketPath } from '../../control/protocol.js';
import { interfaceNameError } from '../../daemon/system.js';
import { NotOursError, removeLeftovers } from '../../daemon/leftovers.js';
import { takeUpLock, UpLockBusy, type UpLock } from '../../daemon/uplock.js';
import { socketOwners, terminate } from '../../wg/proc.js';
import { socketAccepts } from '../../util/unixsocket.js';
import { DOWN_WAIT } from '../../params.js';
import { CliError } from '../errors.js';
import { downTarget } from '../downtarget.js';

const isRoot = (): boolean => typeof process.geteuid !== 'function' || process.geteuid() === 0;

async function waitGone(file: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!fs.existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !fs.existsSync(file);
}

/** The interface's lock (src/daemon/uplock.ts), waiting up to `ms` for a daemon that is
 *  exiting to let it go; throws UpLockBusy after that. */
async function lockWaiting(iface: string, ms: number): Promise<UpLock> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await takeUpLock(iface);
    } catch (e) {
      if (!(e instanceof UpLockBusy) || Date.now() >= end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Asks the daemon to stop; true once its control socket is gone. A daemon that does not
 *  finish in time is terminated (the process serving its socket, found through /proc). */
async function stopDaemon(iface: string, file: string): Promise<boolean> {
  try {
    await callDaemon(iface, { cmd: 'down' });
  } catch (e) {
    if (e instanceof ControlError && (e.code === 'no-daemon' || e.code === 'stale')) return false;
    throw new CliError(`cannot stop ${iface}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (await waitGone(file, DOWN_WAIT)) return true;
  process.stderr.write(`wh: the daemon of ${iface} did not finish within ${DOWN_WAIT / 1000} s; stopping it\n`);
  for (const pid of socketOwners(file)) await terminate(pid);
  if (await socketAccepts(file)) throw new CliError(`the daemon of ${iface} did not stop: ${file} is still served; nothing else was removed`);
  return true;
}

export function register(program: Command): void {
  program
    .command('down')
    .description('stop a node and remove its interface, firewall rules and sockets')
    .argument('<iface>', 'interface of the node, or the network name or config it was started with (when one node runs it)')
    .action(async (arg: string) => {
      const iface = await downTarget(arg);
      const nameError = interfaceNameError(iface);
      if (nameError) throw new CliError(`${JSON.stringify(iface)} is no running node's interface, network or config (as an interface name: ${nameError})`);
      const file = socketPath(iface);
      const daemonStopped = await stopDaemon(iface, file);
      if (!isRoot()) {
        if (daemonStopped) return void process.stdout.write(`${iface} is down\n`);
        throw new CliError(`cannot stop or remove ${iface}: permission denied (needs root)`);
      }
      // A daemon that is starting (or another wh up/down of this interface) holds the lock:
      // its interface is not a leftover. Ours stopped: it lets go as its process exits.
      let lock: UpLock;
      try {
        lock = await lockWaiting(iface, daemonStopped ? DOWN_WAIT : 0);
      } catch (e) {
        if (e instanceof UpLockBusy) throw new CliError(`${e.message}: nothing was removed; wh down ${iface} again once it is up`);
        throw new CliError(`cannot take the lock of ${iface}: ${e instanceof Error ? e.message : String(e)}`);
      }
      let removed: string[];
      try {
        removed = await removeLeftovers(iface);
        try { fs.unlinkSync(file); removed.push(`stale socket ${file}`); } catch { /* none */ }
      } catch (e) {
        if (e instanceof NotOursError) throw new CliError(`${e.message}: left alone`);
        throw new CliError(`cannot remove what is left of ${iface}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await lock.release();
      }
      if (!daemonStopped && removed.length === 0) throw new CliError(`${iface} is not up (no daemon, no interface, no firewall table)`);
      process.stdout.write(`${iface} is down${removed.length > 0 ? ` (removed: ${removed.join(', ')})` : ''}\n`);
    });
}

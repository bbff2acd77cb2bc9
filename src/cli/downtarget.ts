// Which interface `wh down ARG` stops (docs/CONFIG.md, "Starting a node by name"): ARG itself
// when a daemon serves that interface; else the one running node whose network is named ARG or
// whose config is the file ARG names (as `wh up ARG` would read it); else ARG as an interface
// name again (what a killed run left is still removed). Several nodes of that network or config
// are refused: the interface must then be named.
import fs from 'node:fs';
import path from 'node:path';
import { callDaemon, listDaemons } from '../control/client.js';
import { socketPath } from '../control/protocol.js';
import { isInterfaceName } from '../wg/names.js';
import { CONTROL_TIMEOUT } from '../params.js';
import { CliError } from './errors.js';
import { configSource } from './upsource.js';

interface Running { iface: string; network?: unknown; config?: unknown }

/** The config file `arg` names, absolute, or undefined when it names none. */
function configFile(arg: string): string | undefined {
  try { return path.resolve(configSource(arg, { mustExist: false }).file); } catch { return undefined; }
}

export async function downTarget(arg: string, verb = 'down'): Promise<string> {
  if (isInterfaceName(arg) && fs.existsSync(socketPath(arg))) return arg;
  let ifaces: string[];
  try { ifaces = listDaemons(); } catch { return arg; }
  const running: Running[] = await Promise.all(ifaces.map((iface) =>
    callDaemon(iface, { cmd: 'show' }, CONTROL_TIMEOUT).then((r) => ({ iface, ...(r as object) }), () => ({ iface }))));
  const file = configFile(arg);
  const hits = running.filter((r) => r.network === arg || (file !== undefined && r.config === file));
  if (hits.length === 1) return hits[0]!.iface;
  if (hits.length > 1) {
    throw new CliError(`${JSON.stringify(arg)} names ${hits.length} running nodes (${hits.map((h) => h.iface).join(', ')}); name the interface: wh ${verb} ${hits[0]!.iface}`);
  }
  return arg;
}

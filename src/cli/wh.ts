// `wh` command-line entry point. Each command lives in src/cli/commands/<name>.ts and exports
// `register(program)`; this file only wires them together and maps errors to exit codes.
import { Command, CommanderError } from 'commander';
import { register as registerGenkey } from './commands/genkey.js';
import { register as registerPubkey } from './commands/pubkey.js';
import { register as registerWorkbit } from './commands/workbit.js';
import { register as registerCheck } from './commands/check.js';
import { register as registerUp } from './commands/up.js';
import { register as registerDown } from './commands/down.js';
import { register as registerShow } from './commands/show.js';
import { register as registerReload } from './commands/reload.js';
import { register as registerInvite } from './commands/invite.js';
import { register as registerJoin } from './commands/join.js';
import { register as registerNc } from './commands/nc.js';
import { register as registerPing } from './commands/ping.js';
import { register as registerNetcheck } from './commands/netcheck.js';
import { register as registerResolve } from './commands/resolve.js';
import { register as registerTop } from './commands/top.js';
import { CliError, formatError, reportError, USAGE_EXIT } from './errors.js';

/** "wh reload [options] <iface> (wh reload --help)": the hint after a usage error. */
export function usageHint(cmd: Command): string {
  const isRoot = cmd.parent === null;
  const name = isRoot ? 'wh' : `wh ${cmd.name()}`;
  return `${name} ${isRoot ? '<command> [options]' : cmd.usage()} (${name} --help)`;
}

let pendingError: { text: string; cmd: Command } | undefined;
let activeCommand: Command | undefined;

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wh')
    .description('WireHub: decentralized, peer-to-peer, secure overlay networks on top of WireGuard')
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride();
  registerUp(program);
  registerDown(program);
  registerShow(program);
  registerTop(program);
  registerReload(program);
  registerInvite(program);
  registerJoin(program);
  registerNc(program);
  registerPing(program);
  registerNetcheck(program);
  registerResolve(program);
  registerGenkey(program);
  registerPubkey(program);
  registerWorkbit(program);
  registerCheck(program);
  program.on('command:*', (operands: string[]) => {
    throw new CliError(`unknown command '${operands[0] ?? ''}'`, USAGE_EXIT);
  });
  // Commander's own errors (missing argument, unknown option...) are not printed by commander:
  // main() prints them in wh's style, with the usage of the command they are about.
  for (const cmd of [program, ...program.commands]) {
    cmd.configureOutput({ outputError: (text) => { pendingError = { text, cmd }; } });
  }
  program.hook('preAction', (_root, action) => { activeCommand = action; });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // Plain `wh` is `wh show`, as plain `wg` is `wg show`.
  if (argv.length <= 2) argv = [...argv, 'show'];
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version: already printed. An error: printed here, in wh's style.
      if (err.exitCode === 0) { process.exitCode = 0; return; }
      const cmd = pendingError?.cmd ?? program;
      process.stderr.write(formatError(pendingError?.text ?? err.message, usageHint(cmd)));
      process.exitCode = USAGE_EXIT;
      return;
    }
    reportError(err, () => usageHint(activeCommand ?? program));
  }
}

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
import { CliError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('wh')
    .description('WireHub: decentralized, peer-to-peer, secure overlay networks on top of WireGuard')
    .version('0.1.0')
    .showHelpAfterError('(run `wh --help` for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
  registerUp(program);
  registerDown(program);
  registerShow(program);
  registerReload(program);
  registerGenkey(program);
  registerPubkey(program);
  registerWorkbit(program);
  registerCheck(program);
  program.on('command:*', (operands: string[]) => {
    throw new CliError(`unknown command '${operands[0] ?? ''}'. See 'wh --help'.`, 2);
  });
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
      // commander has already printed its message (help, version, or the error itself).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof CliError) {
      process.stderr.write(`wh: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`wh: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 70;
  }
}

// `wh completion bash|zsh`: prints the shell's completion script (src/cli/completion/), made
// from this CLI's own commands and options. And the hidden `wh __complete peers [IFACE]` the
// scripts run at TAB time for peer names (src/cli/completion/peers.ts).
import type { Command } from 'commander';
import { CliError, USAGE_EXIT } from '../errors.js';
import { bashScript } from '../completion/bash.js';
import { zshScript } from '../completion/zsh.js';
import { completionSpec } from '../completion/spec.js';
import { completeMain } from '../completion/peers.js';

export function register(program: Command): void {
  program
    .command('completion')
    .usage('bash|zsh')
    .description('print the shell completion script: source <(wh completion bash), or see the README')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      const { commands, rootOptions } = completionSpec(program);
      if (shell === 'bash') process.stdout.write(bashScript(commands, rootOptions));
      else if (shell === 'zsh') process.stdout.write(zshScript(commands, rootOptions));
      else throw new CliError(`no completion for shell '${shell.slice(0, 40)}' (bash or zsh)`, USAGE_EXIT);
    });
  program
    .command('__complete', { hidden: true })
    .argument('<what>')
    .argument('[iface]')
    // Never an error: a TAB prints candidates or nothing. (bin/wh.js takes this path first.)
    .action((what: string, iface: string | undefined) => completeMain(iface !== undefined ? [what, iface] : [what]));
}

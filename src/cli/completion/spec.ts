// What `wh completion` completes, read off the commander program (commands, their options and
// which options take a value) plus what each command's arguments are (ARGS below), so that the
// scripts follow the CLI as it changes. src/cli/completion/bash.ts and zsh.ts render it.
import type { Command } from 'commander';

/** What an argument or an option's value is:
 *  node: a running node's interface or a network name (`wh down`'s argument);
 *  iface: a running node's interface; config: a network name, or a file when the word looks
 *  like a path (wg-quick's rule); upwords: `private-key FILE interface NAME listen-port N`;
 *  showwords: IFACE, then PEER of that node, and `all`; peer: a peer of a running node;
 *  file, dir: the file system; shell: bash or zsh; none: nothing to offer. */
export type Kind = 'node' | 'iface' | 'config' | 'upwords' | 'showwords' | 'peer' | 'file' | 'dir' | 'shell' | 'none';

/** Each command's arguments in order; the last one repeats. A command not listed takes none. */
const ARGS: Record<string, Kind[]> = {
  up: ['config', 'upwords'], down: ['node'], show: ['showwords'], reload: ['node'], metrics: ['node'], invite: ['node', 'none'],
  join: ['file'], nc: ['none'], ping: ['peer'], netcheck: ['config'], resolve: ['peer'], genkey: ['file'], check: ['file'],
  completion: ['shell'], 'install-service': ['none'], top: ['node'],
};

/** What the value of an option is, by its long name (options not listed: none). */
const VALUES: Record<string, Kind> = { '--interface': 'iface', '--dir': 'dir', '--boot-config': 'file', '--log-file': 'file', '--unit-dir': 'dir' };

export interface OptionSpec { flags: string[]; description: string; value: Kind | undefined }
export interface CommandSpec { name: string; description: string; options: OptionSpec[]; args: Kind[] }

const HELP: OptionSpec = { flags: ['-h', '--help'], description: 'display help for command', value: undefined };

export function completionSpec(program: Command): { commands: CommandSpec[]; rootOptions: OptionSpec[] } {
  const commands = program.commands
    .filter((c) => !(c as unknown as { _hidden?: boolean })._hidden)
    .map((c): CommandSpec => ({
      name: c.name(),
      description: c.description(),
      options: [...c.options.map((o): OptionSpec => ({
        flags: [o.short, o.long].filter((f): f is string => f !== undefined),
        description: o.description,
        value: o.required || o.optional ? (VALUES[o.long ?? ''] ?? 'none') : undefined,
      })), HELP],
      args: ARGS[c.name()] ?? ['none'],
    }));
  return { commands, rootOptions: [HELP, { flags: ['-V', '--version'], description: 'output the version number', value: undefined }] };
}

/** A word in single quotes for bash and zsh. */
export function quoted(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

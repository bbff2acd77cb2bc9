// The entry of a daemon's process: `wh up CONFIG [WORDS...] --foreground [--log-file FILE]`,
// which systemd runs and a detached `wh up` forks (bin/wh.js comes here for it). The same
// command as src/cli/commands/up.ts, without loading the rest of the CLI (the argument
// library and every other command's modules stay out of the daemon's memory: docs/NODE.md
// "Memory"). Only that plain form is parsed here; anything else on the command line (help,
// `--`, an option `wh up` does not know) goes to the full CLI, which says what it says.
import { reportError } from './errors.js';
import { runUp, UP_USAGE } from './commands/up.js';

export interface DaemonArgv { config: string; words: string[]; logFile?: string }

/** The arguments of `wh up ... --foreground` in `argv` (process.argv), or undefined when the
 *  command line is anything else (left to the full CLI). */
export function parseDaemonArgv(argv: readonly string[]): DaemonArgv | undefined {
  if (argv[2] !== 'up') return undefined;
  const positional: string[] = [];
  let foreground = false;
  let logFile: string | undefined;
  for (let i = 3; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--foreground') foreground = true;
    else if (a === '--log-file' && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) logFile = argv[++i];
    else if (a.startsWith('--log-file=') && a.length > '--log-file='.length) logFile = a.slice('--log-file='.length);
    else if (a.startsWith('-')) return undefined;
    else positional.push(a);
  }
  if (!foreground || positional.length === 0) return undefined;
  return { config: positional[0]!, words: positional.slice(1), ...(logFile !== undefined ? { logFile } : {}) };
}

export async function daemonMain(argv: string[]): Promise<void> {
  const parsed = parseDaemonArgv(argv);
  if (parsed === undefined) {
    const { main } = await import('./wh.js');
    return main(argv);
  }
  try {
    await runUp(parsed.config, parsed.words, { foreground: true, ...(parsed.logFile !== undefined ? { logFile: parsed.logFile } : {}) });
  } catch (err) {
    reportError(err, () => `wh up ${UP_USAGE} (wh up --help)`);
  }
}

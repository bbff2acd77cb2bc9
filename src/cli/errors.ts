// How `wh` reports an error, for every command and for what commander (the argument library)
// detects itself: "wh: MESSAGE" on stderr, nothing on stdout; a usage error exits with
// USAGE_EXIT and adds one line "usage: wh COMMAND ARGS (wh COMMAND --help)"; a failure exits
// with FAILURE_EXIT and adds nothing. (Signals keep the shell's 128+N, e.g. 130 for Ctrl-C.)

/** The command line was wrong: nothing was tried. */
export const USAGE_EXIT = 2;
/** The command was tried and failed (bad input file, daemon refused, system error...). */
export const FAILURE_EXIT = 1;

/** An error meant for the user: printed as "wh: <message>" with the given exit status
 *  (FAILURE_EXIT: the input or the system was wrong; USAGE_EXIT: the command line was). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = FAILURE_EXIT) {
    super(message);
  }
}

/** The text printed for an error: "wh: " before the first line (commander's "error: " prefix
 *  replaced), then the usage hint for a usage error. */
export function formatError(message: string, usage?: string): string {
  const text = message.trim().replace(/^error: /, '');
  return `wh: ${text}\n${usage !== undefined ? `usage: ${usage}\n` : ''}`;
}

/** Prints an error a command threw and sets the exit status: a CliError as "wh: MESSAGE" (with
 *  `usage()` after a usage error), anything else as an internal error with its stack. */
export function reportError(err: unknown, usage: () => string): void {
  if (err instanceof CliError) {
    process.stderr.write(formatError(err.message, err.exitCode === USAGE_EXIT ? usage() : undefined));
    process.exitCode = err.exitCode;
    return;
  }
  // A bug: still "wh: ...", still a failure; the stack helps the report.
  process.stderr.write(formatError(`internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
  process.exitCode = FAILURE_EXIT;
}

// Levelled logging: one line per event, "LEVEL message", to stderr (foreground) or appended to a
// file (detached daemon). WH_LOG_LEVEL=debug|info|warn|error selects the level (default info).
//
// Logging never throws: it runs in every error path of the daemon, up to its crash handler,
// and a log that cannot be written (a full disk: ENOSPC, an I/O error) must not take the node
// down or stop its cleanup. A line that cannot be written is dropped and counted; the first
// such failure is said once on stderr; when a write works again the logger first writes how
// many lines were lost and the error. stderr's own errors (EPIPE when whoever read it is
// gone) are ignored.
import fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LoggerOptions {
  /** append to this file (opened at once: a file that cannot be opened throws here) */
  file?: string;
  level?: Level;
  prefix?: string;
  /** where the one notice of a failing log file goes (default: process.stderr) */
  stderr?: (line: string) => void;
}

let stderrGuarded = false;

/** Writes to stderr, never throwing, also when stderr is a closed pipe. */
export function writeStderr(line: string): void {
  try {
    if (!stderrGuarded) {
      stderrGuarded = true;
      process.stderr.on('error', () => undefined);
    }
    process.stderr.write(line);
  } catch {
    /* nowhere left to say it */
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const envLevel = process.env.WH_LOG_LEVEL as Level | undefined;
  const min = ORDER[opts.level ?? (envLevel && envLevel in ORDER ? envLevel : 'info')];
  const fd = opts.file ? fs.openSync(opts.file, 'a', 0o600) : undefined;
  const notice = opts.stderr ?? writeStderr;
  let lost = 0;
  let lastError = '';
  let told = false;

  /** Writes all of `text` to the file, or throws (a short write is continued). */
  const writeAll = (text: string): void => {
    let buf = Buffer.from(text);
    while (buf.length > 0) {
      const n = fs.writeSync(fd!, buf);
      buf = buf.subarray(n);
    }
  };
  const stamp = (level: Level, msg: string) =>
    `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${opts.prefix ? opts.prefix + ': ' : ''}${msg}\n`;

  const write = (level: Level, msg: string): void => {
    if (ORDER[level] < min) return;
    try {
      const line = stamp(level, msg);
      if (fd === undefined) {
        writeStderr(line);
        return;
      }
      if (lost > 0) {
        writeAll(stamp('warn', `${lost} log line${lost === 1 ? '' : 's'} lost (${lastError})`));
        lost = 0;
        told = false;
      }
      writeAll(line);
    } catch (e) {
      lost++;
      lastError = errorText(e);
      if (!told) {
        told = true;
        try {
          notice(`wh: cannot write the log ${opts.file ?? ''}: ${lastError}; lines are dropped (and counted) until it works again\n`);
        } catch {
          /* ignored */
        }
      }
    }
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

// Levelled logging: one line per event, "LEVEL message", to stderr (foreground) or appended to a
// file (detached daemon). WH_LOG_LEVEL=debug|info|warn|error selects the level (default info).
import fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(opts: { file?: string; level?: Level; prefix?: string } = {}): Logger {
  const envLevel = process.env.WH_LOG_LEVEL as Level | undefined;
  const min = ORDER[opts.level ?? (envLevel && envLevel in ORDER ? envLevel : 'info')];
  const fd = opts.file ? fs.openSync(opts.file, 'a', 0o600) : undefined;
  const write = (level: Level, msg: string): void => {
    if (ORDER[level] < min) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${opts.prefix ? opts.prefix + ': ' : ''}${msg}\n`;
    if (fd !== undefined) fs.writeSync(fd, line);
    else process.stderr.write(line);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
}

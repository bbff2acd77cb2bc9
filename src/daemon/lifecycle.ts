// How the daemon's process ends. This is a process edge: it installs the process's signal,
// exception and exit handlers (and uses the real timers).
//
//   SIGINT, SIGTERM, SIGHUP   the full cleanup (Daemon.stop), then exit 0.
//   uncaught exception        logged with its stack; the same cleanup; exit 1.
//   unhandled rejection       logged with its stack; the node goes on (a background task
//                             failed: it costs that task, not the node's tunnels).
//   cleanup that hangs        after SHUTDOWN_TIMEOUT the synchronous last resort runs and the
//   or throws                 process exits (1).
//   any exit before the       ('exit' handler: process.exit from anywhere) the synchronous
//   cleanup finished          last resort runs: nothing may outlive the daemon.
// A second signal or exception during the cleanup is logged and the cleanup goes on.
// The logger never throws (src/util/log.ts), so none of these handlers can throw either.
import { SHUTDOWN_TIMEOUT } from '../params.js';
import type { Logger } from '../util/log.js';
import { deadline } from '../util/deadline.js';

export interface ProcessGuardOptions {
  log: Logger;
  /** The full cleanup; resolves once everything is removed. */
  stop: () => Promise<void>;
  /** Synchronous last resort; returns what it removed. Must not throw. */
  emergency: () => string[];
  /** Ends the process (default process.exit). */
  exit?: (code: number) => void;
}

export interface ProcessGuard {
  /** The cleanup completed by another way (wh down): the exit handler has nothing to do. */
  cleaned(): void;
  /** The exit status a signal (0) or a crash (1) asked for; 0 when neither happened. */
  status(): number;
  /** Removes the handlers. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const describe = (e: unknown) => (e instanceof Error ? e.stack ?? e.message : String(e));

export function guardProcess(opts: ProcessGuardOptions): ProcessGuard {
  const { log } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let clean = false;
  let shuttingDown = false;
  let status = 0;

  const lastResort = (why: string): void => {
    if (clean) return;
    clean = true;
    let removed: string[] = [];
    try { removed = opts.emergency(); } catch { /* must not throw; nothing more to do */ }
    log.error(`${why}: removed synchronously: ${removed.length > 0 ? removed.join(', ') : 'nothing left'}`);
  };

  const shutdown = (code: number, why: string): void => {
    if (shuttingDown) {
      log.warn(`${why} during the cleanup; the cleanup goes on`);
      return;
    }
    shuttingDown = true;
    status = code;
    const timer = deadline(SHUTDOWN_TIMEOUT, () => {
      lastResort(`the cleanup did not finish within ${SHUTDOWN_TIMEOUT / 1000} s`);
      exit(code === 0 ? 1 : code);
    });
    opts.stop().then(
      () => {
        timer.cancel();
        clean = true;
        exit(code);
      },
      (e: unknown) => {
        timer.cancel();
        log.error(`the cleanup failed: ${describe(e)}`);
        lastResort('after the failed cleanup');
        exit(code === 0 ? 1 : code);
      },
    );
  };

  const onSignal = (sig: NodeJS.Signals): void => {
    log.info(`${sig}: stopping`);
    shutdown(0, sig);
  };
  const onException = (e: unknown): void => {
    log.error(`crash (uncaught exception): ${describe(e)}; cleaning up, then exiting with status 1`);
    shutdown(1, 'another uncaught exception');
  };
  const onRejection = (e: unknown): void => {
    log.error(`unexpected (unhandled rejection; the node goes on): ${describe(e)}`);
  };
  const onExit = (): void => lastResort('exit before the cleanup finished');

  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  process.on('exit', onExit);
  return {
    cleaned: () => { clean = true; },
    status: () => status,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, onSignal);
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
      process.off('exit', onExit);
    },
  };
}

// Deadlines of process-level work (a DNS lookup, the lock hand-over, the shutdown): real
// timers that keep the process alive while they run (unlike realClock's, which are unref'd so
// that a node's timers never hold a process that is done). The one place outside
// src/util/clock.ts where the daemon's code gets a raw timer.

export interface Deadline {
  cancel(): void;
}

/** Calls `onExpire` after `ms` unless cancelled first. */
export function deadline(ms: number, onExpire: () => void): Deadline {
  const t = setTimeout(onExpire, ms);
  return { cancel: () => clearTimeout(t) };
}

/** `p`, or a rejection with `error()` when it has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const d = deadline(ms, () => reject(error()));
    p.then((v) => { d.cancel(); resolve(v); }, (e: unknown) => { d.cancel(); reject(e); });
  });
}

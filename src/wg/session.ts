// WireGuard's handshake times are wall-clock (unix seconds in the dump): the comparison with
// the wall clock lives here, at the WireGuard edge, so that the daemon reads only its
// monotonic clock.

/** WireGuard drops a session this long after its handshake (REJECT_AFTER_TIME, seconds). */
export const SESSION_SECONDS = 180;

/** Whether a peer whose latest handshake was at `latestHandshake` (unix seconds, 0 = never)
 *  has a session now, by the wall clock `nowMs` (default: now). A handshake "in the future"
 *  (our clock stepped back) proves nothing. */
export function hasSession(latestHandshake: number, nowMs: number = Date.now()): boolean {
  const age = nowMs / 1000 - latestHandshake;
  return latestHandshake > 0 && age >= 0 && age < SESSION_SECONDS;
}

// One place that loads libsodium. Every user awaits `sodiumReady()` once at start-up and
// then uses the returned module synchronously.
import _sodium from 'libsodium-wrappers';

export type Sodium = typeof _sodium;

let ready: Promise<Sodium> | undefined;

export function sodiumReady(): Promise<Sodium> {
  ready ??= _sodium.ready.then(() => _sodium);
  return ready;
}

// Where `wh up` takes its config and key from, the way wg-quick users expect (docs/CONFIG.md,
// "Starting a node by name"):
// - CONFIG is a path when it contains '/' or ends in ".conf" (wg-quick's rule, which takes
//   "wg0" for /etc/wireguard/wg0.conf); otherwise it is a NAME: CONFIG_DIR/NAME.conf, with the
//   key CONFIG_DIR/NAME.sk when that file exists and no `private-key FILE` is given.
//   CONFIG_DIR is /etc/wirehub, or $WH_CONFIG_DIR (tests).
// - A key file that group or others may access gets wg-quick's warning, word for word.
// - No key at all: an ephemeral key meeting the network's workbit, for public nodes only (a
//   node of a network with trust lines needs the key its trust line names). It lives in the
//   daemon's memory only: never written anywhere, gone when the daemon stops.
import fs from 'node:fs';
import path from 'node:path';
import { keyToBase64, parseKey } from '../crypto/keys.js';
import { searchKey } from '../crypto/keysearch.js';
import type { NetworkConfig } from '../config/index.js';
import { CONFIG_DIR, UP_LOCK_HANDOFF_TIMEOUT } from '../params.js';
import { deadline } from '../util/deadline.js';
import { CliError, USAGE_EXIT } from './errors.js';

export const CONFIG_DIR_ENV = 'WH_CONFIG_DIR';

export function configDir(): string {
  const env = process.env[CONFIG_DIR_ENV];
  return env !== undefined && env !== '' ? env : CONFIG_DIR;
}

/** wg-quick's rule: a path contains '/' or ends in ".conf"; anything else is a name. */
export function isConfigPath(arg: string): boolean {
  return arg.includes('/') || arg.endsWith('.conf');
}

const NAME = /^[A-Za-z0-9_=+.-]{1,64}$/;

export interface ConfigSource {
  /** The config file to read. */
  file: string;
  /** Given as a name: that name. */
  name?: string;
  /** Given as a name and CONFIG_DIR/NAME.sk exists: that file. */
  keyFile?: string;
}

/** Where a CONFIG argument of `wh up` (or `wh down`) points. Throws a CliError for a name that
 *  cannot be one, or one whose file does not exist (`mustExist`). */
export function configSource(arg: string, opts: { dir?: string; mustExist?: boolean } = {}): ConfigSource {
  if (isConfigPath(arg)) return { file: arg };
  const dir = opts.dir ?? configDir();
  if (!NAME.test(arg) || arg.startsWith('.')) {
    throw new CliError(`${JSON.stringify(arg.slice(0, 64))} is neither a config path (one with '/' or ending in .conf) nor a network name (1 to 64 of A-Z a-z 0-9 _ = + . -, not starting with '.')`, USAGE_EXIT);
  }
  const file = path.join(dir, `${arg}.conf`);
  if (opts.mustExist !== false && !fs.existsSync(file)) {
    const here = fs.existsSync(arg) ? `; to use the file ${arg} in this directory, write ./${arg}` : '';
    throw new CliError(`${file} does not exist (wh up ${arg} reads ${dir}/${arg}.conf${here})`);
  }
  const keyFile = path.join(dir, `${arg}.sk`);
  return { file, name: arg, ...(fs.existsSync(keyFile) ? { keyFile } : {}) };
}

/** wg-quick's warning for a key file that group or others may access, or undefined. (wg-quick
 *  warns about its config, which holds the key, when others may access it; here the key file
 *  is the secret, and group access counts too.) */
export function keyFileWarning(file: string): string | undefined {
  let mode: number;
  try { mode = fs.statSync(file).mode; } catch { return undefined; } // reading it reports the error
  return (mode & 0o077) !== 0 ? `Warning: \`${file}' is world accessible` : undefined;
}

export interface EphemeralKey { secret: Uint8Array; publicB64: string; seconds: number }

/** Searches a key meeting `config`'s workbit in its namespace (on every core, src/crypto/keysearch.ts). */
export async function ephemeralKey(config: NetworkConfig): Promise<EphemeralKey> {
  const r = await searchKey({ workbit: config.workbit, namespace: config.namespace });
  return { secret: r.secret, publicB64: keyToBase64(r.public), seconds: r.seconds };
}

/** What `wh up` says on stderr when it runs on an ephemeral key. */
export function ephemeralNotice(k: EphemeralKey, config: NetworkConfig): string {
  return `wh: no private key given: using the ephemeral key ${k.publicB64} (workbit ${config.workbit} in namespace ${JSON.stringify(config.namespace)}, found in ${k.seconds.toFixed(1)} s); it is never written to disk and is forgotten on wh down\n`;
}

/** Message types of the ephemeral key's hand-over to the daemon a detached `wh up` forks (over
 *  the fork's IPC channel, like the interface's lock: never through a file, argv or env). */
export const WANT_KEY = 'want-ephemeral-key';
export const KEY = 'ephemeral-key';

/** In the forked daemon: asks the parent `wh up` for the key it made. */
export function keyFromParent(): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new CliError('no wh up to hand over the ephemeral key'));
    const onMessage = (m: { type?: string; secret?: unknown }): void => {
      if (m?.type !== KEY || typeof m.secret !== 'string') return;
      timer.cancel();
      process.off('message', onMessage);
      try { resolve(parseKey(m.secret, 'the ephemeral key')); } catch (e) { reject(e); }
    };
    const timer = deadline(UP_LOCK_HANDOFF_TIMEOUT, () => { process.off('message', onMessage); reject(new CliError('wh up did not hand over the ephemeral key')); });
    process.on('message', onMessage);
    process.send({ type: WANT_KEY });
  });
}

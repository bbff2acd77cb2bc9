// File I/O for network configs, kept apart from the pure parser in parse.ts.
import { sodiumReady } from '../crypto/sodium.js';
import { MAX_CONFIG_BYTES } from '../params.js';
import { FileReadError, readBoundedFile } from '../util/readfile.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';
import type { NetworkConfig } from './types.js';

export { MAX_CONFIG_BYTES };

/** Reads a config file as UTF-8 text: a regular file of at most MAX_CONFIG_BYTES, read without
 *  blocking (src/util/readfile.ts); throws ConfigError naming `path` when it cannot. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return readBoundedFile(path, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    const why = err instanceof FileReadError ? err.message : String(err);
    throw new ConfigError([{ file: path, message: `cannot read config file: ${why}` }]);
  }
}

/** Reads and parses a network config file. Throws ConfigError (read or parse problems). */
export async function loadConfig(path: string): Promise<NetworkConfig> {
  const text = await readConfigText(path);
  return parseConfig(text, path, await sodiumReady());
}

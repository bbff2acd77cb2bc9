// File I/O for network configs, kept apart from the pure parser in parse.ts.
import { readFile, stat } from 'node:fs/promises';
import { sodiumReady } from '../crypto/sodium.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './parse.js';
import type { NetworkConfig } from './types.js';

/** Config files are a few kilobytes; anything this large is surely the wrong file. */
export const MAX_CONFIG_BYTES = 1 << 20;

function describe(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory, not a config file';
    default: return err instanceof Error ? err.message : String(err);
  }
}

/** Reads a config file as UTF-8 text; throws ConfigError naming `path` when it cannot. */
export async function readConfigText(path: string): Promise<string> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    throw new ConfigError([{ file: path, message: `cannot read config file: ${describe(err)}` }]);
  }
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError([{ file: path, message: `config file is too large (${size} bytes; the limit is ${MAX_CONFIG_BYTES})` }]);
  }
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file: path, message: `cannot read config file: ${describe(err)}` }]);
  }
}

/** Reads and parses a network config file. Throws ConfigError (read or parse problems). */
export async function loadConfig(path: string): Promise<NetworkConfig> {
  const text = await readConfigText(path);
  return parseConfig(text, path, await sodiumReady());
}

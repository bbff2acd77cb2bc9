// Small helpers shared by CLI commands.
import { KeyError, parseKey } from '../crypto/keys.js';
import { CliError } from './errors.js';

/** Reads all of standard input as text (bounded: keys and configs are small). */
export async function readStdin(limit = 1 << 20): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('expected input on standard input (for example: wh genkey | wh pubkey)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new CliError(`standard input is larger than ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** parseKey for the CLI: a key that is not one becomes a user error (exit 1) naming `what`. */
export function parseKeyInput(text: string, what: string): Uint8Array {
  try {
    return parseKey(text, what);
  } catch (err) {
    if (err instanceof KeyError) throw new CliError(err.message, 1);
    throw err;
  }
}

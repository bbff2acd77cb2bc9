// Small helpers shared by CLI commands.
import { isKeyText, KEY_FORMS, parseKey } from '../crypto/keys.js';
import { MAX_KEY_FILE_BYTES } from '../params.js';
import { FileReadError, readBoundedFile } from '../util/readfile.js';
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

/** What a text that is not a key looks like, without quoting any of it: it may be a secret
 *  (a private key with a comment after it, say). */
function describeNotKey(text: string): string {
  const s = text.trim();
  if (s.length === 0) return 'nothing';
  const lines = s.split(/\r\n|\n|\r/).length;
  if (lines > 1) return `${lines} lines`;
  const words = s.split(/\s+/);
  if (isKeyText(words[0]!)) return `${s.length} characters: a key followed by other text`;
  return `${s.length} character${s.length === 1 ? '' : 's'}${words.length > 1 ? ` in ${words.length} words` : ''}`;
}

/** A base64 key (surrounding whitespace ignored); anything else is a user error (exit 1)
 *  naming `what` and never quoting the text. */
export function parseKeyInput(text: string, what: string): Uint8Array {
  const s = text.trim();
  if (!isKeyText(s)) throw new CliError(`${what} is not a WireGuard key (expected ${KEY_FORMS}, got ${describeNotKey(text)})`, 1);
  return parseKey(s, what);
}

/** Reads the private key file `path` (a regular file of at most MAX_KEY_FILE_BYTES, read
 *  without blocking) and parses it; errors name the file and never show its content. */
export function readKeyFile(path: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readBoundedFile(path, MAX_KEY_FILE_BYTES);
  } catch (e) {
    throw new CliError(`${path}: cannot read the private key: ${e instanceof FileReadError ? e.message : String(e)}`);
  }
  try {
    return parseKeyInput(bytes.toString('utf8'), `${path}: the private key`);
  } finally {
    bytes.fill(0);
  }
}

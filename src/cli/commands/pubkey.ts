// `wh pubkey`: read a private key on standard input, print its public key (like `wg pubkey`).
import type { Command } from 'commander';
import { keyToBase64, publicFromSecret } from '../../crypto/keys.js';
import { sodiumReady } from '../../crypto/sodium.js';
import { parseKeyInput, readStdin } from '../io.js';

/** The public key (base64) of a private key given as base64 text; surrounding whitespace is ignored. */
export async function pubkeyOf(privateKeyText: string): Promise<string> {
  const sodium = await sodiumReady();
  const sk = parseKeyInput(privateKeyText, 'the private key on standard input');
  try {
    return keyToBase64(publicFromSecret(sodium, sk));
  } finally {
    sk.fill(0);
  }
}

export function register(program: Command): void {
  program
    .command('pubkey')
    .description('print the public key of the private key on stdin')
    .addHelpText('after', '\nSame as `wg pubkey`: standard base64, surrounding whitespace in the input is ignored.\nExample: wh genkey | tee privatekey | wh pubkey > publickey')
    .action(async () => {
      process.stdout.write((await pubkeyOf(await readStdin())) + '\n');
    });
}

// `wh workbit [--namespace S]`: read a public key on standard input, print its workbit.
import type { Command } from 'commander';
import { sodiumReady } from '../../crypto/sodium.js';
import { workbit } from '../../crypto/workbit.js';
import { DEFAULT_NAMESPACE } from '../../params.js';
import { parseKeyInput, readStdin } from '../io.js';

/** Workbit (0..256) of a public key given as base64 text; surrounding whitespace is ignored. */
export async function workbitOf(publicKeyText: string, namespace: string): Promise<number> {
  const sodium = await sodiumReady();
  const pk = parseKeyInput(publicKeyText, 'the public key on standard input');
  return workbit(sodium, pk, namespace);
}

export function register(program: Command): void {
  program
    .command('workbit')
    .description('print the workbit of the public key on stdin')
    .option('--namespace <S>', `workbit namespace (default: "${DEFAULT_NAMESPACE}", that of the public DHT and of a network config without a namespace line)`)
    .addHelpText('after', '\nThe workbit is the number of leading zero bits of BLAKE2b-256(public key || namespace), 0..256.\nExample: wh genkey --workbit 12 --namespace mynet | wh pubkey | wh workbit --namespace mynet')
    .action(async (opts: { namespace?: string }) => {
      process.stdout.write(`${await workbitOf(await readStdin(), opts.namespace ?? DEFAULT_NAMESPACE)}\n`);
    });
}

// The `hosts` and `dns` directives: whether the node publishes the trusted peers' names in
// /etc/hosts and on a DNS responder (docs/CONFIG.md, "Names for every program"). Pure.
import { quoteToken } from './errors.js';

/** Reads the one argument of `hosts`/`dns`: yes or no. Reports a problem through `fail`. */
export function parseSwitch(word: string, args: string[], line: number, fail: (line: number, message: string) => void): boolean | undefined {
  const usage = `(usage: ${word} yes|no)`;
  if (args.length !== 1) {
    fail(line, `"${word}" takes exactly one argument, got ${args.length === 0 ? 'none' : args.length} ${usage}`);
    return undefined;
  }
  const v = args[0]!;
  if (v === 'yes') return true;
  if (v === 'no') return false;
  fail(line, `"${word}" takes yes or no, got ${quoteToken(v)} ${usage}`);
  return undefined;
}

/** Why the network name cannot be the suffix of the published names (NAME.NETWORK), or
 *  undefined when it can: a DNS name of non-empty labels of at most 63 characters. */
export function namesError(network: string): string | undefined {
  const labels = network.split('.');
  if (labels.some((l) => l.length === 0)) return `the network name ${quoteToken(network)} has an empty label (leading, trailing or doubled '.'), so NAME.${network} is not a DNS name`;
  if (labels.some((l) => l.length > 63)) return `the network name ${quoteToken(network)} has a label longer than 63 characters`;
  if (/^\d+$/.test(labels[labels.length - 1]!)) return `the network name ${quoteToken(network)} ends in an all-digit label, so NAME.${network} could read as an IP address`;
  return undefined;
}

// `wh genkey [CONFIG] [--workbit N] [--namespace S] [--threads T]`: print a new WireGuard
// private key whose public key has at least workbit N in namespace S. Defaults: N = 8 in
// namespace "public", what the public DHT's boot nodes ask (a few ms); with CONFIG, the
// namespace of that network file and the larger of its workbit and 8. `--workbit 0` is a plain
// random key, exactly like `wg genkey`.
import type { Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { loadConfig } from '../../config/load.js';
import { keyToBase64 } from '../../crypto/keys.js';
import { DEFAULT_NAMESPACE, GENKEY_DEFAULT_WORKBIT } from '../../params.js';
import { defaultThreads, searchKey, type KeySearchProgress } from '../../crypto/keysearch.js';
import { MAX_WORKBIT } from '../../crypto/workbit.js';
import { CliError } from '../errors.js';

interface GenkeyOptions {
  workbit?: string;
  namespace?: string;
  threads?: string;
}

/** Parses a decimal integer option in [min, max]; throws a usage error (exit 2) otherwise. */
export function parseIntOption(name: string, value: string, min: number, max: number): number {
  const s = value.trim();
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`, 2);
  }
  return n;
}

/** Compact count: 950, 12.3k, 4.56M, 7.89G, ... */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  let u = 0;
  while (Math.abs(n) >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  if (u === 0) return String(Math.round(n));
  return `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)}${units[u]}`;
}

/** Compact duration: 4.5s, 45s, 12m, 3.4h, 5.1d, 2.30y, 1.60My, 1.2e+60y */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)}h`;
  const days = seconds / 86400;
  if (days < 365) return `${days.toFixed(1)}d`;
  const years = days / 365.25;
  return years < 1e18 ? `${formatCount(years)}y` : `${years.toExponential(1)}y`;
}

/** One progress line (without \r): tries, rate, and what to expect. The search is memoryless, so
 * the expected time still to go is always 2^N / rate: it does not shrink as tries accumulate. */
export function formatProgress(p: KeySearchProgress): string {
  if (p.tries === 0) return `workbit >= ${p.workbit}: starting ${p.threads} thread${p.threads === 1 ? '' : 's'}…`;
  return `workbit >= ${p.workbit}: ${formatCount(p.tries)} tries, ${formatDuration(p.seconds)}, ${formatCount(p.rate)}/s; ` +
    `expect ~2^${p.workbit} tries, ~${formatDuration(p.expectedRemainingSeconds)} more`;
}

/** The proof of work `wh genkey` searches for: options first, then CONFIG, then the defaults. */
export async function genkeyTarget(opts: GenkeyOptions, configPath: string | undefined): Promise<{ workbit: number; namespace: string }> {
  let fromFile: { workbit: number; namespace: string } | undefined;
  if (configPath !== undefined) {
    try {
      const cfg = await loadConfig(configPath);
      fromFile = { workbit: Math.max(cfg.workbit, GENKEY_DEFAULT_WORKBIT), namespace: cfg.namespace };
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message);
      throw e;
    }
  }
  const workbit = opts.workbit !== undefined ? parseIntOption('--workbit', opts.workbit, 0, MAX_WORKBIT) : fromFile?.workbit ?? GENKEY_DEFAULT_WORKBIT;
  return { workbit, namespace: opts.namespace ?? fromFile?.namespace ?? DEFAULT_NAMESPACE };
}

async function genkey(configPath: string | undefined, opts: GenkeyOptions): Promise<void> {
  const { workbit, namespace } = await genkeyTarget(opts, configPath);
  const threads = opts.threads === undefined ? defaultThreads() : parseIntOption('--threads', opts.threads, 1, 1024);

  const stderr = process.stderr;
  const tty = stderr.isTTY === true;
  let shown = false;
  const show = (p: KeySearchProgress) => {
    let line = formatProgress(p);
    const cols = stderr.columns > 0 ? stderr.columns : 80;
    if (line.length > cols - 1) line = line.slice(0, cols - 2) + '…';
    stderr.write(`\r${line}\x1b[K`);
    shown = true;
  };
  const clear = () => {
    if (shown) stderr.write('\r\x1b[K');
    shown = false;
  };

  // Ctrl-C (or a kill) stops the workers, clears the progress line and exits 130 / 143.
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => ac.abort(new CliError(`interrupted (${sig}); no key was written`, sig === 'SIGINT' ? 130 : 143));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await searchKey({ workbit, namespace, threads, signal: ac.signal, ...(tty ? { onProgress: show } : {}) });
    clear();
    process.stdout.write(keyToBase64(r.secret) + '\n');
  } catch (err) {
    clear();
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  program
    .command('genkey')
    .description('print a new private key, like `wg genkey`, with the proof of work the public DHT asks')
    .argument('[CONFIG]', 'a network config file: search for its namespace and workbit (at least 8)')
    .option('--workbit <N>', `search for a key whose public key has a workbit of at least N (integer 0..${MAX_WORKBIT}; default ${GENKEY_DEFAULT_WORKBIT}, what public boot nodes ask; takes ~2^N tries on average: N=20 is ~1M tries, and each +1 doubles it; 0 is a plain random key)`)
    .option('--namespace <S>', `workbit namespace (default: "${DEFAULT_NAMESPACE}", that of the public DHT, or the namespace of CONFIG)`)
    .option('--threads <T>', 'worker threads for the search (default: all cores)')
    .addHelpText('after', '\nThe private key is printed on standard output. A long search shows its progress on standard\nerror when that is a terminal; Ctrl-C stops it.\nExamples: wh genkey | tee node_a.sk | wh pubkey\n          wh genkey ./config > node.sk             # the namespace and workbit of ./config\n          wh genkey --workbit 16 --namespace mynet | tee privatekey | wh pubkey')
    .action(async (config: string | undefined, opts: GenkeyOptions) => genkey(config, opts));
}

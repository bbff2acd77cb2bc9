// bench:throughput's command line (bench/throughput.ts) and its progress output.
export const log = (msg: string) => process.stderr.write(`# ${msg}\n`);
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Options { seconds: number; runs: number; veth: boolean; ws: boolean; prof: boolean }

export function usage(): string {
  return 'usage: node dist/bench/throughput.js [--seconds N (10)] [--runs N (5 overlay/bare pairs)] [--no-veth] [--no-ws] [--prof (CPU profiles of the WebSocket row\'s daemons)]';
}

export function parseArgs(argv: string[]): Options {
  const o: Options = { seconds: 10, runs: 5, veth: true, ws: true, prof: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (name: string, min: number, max: number): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`${name} wants an integer in ${min}..${max}`);
      return v;
    };
    if (a === '--seconds') o.seconds = num('--seconds', 1, 3600);
    else if (a === '--runs') o.runs = num('--runs', 1, 100);
    else if (a === '--no-veth') o.veth = false;
    else if (a === '--no-ws') o.ws = false;
    else if (a === '--prof') o.prof = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(usage() + '\n'); process.exit(0); }
    else throw new UsageError(`unknown argument ${JSON.stringify(a)}`);
  }
  return o;
}

export class UsageError extends Error {}

// Running commands: one child process, bounded in time, output collected, never a shell.
// Every command micronet runs goes through run() or runSync(), so a hung `ip`/`nft`/`upnpc`
// cannot hang a test: it is killed (SIGKILL) when its timeout expires.
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';

export interface ExecResult {
  /** Exit status; 128 + the signal's number when it was killed by a signal (as shells say). */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the timeout expired and the process was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string;
  /** Kill (SIGKILL) the process after this many ms. Default 10 000. */
  timeoutMs?: number;
  /** Throw an ExecError when the command does not exit with status 0. Default false. */
  check?: boolean;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

export class ExecError extends Error {
  constructor(readonly argv: readonly string[], readonly result: ExecResult) {
    const how = result.timedOut ? 'timed out' : result.signal ? `killed by ${result.signal}` : `exit status ${result.code}`;
    const err = result.stderr.trim() || result.stdout.trim();
    super(`${argv.join(' ')}: ${how}${err ? `: ${err.slice(0, 2000)}` : ''}`);
    this.name = 'ExecError';
  }
}

/** Runs argv[0] with argv[1..]; resolves when it exits (or is killed at its timeout). */
export function run(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('run: empty command'));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`${argv.join(' ')}: ${err.message}`)); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = { code: exitCode(code, signal), signal, stdout, stderr, timedOut };
      if (opts.check && code !== 0) reject(new ExecError(argv, result));
      else resolve(result);
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => { /* the command may exit before reading everything */ });
      child.stdin!.end(opts.input);
    }
  });
}

/** run() with check: true: resolves with stdout, rejects with an ExecError. */
export async function runChecked(argv: readonly string[], opts: Omit<ExecOptions, 'check'> = {}): Promise<string> {
  return (await run(argv, { ...opts, check: true })).stdout;
}

/** The synchronous twin of run(), for process 'exit' handlers, where nothing async runs. */
export function runSync(argv: readonly string[], opts: ExecOptions = {}): ExecResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('runSync: empty command');
  const r = spawnSync(cmd, args, {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    env: opts.env ?? process.env,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  const result: ExecResult = { code: exitCode(r.status, r.signal), signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut };
  if (opts.check && result.code !== 0) throw new ExecError(argv, result);
  return result;
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? constants.signals[signal] ?? 0 : 0);
}

/** argv that runs `argv` inside network namespace `ns` (`ip netns exec` execs it: same pid). */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

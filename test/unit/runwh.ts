// Runs the real `wh` CLI (bin/wh.js) as a child process, for tests that check what a user sees.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const WH = join(ROOT, 'bin', 'wh.js');

export interface WhRun { code: number | null; stdout: string; stderr: string }

/** `wh ARGS` with `input` on stdin and `env` added to ours; killed (and rejected) after `timeoutMs`. */
export function runWh(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<WhRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WH, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const guard = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`wh ${args.join(' ')}: timed out`)); }, opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(guard); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

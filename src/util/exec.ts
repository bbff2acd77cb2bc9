// Running the system tools the data plane needs (ip, wg, nft, wireguard-go), optionally inside
// a named network namespace, with errors that say which package to install.
//
// - Tools are looked up on PATH at call time, then in /usr/local/sbin, /usr/sbin and /sbin
//   (`ip` and `nft` live there and a non-root PATH often lacks them). The userspace WireGuard
//   implementation is looked up on PATH only, as wg-quick does.
// - `netns`: `ip` runs as `ip -n NS …`; any other tool as `ip netns exec NS tool …` (which
//   execs the tool, so a spawned child's pid is the tool's own pid).
// - Secrets never go on a command line: pass them through `input` (the child's stdin).
// - Nothing here uses a shell.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** An error from the WireGuard data plane, meant to be shown to the user as is. */
export class WgError extends Error {
  override name = 'WgError';
}

export interface Tool {
  /** Executable name (or absolute path). */
  readonly cmd: string;
  /** Debian package that provides it, named in the "not found" error. */
  readonly pkg: string;
  /** Look also in the sbin directories, not only on PATH. */
  readonly sbin: boolean;
}

export const IP: Tool = { cmd: 'ip', pkg: 'iproute2', sbin: true };
export const WG: Tool = { cmd: 'wg', pkg: 'wireguard-tools', sbin: true };
export const NFT: Tool = { cmd: 'nft', pkg: 'nftables', sbin: true };

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of an executable, or undefined. `cmd` with a '/' is checked as given. */
export function findExecutable(cmd: string, alsoSbin = false): string | undefined {
  if (cmd.includes('/')) return isExecutableFile(cmd) ? (isAbsolute(cmd) ? cmd : join(process.cwd(), cmd)) : undefined;
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  if (alsoSbin) dirs.push(...SBIN_DIRS);
  for (const dir of dirs) {
    const p = join(dir, cmd);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

export function installHint(pkg: string): string {
  return `apt-get install --no-install-recommends ${pkg}`;
}

/** Path of a tool; throws a WgError naming its package when it is missing. */
export function toolPath(tool: Tool): string {
  const p = findExecutable(tool.cmd, tool.sbin);
  if (p === undefined) {
    throw new WgError(`\`${tool.cmd}\` not found (looked on PATH${tool.sbin ? ' and in ' + SBIN_DIRS.join(', ') : ''}): install the ${tool.pkg} package (${installHint(tool.pkg)})`);
  }
  return p;
}

/** The argv that runs `tool args…`, inside `netns` when given. */
export function toolArgv(tool: Tool, args: readonly string[], netns?: string): string[] {
  const path = toolPath(tool);
  if (netns === undefined) return [path, ...args];
  if (tool === IP) return [path, '-n', netns, ...args];
  return [toolPath(IP), 'netns', 'exec', netns, path, ...args];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion (no shell), feeding `input` to stdin. Never rejects for a nonzero
 *  exit status (the caller decides); rejects if the program cannot be started. */
export function runArgv(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 10_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // EPIPE when the tool exits without reading its input
    child.on('close', (code) => {
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs a tool and returns its stdout; throws a WgError with the command and its stderr when
 *  it fails (never its stdout, which may hold keys). Never put secrets in `args` (use `input`).
 *  `secretOutput` (stdout may hold a secret: `wg show dump` starts with the private key) is
 *  kept for its callers; stdout is never quoted for any tool, so one forgotten flag leaks nothing. */
export async function runTool(tool: Tool, args: readonly string[], opts: { netns?: string; input?: string; timeoutMs?: number; secretOutput?: boolean } = {}): Promise<string> {
  const argv = toolArgv(tool, args, opts.netns);
  const r = await runArgv(argv, opts);
  if (r.code !== 0) {
    const shown = (opts.netns !== undefined ? `[netns ${opts.netns}] ` : '') + [tool.cmd, ...args].join(' ');
    // Never stdout: `wg show dump` prints the private key there. Only its size is told.
    const status = `exit status ${r.code ?? 'killed'}`;
    const outBytes = Buffer.byteLength(r.stdout);
    const why = r.stderr.trim() || (outBytes > 0 ? `${status}, nothing on stderr (${outBytes} bytes on stdout, not shown)` : status);
    throw new WgError(`\`${shown}\` failed: ${why}`);
  }
  return r.stdout;
}

/** Like runTool, but returns whether it succeeded instead of throwing. */
export async function tryTool(tool: Tool, args: readonly string[], opts: { netns?: string; input?: string } = {}): Promise<RunResult> {
  return runArgv(toolArgv(tool, args, opts.netns), opts);
}

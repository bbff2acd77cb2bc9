// A terminal for the tests of `wh top` and of shell completion: a private tmux server (its socket in a directory of its
// own), one session running a command, its screen read with `tmux capture-pane -p`, keys sent
// with `send-keys`. Every wait is bounded; kill() ends the server and removes its socket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POLL = 200;

/** One private tmux server (its socket in a directory of its own), one session running a command. */
export class Tmux {
  private readonly dir = mkdtempSync(join(tmpdir(), 'whtop-tmux-'));
  private async tmux(...args: string[]): Promise<string> {
    return (await run('tmux', ['-S', join(this.dir, 'sock'), ...args], { timeout: 10_000 })).stdout;
  }
  /** Starts `command` in an 80x24 window (in `cwd`, else tmux's); when it ends, its exit status is
   *  printed and the pane stays. */
  async start(command: string[], width = 80, height = 24, env: Record<string, string> = {}, cwd?: string): Promise<void> {
    const q = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
    const vars = Object.entries(env).map(([k, v]) => q(`${k}=${v}`)).join(' ');
    // tmux's default TERM inside (tmux-256color); CI=true as in .ci/run, which must not matter.
    await this.tmux('new-session', '-d', '-s', 'top', '-x', String(width), '-y', String(height), ...(cwd ? ['-c', cwd] : []),
      `env CI=true ${vars} ${command.map(q).join(' ')}; echo "the command exited $?"; sleep 600`);
  }
  screen(): Promise<string> { return this.tmux('capture-pane', '-p', '-t', 'top'); }
  async keys(...keys: string[]): Promise<void> { await this.tmux('send-keys', '-t', 'top', ...keys); }
  async resize(width: number, height: number): Promise<void> {
    await this.tmux('resize-window', '-t', 'top', '-x', String(width), '-y', String(height));
  }
  /** The screen once `ok` holds for it, polled; fails with the last screen after `ms`. */
  async waitFor(what: string, ok: (s: string) => boolean, ms: number): Promise<string> {
    const end = Date.now() + ms;
    let s = '';
    while (Date.now() < end) {
      s = await this.screen();
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, POLL));
    }
    assert.fail(`${what}: not seen within ${ms} ms; the screen:\n${s}`);
  }
  /** The server and everything in it ended; its socket (which tmux leaves) removed. */
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

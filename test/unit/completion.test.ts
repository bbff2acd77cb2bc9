// `wh completion bash|zsh` driven as the shells drive it: bash sources the printed script and
// calls its function with COMP_WORDS/COMP_CWORD set, as bash's `complete -F` does, and an
// interactive bash and zsh (with compinit) run in tmux, TAB typed and the screen read with
// capture-pane (a private tmux server). Interfaces come from a
// control directory holding a real control socket (src/control/server.ts) that answers `show`
// like a daemon with peers, networks from a config directory, `wh` from PATH as a user has it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WH } from './runwh.js';
import { Tmux } from './toptmux.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whcomp-'));
const bin = path.join(dir, 'bin'), conf = path.join(dir, 'etc'), ctl = path.join(dir, 'run'), cwd = path.join(dir, 'cwd');
for (const d of [bin, conf, ctl, cwd]) fs.mkdirSync(d);
fs.symlinkSync(WH, path.join(bin, 'wh'));
for (const f of ['lab.conf', 'home.conf', 'notes.txt']) fs.writeFileSync(path.join(conf, f), 'name x\n');
fs.writeFileSync(path.join(ctl, 'notasocket.sock'), '');
fs.writeFileSync(path.join(cwd, 'node.sk'), '');
const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, WH_CONFIG_DIR: conf, WH_CONTROL_DIR: ctl };

/** How long a screen may take to show what a keystroke caused (the machine may be loaded). */
const WAIT_MS = 30_000;

/** An interactive `shell` in a private tmux (100x30, in cwd), with wh on PATH, the test's
 *  directories and prompt `ps1`. */
async function shellTerm(shell: string[], ps1: string, extra: Record<string, string> = {}): Promise<Tmux> {
  const term = new Tmux();
  await term.start(shell, 100, 30, { PATH: env.PATH, WH_CONFIG_DIR: conf, WH_CONTROL_DIR: ctl, PS1: ps1, ...extra }, cwd);
  return term;
}

const FAKE = fileURLToPath(new URL('./fakenode.js', import.meta.url));
let daemon: ChildProcess | undefined;
const script = path.join(dir, 'wh.bash');

before(async () => {
  // The daemon's side in its own process: the shells are run with spawnSync, which blocks this one.
  daemon = spawn(process.execPath, [FAKE, path.join(ctl, 'wh-fake.sock'), 'alpha,bravo,-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => { daemon!.stdout!.once('data', () => res()); daemon!.once('exit', (c) => rej(new Error(`fake node exited ${c}`))); });
  const r = spawnSync(process.execPath, [WH, 'completion', 'bash'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fs.writeFileSync(script, r.stdout);
});
after(async () => {
  if (daemon && daemon.exitCode === null) {
    const gone = new Promise((res) => daemon!.once('exit', res));
    daemon.kill('SIGTERM');
    await gone;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What bash completes for the command line `words` (the last is the word being completed). */
function bash(words: string[], extraEnv: NodeJS.ProcessEnv = {}): { words: string[]; stderr: string } {
  const driver = `source "$SCRIPT" || exit 9
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
_wh
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', driver, 'bash', ...words], { cwd, env: { ...env, SCRIPT: script, ...extraEnv }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return { words: r.stdout.split('\n').filter((w) => w !== '').sort(), stderr: r.stderr };
}
const words = (line: string[], extraEnv?: NodeJS.ProcessEnv) => bash(line, extraEnv).words;

describe('bash', () => {
  test('the script is valid bash; commands; a prefix; options of a command', () => {
    assert.equal(spawnSync('bash', ['-n', script]).status, 0);
    const cmds = words(['wh', '']);
    for (const c of ['up', 'down', 'show', 'reload', 'metrics', 'completion', 'ping', 'invite', 'join']) assert.ok(cmds.includes(c), c);
    assert.ok(!cmds.includes('__complete'), 'the hidden helper is not offered');
    assert.deepEqual(words(['wh', 'sh']), ['show']);
    assert.deepEqual(words(['wh', 'up', '--f']), ['--foreground']);
    assert.deepEqual(words(['wh', 'ping', '--c']), ['--count']);
    assert.deepEqual(words(['wh', '--v']), ['--version']);
    assert.deepEqual(words(['wh', 'completion', '']), ['bash', 'zsh']);
  });

  test('network names from WH_CONFIG_DIR, interfaces from the control directory', () => {
    assert.deepEqual(words(['wh', 'up', '']), ['home', 'lab']);
    assert.deepEqual(words(['wh', 'up', 'l']), ['lab']);
    assert.deepEqual(words(['wh', 'netcheck', '']), ['home', 'lab']);
    assert.deepEqual(words(['wh', 'down', '']), ['home', 'lab', 'wh-fake'], 'a file that is no socket is no interface');
    assert.deepEqual(words(['wh', 'metrics', 'wh']), ['wh-fake']);
    assert.deepEqual(words(['wh', 'reload', '']), ['home', 'lab', 'wh-fake']);
    assert.deepEqual(words(['wh', 'up', '']), ['home', 'lab']);
    assert.deepEqual(words(['wh', 'up', ''], { WH_CONFIG_DIR: path.join(dir, 'none') }), [], 'no config directory: nothing');
  });

  test("wh up's words in pairs, the key file from the file system", () => {
    assert.deepEqual(words(['wh', 'up', 'lab', '']), ['interface', 'listen-port', 'private-key']);
    assert.deepEqual(words(['wh', 'up', 'lab', 'private-key', 'no']), ['node.sk']);
    assert.deepEqual(words(['wh', 'up', 'lab', 'private-key', 'node.sk', '']), ['interface', 'listen-port']);
    assert.deepEqual(words(['wh', 'up', 'lab', 'listen-port', '']), []);
    assert.deepEqual(words(['wh', 'up', 'lab', '--log-file', 'no']), ['node.sk'], 'an option value is a file');
    assert.deepEqual(words(['wh', 'up', 'lab', '--foreground', 'p']), ['private-key'], 'a flag takes no value');
  });

  test('peer names asked of the running node: wh show IFACE PEER, wh ping, -i IFACE', () => {
    assert.deepEqual(words(['wh', 'show', '']), ['all', 'wh-fake']);
    assert.deepEqual(words(['wh', 'show', 'wh-fake', '']), ['all', 'alpha', 'bravo']);
    assert.deepEqual(words(['wh', 'show', 'all', 'wh-fake', 'b']), ['bravo']);
    assert.deepEqual(words(['wh', 'ping', '']), ['alpha', 'bravo']);
    assert.deepEqual(words(['wh', 'ping', '-i', '']), ['wh-fake']);
    assert.deepEqual(words(['wh', 'ping', '-i', 'wh-fake', 'a']), ['alpha']);
    assert.deepEqual(words(['wh', 'resolve', '--interface', 'wh-fake', '']), ['alpha', 'bravo']);
    assert.deepEqual(words(['wh', 'ping', '-c', '']), [], 'the value of --count');
  });

  test('no daemon, or one that never answers: nothing, silently, without hanging', () => {
    const r = bash(['wh', 'ping', ''], { WH_CONTROL_DIR: path.join(dir, 'none') });
    assert.deepEqual(r, { words: [], stderr: '' });
    const mute = path.join(dir, 'mute');
    fs.mkdirSync(mute);
    // A socket that accepts and never answers, in another process (spawnSync blocks this one).
    const child = spawnSync('bash', ['-c', `node -e "require('net').createServer(()=>{}).listen('${mute}/wh-mute.sock'); setTimeout(()=>process.exit(0), 15000)" & sleep 0.5; source "$SCRIPT"; COMP_WORDS=(wh ping ''); COMP_CWORD=2; _wh; printf '%s\\n' "\${COMPREPLY[@]}"; kill %1`],
      { cwd, env: { ...env, SCRIPT: script, WH_CONTROL_DIR: mute }, encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '');
    assert.equal(child.stderr, '');
  });

  test('in tmux: an interactive bash completes on TAB, as a person types', { timeout: 150_000, skip: spawnSync('tmux', ['-V']).error === undefined ? false : 'tmux is not installed' }, async () => {
    const term = await shellTerm(['bash', '--norc', '--noprofile'], 'bash$ ', { INPUTRC: '/dev/null' });
    try {
      await term.keys('source <(wh completion bash) && echo LOADED', 'Enter');
      await term.waitFor('the script loaded', (sc) => /^LOADED$/m.test(sc), WAIT_MS);
      await term.keys('wh sh', 'Tab');
      await term.waitFor('wh sh<TAB> -> wh show', (sc) => /bash\$ wh show$/m.test(sc), WAIT_MS);
      await term.keys('wh-f', 'Tab');
      await term.waitFor('the interface', (sc) => /bash\$ wh show wh-fake$/m.test(sc), WAIT_MS);
      await term.keys('Tab', 'Tab');
      const listed = await term.waitFor('the peers listed on TAB TAB', (sc) => /alpha/.test(sc), WAIT_MS);
      assert.match(listed, /bravo/);
      assert.match(listed, /\ball\b/);
    } finally {
      await term.kill();
    }
  });

  test('wh completion fish is a usage error', () => {
    const r = spawnSync(process.execPath, [WH, 'completion', 'fish'], { env, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no completion for shell 'fish' \(bash or zsh\)/);
  });
});

const zsh = spawnSync('zsh', ['--version']).error === undefined;
const tmux = spawnSync('tmux', ['-V']).error === undefined;

describe('zsh', () => {
  test('the script is valid zsh', { skip: zsh ? false : 'zsh is not installed' }, () => {
    const r = spawnSync(process.execPath, [WH, 'completion', 'zsh'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    fs.writeFileSync(path.join(dir, '_wh'), r.stdout);
    const check = spawnSync('zsh', ['-n', path.join(dir, '_wh')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  test('in tmux: TAB completes a command, lists interfaces, peers and networks', { timeout: 150_000, skip: zsh && tmux ? false : 'needs zsh and tmux' }, async () => {
    const term = await shellTerm(['zsh', '-f'], 'zsh$ ');
    try {
      await term.keys(`autoload -U compinit && compinit -u -D && source <(wh completion zsh) && echo LOADED`, 'Enter');
      await term.waitFor('the script loaded', (sc) => /^LOADED$/m.test(sc), WAIT_MS);
      await term.keys('wh sh', 'Tab');
      await term.waitFor('wh sh<TAB> -> wh show', (sc) => /zsh\$ wh show$/m.test(sc), WAIT_MS);
      await term.keys('wh-f', 'Tab');
      await term.waitFor('the interface', (sc) => /zsh\$ wh show wh-fake$/m.test(sc), WAIT_MS);
      await term.keys('Tab');
      const peers = await term.waitFor('the peers listed', (sc) => /alpha/.test(sc), WAIT_MS);
      assert.match(peers, /bravo/);
      await term.keys('C-c');
      await term.keys('wh down ', 'Tab');
      const listed = await term.waitFor('interfaces and networks listed', (sc) => /lab/.test(sc), WAIT_MS);
      assert.match(listed, /home/);
      assert.match(listed, /wh-fake/);
    } finally {
      await term.kill();
    }
  });
});

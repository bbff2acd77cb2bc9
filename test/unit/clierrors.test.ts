// One style for every `wh` error: "wh: MESSAGE" on stderr, nothing on stdout, exit status 2 for
// a usage error (followed by one "usage: wh COMMAND ..." line) and 1 for a failure (no usage
// line). Includes the errors commander (the argument library) detects itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { runWh, type WhRun as Run } from './runwh.js';

const wh = (args: string[]) => runWh(args, { env: { WH_CONTROL_DIR: '/nonexistent-wirehub-test' }, timeoutMs: 15_000 });


/** A usage error: exit 2, "wh: MESSAGE" first, then exactly one usage line for `command`. */
function assertUsage(r: Run, message: RegExp, command: string): void {
  assert.equal(r.code, 2, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, /^wh: /, `first line is "wh: ..." (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  for (const l of lines) assert.doesNotMatch(l, /^error:/, `commander's own style leaks: ${r.stderr}`);
  const usage = lines.filter((l) => l.startsWith('usage: '));
  assert.equal(usage.length, 1, `one usage line (stderr: ${r.stderr})`);
  assert.match(usage[0]!, new RegExp(`^usage: wh ${command.replace(/[[\]]/g, '\\$&')}( |$)`));
  assert.equal(lines[lines.length - 1], usage[0], 'the usage line comes last');
}

/** A failure: exit 1, one "wh: ..." message, no usage line. */
function assertFailure(r: Run, message: RegExp): void {
  assert.equal(r.code, 1, `exit status (stderr: ${r.stderr})`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^wh: /);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^usage: /m);
}

describe('wh error style', { concurrency: true }, () => {
  test("commander's errors: missing argument, unknown option, too many arguments", async () => {
    const [reload, show, up, check, pubkey, genkey] = await Promise.all([
      wh(['reload']), wh(['show', '--jsn']), wh(['up']), wh(['check']), wh(['pubkey', 'extra']), wh(['genkey', '--workbit']),
    ]);
    assertUsage(reload, /^wh: missing required argument 'iface'\n/, 'reload');
    assertUsage(show, /^wh: unknown option '--jsn'\n/, 'show');
    assert.match(show.stderr, /Did you mean --json\?/);
    assertUsage(up, /^wh: missing required argument 'config'\n/, 'up');
    assertUsage(check, /^wh: missing required argument 'file'\n/, 'check');
    assertUsage(pubkey, /^wh: too many arguments for 'pubkey'/, 'pubkey');
    assertUsage(genkey, /^wh: option '--workbit <n>' argument missing\n/i, 'genkey');
  });

  test('an unknown command or option of wh itself', async () => {
    const [cmd, opt] = await Promise.all([wh(['frobnicate']), wh(['--frob'])]);
    assertUsage(cmd, /^wh: unknown command 'frobnicate'\n/, '<command>');
    assertUsage(opt, /^wh: unknown option '--frob'\n/, '<command>');
  });

  test("wh's own usage errors carry the same usage line", async () => {
    const [upWords, upBad, show, workbit] = await Promise.all([
      wh(['up', 'x.conf', 'private-key']), wh(['up', 'x.conf', 'private-key', 'k', 'colour', 'red']),
      wh(['show', 'a', 'b', 'c']), wh(['genkey', '--workbit', 'abc']),
    ]);
    assertUsage(upWords, /^wh: 'private-key' needs a value\n/, 'up NAME|CONFIG [private-key FILE]');
    assertUsage(upBad, /^wh: unknown argument 'colour'\n/, 'up NAME|CONFIG [private-key FILE]');
    assertUsage(show, /^wh: unexpected argument 'c'\n/, 'show');
    assertUsage(workbit, /^wh: --workbit must be an integer from 0 to 256, got "abc"\n/, 'genkey');
  });

  test('failures: exit 1, no usage line', async () => {
    const [check, reload] = await Promise.all([wh(['check', '/nonexistent/net.conf']), wh(['reload', 'whtestnone0'])]);
    assertFailure(check, /^wh: \/nonexistent\/net\.conf: /);
    assertFailure(reload, /^wh: reload of whtestnone0 not sent: /);
  });

  test('help and version are not errors', async () => {
    const [help, version, sub] = await Promise.all([wh(['--help']), wh(['--version']), wh(['reload', '--help'])]);
    for (const r of [help, version, sub]) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
    assert.match(sub.stdout, /^Usage: wh reload/);
  });
});

// A system tool that fails without a word on stderr (`wg show dump` cut off by a signal, a
// wrapper that reports on stdout): the error must not quote its stdout, which for `wg show
// dump` starts with the interface's private key. Against the real WgToolControl/runTool, with a
// `wg` on PATH (a script in a temporary directory) that prints a dump line and exits 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WgToolControl } from '../../src/wg/wgtool.js';
import { WgError } from '../../src/util/exec.js';

test('a failing `wg show dump` with an empty stderr: the error quotes none of its stdout (the private key)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-tool-test-'));
  const priv = randomBytes(32).toString('base64');
  const pub = randomBytes(32).toString('base64');
  writeFileSync(join(dir, 'wg'), `#!/bin/sh\nprintf '%s\\t%s\\t51820\\toff\\n' '${priv}' '${pub}'\nexit 1\n`);
  chmodSync(join(dir, 'wg'), 0o755);
  const oldPath = process.env['PATH'];
  process.env['PATH'] = `${dir}:${oldPath ?? ''}`;
  try {
    const err = await new WgToolControl('whtest0').dump().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WgError, `the failure is a WgError (got ${String(err)})`);
    assert.match(err.message, /`wg show whtest0 dump` failed: exit status 1/);
    assert.match(err.message, /\d+ bytes on stdout, not shown/, 'it says how much it printed instead');
    for (const secret of [priv, priv.slice(0, 12), pub]) {
      assert.ok(!err.message.includes(secret), `no part of the dump in the error (found ${secret} in ${JSON.stringify(err.message)})`);
    }
  } finally {
    process.env['PATH'] = oldPath;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing tool with a message on stderr: the error still says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-tool-test-'));
  const priv = randomBytes(32).toString('base64');
  writeFileSync(join(dir, 'wg'), `#!/bin/sh\necho '${priv}'\necho 'Unable to access interface: No such device' >&2\nexit 1\n`);
  chmodSync(join(dir, 'wg'), 0o755);
  const oldPath = process.env['PATH'];
  process.env['PATH'] = `${dir}:${oldPath ?? ''}`;
  try {
    const err = await new WgToolControl('whtest0').dump().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WgError);
    assert.match(err.message, /failed: Unable to access interface: No such device/);
    assert.ok(!err.message.includes(priv), 'stdout is not shown');
  } finally {
    process.env['PATH'] = oldPath;
    rmSync(dir, { recursive: true, force: true });
  }
});

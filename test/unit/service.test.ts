// The systemd unit template (systemd/wh@.service) and `wh install-service`: the unit written
// names this wh absolutely, is otherwise the template line for line, and passes
// `systemd-analyze verify` (with no warning) as a template instance; --print prints the same;
// a directory that cannot be written is said so. What the unit runs (wh up --foreground, SIGTERM,
// wh reload NAME) is tested end to end in test/e2e/service.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runWh, WH } from './runwh.js';
import { unitText } from '../../src/cli/commands/service.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whunit-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const TEMPLATE = fs.readFileSync(path.join(ROOT, 'systemd', 'wh@.service'), 'utf8');
const analyze = spawnSync('systemd-analyze', ['--version']).error === undefined;

test('wh install-service writes the template with this wh in ExecStart and ExecReload', async () => {
  const r = await runWh(['install-service', '--unit-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(dir, 'wh@.service');
  assert.match(r.stdout, new RegExp(`^wrote ${file.replace(/[.@]/g, '\\$&')} `));
  assert.match(r.stdout, /systemctl enable --now wh@NAME/);
  assert.equal(fs.statSync(file).mode & 0o777, 0o644);
  const text = fs.readFileSync(file, 'utf8');
  const exec = (key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`));
  assert.equal(exec('ExecStart'), `ExecStart=${process.execPath} ${WH} up %i --foreground`);
  assert.equal(exec('ExecReload'), `ExecReload=${process.execPath} ${WH} reload %i`);
  // Every other line is the template's.
  const other = (t: string) => t.split('\n').filter((l) => !/^Exec(Start|Reload)=/.test(l));
  assert.deepEqual(other(text), other(TEMPLATE));
  for (const line of ['KillSignal=SIGTERM', 'KillMode=mixed', 'ConditionPathExists=/etc/wirehub/%i.conf', 'Restart=on-failure', 'WantedBy=multi-user.target']) {
    assert.ok(text.split('\n').includes(line), line);
  }
  const printed = await runWh(['install-service', '--print']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, text);
});

test('a path with a space is quoted in ExecStart', () => {
  const t = unitText(TEMPLATE, '/opt/my node/bin/node', '/srv/wh.js');
  assert.ok(t.includes('ExecStart="/opt/my node/bin/node" /srv/wh.js up %i --foreground'), t);
});

test('systemd-analyze verify passes on the installed unit, as a template instance, without a warning', { skip: analyze ? false : 'systemd-analyze is not installed (Debian package systemd)' }, async () => {
  const r = await runWh(['install-service', '--unit-dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  const instance = path.join(dir, 'wh@lab.service');
  fs.copyFileSync(path.join(dir, 'wh@.service'), instance);
  for (const unit of [path.join(dir, 'wh@.service'), instance]) {
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(v.status, 0, v.stderr);
    // verify exits 0 on an unknown key or a bad value, only warning: none may name our unit.
    assert.equal(v.stderr.split('\n').filter((l) => l.includes('wh@')).join('\n'), '');
  }
  // ...which it does say for a broken unit (so the check above can fail).
  const broken = path.join(dir, 'wh@bad.service');
  fs.writeFileSync(broken, fs.readFileSync(instance, 'utf8').replace('KillMode=mixed', 'KillMode=bogus'));
  const v = spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8', timeout: 60_000 });
  assert.match(v.stderr, /wh@bad\.service:\d+: Failed to parse kill mode/);
});

test('a unit directory that cannot be written: the reason, exit 1', async () => {
  const r = await runWh(['install-service', '--unit-dir', path.join(dir, 'missing', 'deeper')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^wh: cannot write .*missing\/deeper\/wh@\.service: /);
});

// What the systemd unit runs, run as systemd would run it (there is no systemd as PID 1 here):
// the ExecStart of the unit `wh install-service` writes, with %i the network's name, in a
// micronet namespace; its ExecReload; then its KillSignal to the main process, after which the
// node must have removed everything and exited 0 (a success for systemd) within TimeoutStopSec.
// The only difference from systemd: WH_CONFIG_DIR points `wh up NAME` at a temporary directory
// instead of /etc/wirehub. Every wait is bounded; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { WH, WhNet } from './whnet.js';
import { ROOT } from '../unit/runwh.js';
import { unitText } from '../../src/cli/commands/service.js';
import { interfaceNameForKey } from '../../src/wg/index.js';

test('the unit: ExecStart brings the node up by name, ExecReload reloads it, KillSignal stops it cleanly with status 0', { timeout: 90_000 }, async () => {
  const name = `svc${process.pid % 10000}`;
  const w = await WhNet.create(name);
  try {
    const node = await w.addPublicNode('boot', 'boot');
    w.writeConfigs([]);
    const etc = fs.mkdtempSync(path.join(w.dir, 'etc-'));
    fs.copyFileSync(w.bootConfigFile, path.join(etc, `${name}.conf`));
    fs.copyFileSync(node.keyFile, path.join(etc, `${name}.sk`));
    fs.chmodSync(path.join(etc, `${name}.sk`), 0o600);
    const unit = unitText(fs.readFileSync(path.join(ROOT, 'systemd', 'wh@.service'), 'utf8'), process.execPath, WH);
    const key = (k: string) => unit.split('\n').filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
    const argv = (k: string) => key(k)[0]!.replaceAll('%i', name).split(' ');
    assert.deepEqual(key('KillSignal'), ['SIGTERM']);
    const stopWithin = Number(key('TimeoutStopSec')[0]) * 1000;
    const env = { ...process.env, WH_CONFIG_DIR: etc };

    const start = argv('ExecStart');
    const daemon = w.net.spawn(node.host, start[0]!, start.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env });
    let log = '';
    daemon.stderr?.on('data', (d: Buffer) => { if (log.length < 100_000) log += d.toString(); });
    const exited = new Promise<number | null>((res) => daemon.once('exit', (code) => res(code)));
    const iface = interfaceNameForKey(node.publicKey);
    const sock = `/var/run/wirehub/${iface}.sock`;
    for (let i = 0; i < 300 && !fs.existsSync(sock); i++) {
      if (daemon.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(fs.existsSync(sock), `ExecStart brought the node up: ${log}`);

    const reload = argv('ExecReload');
    const r = await w.net.exec(node.host, reload, { timeoutMs: 20_000, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${iface}: no change\n`, 'reloaded by network name: the interface it names');

    // systemd's stop: KillSignal to the main process (KillMode=mixed), then it waits.
    const t0 = Date.now();
    process.kill(daemon.pid!, 'SIGTERM');
    const code = await Promise.race([exited, new Promise<'late'>((res) => setTimeout(() => res('late'), stopWithin))]);
    assert.equal(code, 0, `exit status after SIGTERM (${Date.now() - t0} ms): ${log}`);
    process.stdout.write(`stopped by SIGTERM in ${Date.now() - t0} ms\n`);
    assert.ok(!fs.existsSync(sock), 'the control socket is removed');
    assert.match(log, new RegExp(`${iface}: down`));
  } finally {
    await w.destroy();
  }
});

// The synchronous last resort of a dying daemon (removeLeftoversSync, src/daemon/system.ts)
// removes only what it verified is its own: a userspace WireGuard socket of the interface's
// name served by a process in another network namespace (another node's, a hand-made one) is
// neither killed nor unlinked. Root: the other server runs under `unshare -n`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { removeLeftoversSync } from '../../src/daemon/system.js';
import { socketPath as wgSocketPath } from '../../src/wg/uapi.js';
import { socketAccepts } from '../../src/util/unixsocket.js';
import { waitFor } from './traces.js';


/** A process serving `file` (as wireguard-go serves its UAPI socket), in a new network
 *  namespace when `otherNetns`. */
function serve(file: string, otherNetns: boolean): ChildProcess {
  const js = `require('net').createServer((c) => c.end()).listen(${JSON.stringify(file)})`;
  const argv = otherNetns ? ['unshare', '-n', process.execPath, '-e', js] : [process.execPath, '-e', js];
  return spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
}

test('the last resort neither kills nor unlinks a WireGuard socket served from another network namespace', { timeout: 30_000 }, async () => {
  const name = `whls${process.pid % 100000}`;
  const file = wgSocketPath(name);
  fs.mkdirSync('/var/run/wireguard', { recursive: true });
  const other = serve(file, true);
  try {
    assert.ok(await waitFor(() => socketAccepts(file), 5000), 'the other namespace serves the socket');
    const done = removeLeftoversSync(name);
    assert.ok(other.exitCode === null && other.signalCode === null, 'its server still runs');
    assert.ok(fs.existsSync(file), `its socket file is still there (the last resort did: ${done.join(', ')})`);
    assert.ok(await socketAccepts(file), 'and still accepts');
    assert.ok(!done.some((d) => d.includes(file)), `nothing claims to have removed it (${done.join(', ')})`);
  } finally {
    await stop(other);
    fs.rmSync(file, { force: true });
  }
});

test('the last resort still kills a WireGuard server of its own namespace and removes a stale socket', { timeout: 30_000 }, async () => {
  const name = `whlt${process.pid % 100000}`;
  const file = wgSocketPath(name);
  fs.mkdirSync('/var/run/wireguard', { recursive: true });
  const own = serve(file, false);
  try {
    assert.ok(await waitFor(() => socketAccepts(file), 5000));
    const exited = new Promise((r) => own.once('exit', r));
    const done = removeLeftoversSync(name);
    await exited;
    assert.equal(own.signalCode, 'SIGKILL', 'the server of our namespace was killed');
    assert.ok(!fs.existsSync(file), `its socket was removed (${done.join(', ')})`);
    // A socket file nobody serves any more (its server died) is removed too.
    fs.writeFileSync(file, ''); // a socket file its dead server left behind
    const again = removeLeftoversSync(name);
    assert.ok(!fs.existsSync(file), `the stale socket file was removed (${again.join(', ')})`);
  } finally {
    await stop(own);
    fs.rmSync(file, { force: true });
  }
});

// A real ControlServer in its own process answering `show` like a daemon with the peers named in
// argv[3] (comma-separated; "-" for a peer without a name), for tests whose other side blocks
// (spawnSync of a shell: test/unit/completion.test.ts). Listens on argv[2], prints "ready".
import { ControlServer } from '../../src/control/server.js';

const file = process.argv[2]!;
const iface = file.replace(/^.*\//, '').replace(/\.sock$/, '');
const peers = (process.argv[3] ?? '').split(',').filter((n) => n !== '').map((n) => ({
  name: n === '-' ? null : n, key: 'k', ipv4: null, ipv6: null, path: 'direct', since: 0, rttMs: null, lastHandshake: null, rxBytes: 0, txBytes: 0,
}));
const server = await ControlServer.listen(file, async (req) => (req.cmd === 'show' ? { interface: iface, peers } : {}));
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

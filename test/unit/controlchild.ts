// A real ControlServer in its own process, for control.test.ts to measure its descriptors and
// memory from /proc: listens on argv[2], answers `show` with a small object, prints "ready".
import { ControlServer } from '../../src/control/server.js';

const server = await ControlServer.listen(process.argv[2]!, async (req) => ({ echo: req.cmd }));
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));

// A fake daemon for trying `wh top` by hand and for test/unit/topcli.test.ts: control sockets
// in WH_CONTROL_DIR answering `show` with bench/topfake.ts's node of N peers, the counters
// growing by the second.   WH_CONTROL_DIR=/tmp/x node dist/bench/topdaemon.js IFACE [N]
import { join } from 'node:path';
import { ControlServer } from '../src/control/server.js';
import { controlDir } from '../src/control/protocol.js';
import { fakeShow } from './topfake.js';

const iface = process.argv[2] ?? 'whtop0';
const n = Number(process.argv[3] ?? 50);
const t0 = Date.now();
const server = await ControlServer.listen(join(controlDir(), `${iface}.sock`), async (req) => {
  if (req.cmd !== 'show') throw new Error('only show');
  const tick = Math.floor((Date.now() - t0) / 1000);
  return { ...fakeShow(n, tick, Date.now() / 1000), interface: iface };
});
process.stdout.write(`ready ${iface}\n`);
const stop = (): void => { void server.close().then(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

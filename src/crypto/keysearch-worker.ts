// Worker thread of searchKey() (keysearch.ts): searches until it finds a key, reporting the number
// of tries to the parent about every `reportMs`. The parent terminates it when done.
import { parentPort, workerData } from 'node:worker_threads';
import { KeySearchCore, type WorkerMessage, type WorkerParams } from './keysearch.js';
import { sodiumReady } from './sodium.js';

const port = parentPort;
if (port === null) throw new Error('keysearch-worker.js must run as a worker thread');
const params = workerData as WorkerParams;
const core = new KeySearchCore(await sodiumReady(), params.namespace);
const post = (m: WorkerMessage) => port.postMessage(m);

let unreported = 0;
let lastReport = performance.now();
for (;;) {
  const r = core.batch(params.minWorkbit);
  unreported += r.tries;
  if (r.secret && r.public) {
    post({ type: 'found', tries: unreported, secret: r.secret, public: r.public });
    break;
  }
  const now = performance.now();
  if (now - lastReport >= params.reportMs) {
    post({ type: 'progress', tries: unreported });
    unreported = 0;
    lastReport = now;
  }
}
core.dispose();
// Stay alive until the parent terminates us, so that an exit can never overtake the 'found' message
// (the parent treats any exit before its stop() as a failure).
port.on('message', () => {});

#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const dist = (p) => new URL(`../dist/src/${p}`, import.meta.url);
if (!existsSync(fileURLToPath(dist('cli/wh.js')))) {
  process.stderr.write('wh: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(1);
}
// A daemon's process (`wh up ... --foreground`, also what a detached `wh up` forks) sizes its
// V8 heap before anything else loads (src/util/heap.ts) and loads only the daemon's modules
// (src/cli/daemonmain.ts); every other command goes through the whole CLI.
const heap = await import(dist('util/heap.js').href);
if (heap.isDaemonArgv(process.argv)) {
  heap.sizeHeapForDaemon();
  const { daemonMain } = await import(dist('cli/daemonmain.js').href);
  await daemonMain(process.argv);
} else {
  const { main } = await import(dist('cli/wh.js').href);
  await main(process.argv);
}

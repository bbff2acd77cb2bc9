#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const dist = (p) => new URL(`../dist/src/${p}`, import.meta.url);
const entry = dist('cli/wh.js');
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wh: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(1);
}
// A daemon's process sizes its V8 heap before anything else loads (src/util/heap.ts).
const heap = await import(dist('util/heap.js').href);
if (heap.isDaemonArgv(process.argv)) heap.sizeHeapForDaemon();
const { main } = await import(entry.href);
await main(process.argv);

#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm run build`
// (run automatically by `npm ci` / `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = new URL('../dist/src/cli/wh.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wh: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(1);
}
// What the completion scripts run at each TAB: only its own module, not the whole CLI.
if (process.argv[2] === '__complete') {
  const { completeMain } = await import(new URL('../dist/src/cli/completion/peers.js', import.meta.url).href);
  await completeMain(process.argv.slice(3));
  process.exit(0);
}
const { main } = await import(entry.href);
await main(process.argv);

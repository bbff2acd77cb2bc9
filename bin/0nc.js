#!/usr/bin/env node
// `0nc [INVITATION] [--boot-config FILE]` is `wh nc ...` (src/cli/commands/nc.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = new URL('../dist/src/cli/wh.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('0nc: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main([process.argv[0], process.argv[1], 'nc', ...process.argv.slice(2)]);

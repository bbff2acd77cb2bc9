// The docs say what the code does: claims in README.md and docs/ checked against the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir))) {
    const p = join(dir, e);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every runtime dependency in package.json is imported by the code', () => {
  const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
  const code = ['src', 'test', 'bench'].flatMap(sources).map(read).join('\n');
  for (const dep of Object.keys(pkg.dependencies)) {
    assert.match(code, new RegExp(`from '${dep}(/[^']*)?'|import\\('${dep}'\\)`), `${dep} is a dependency nobody imports`);
  }
});

test("the README's layout names only directories that exist", () => {
  const readme = read('README.md');
  const layout = readme.slice(readme.indexOf('- Layout:'), readme.indexOf('\n- ', readme.indexOf('- Layout:') + 1));
  const dirs = [...layout.matchAll(/`([a-z][a-z0-9/]*\/?)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
  assert.ok(dirs.length > 5, `the layout lists directories (${dirs.join(' ')})`);
  for (const d of dirs) assert.ok(existsSync(join(ROOT, d)), `README layout names ${d}, which does not exist`);
});

test("the README's demo describes the paths `wh show` prints", () => {
  const readme = read('README.md');
  const demo = readme.slice(readme.indexOf('`npm run demo`'), readme.indexOf('`npm test` runs'));
  // wh show's path values (src/cli/commands/show.ts colours each of them).
  const shown = read('src/cli/commands/show.ts');
  for (const p of ['direct', 'relay']) assert.match(shown, new RegExp(`p\\.path === '${p}'`));
  assert.match(demo, /`direct`/);
  assert.match(demo, /`relay`/);
  assert.doesNotMatch(demo, /prints the path each pair uses: direct, punched/, 'the demo prints no "punched" or "UPnP" path');
});

test('docs/NAT.md does not call the checked direct claims a known gap', () => {
  const nat = read('docs/NAT.md');
  assert.match(nat, /## Verifying direct claims/);
  assert.doesNotMatch(nat, /Known gap: another node's claim to be directly reachable is taken as it is/);
});

test('the README says when `wg` is needed, as src/wg/backend.ts does', () => {
  const backend = read('src/wg/backend.ts');
  // `wg` is looked up only on the kernel path; wireguard-go is driven over UAPI.
  assert.match(backend, /kernelWireGuardAvailable[\s\S]{0,200}toolPath\(WG\)/);
  const readme = read('README.md');
  const at = readme.indexOf('## Requirements');
  const req = readme.slice(at, readme.indexOf('\n## ', at + 1));
  assert.doesNotMatch(req, /else `wireguard-go`, plus `wireguard-tools` \(`wg`\)/, 'README says wg is always required');
  assert.match(req, /no `wg` needed/);
});

test('docs/NODE.md "Where things live" names every file under src/, and only files that exist', () => {
  const node = read('docs/NODE.md');
  const start = node.indexOf('\n## Where things live\n');
  assert.ok(start >= 0, 'docs/NODE.md has a section "Where things live"');
  const section = node.slice(start, node.indexOf('\n## ', start + 1));
  // The tables' first cells: | `src/FOLDER/FILE.ts` | lines | job |
  const listed = [...section.matchAll(/^\| `(src\/[^`]+\.ts)` \|/gm)].map((m) => m[1]!);
  assert.ok(listed.length > 50, `files listed: ${listed.length}`);
  const missing = listed.filter((f) => !existsSync(join(ROOT, f)));
  assert.deepEqual(missing, [], 'listed in docs/NODE.md "Where things live" but gone: remove their rows');
  const unlisted = sources('src').filter((f) => !listed.includes(f));
  assert.deepEqual(unlisted, [], 'not in docs/NODE.md "Where things live": add a row (file, `wc -l`, its job) to its folder\'s table');
});

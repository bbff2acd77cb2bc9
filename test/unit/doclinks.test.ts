// Cross-references between the docs resolve: every relative markdown link in README.md and
// docs/*.md names a file that exists and, with a #fragment, a heading of that file (GitHub's
// anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const slug = m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

test('every relative link in README.md and docs/*.md resolves, anchors included', () => {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let checked = 0;
  const broken: string[] = [];
  for (const file of files) {
    const text = read(file).replace(/```[\s\S]*?```/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1]!;
      if (/^[a-z]+:/.test(href)) continue; // http:, https:, mailto:
      const [path, fragment] = href.split('#') as [string, string | undefined];
      const target = path === '' ? file : normalize(join(dirname(file), path));
      checked++;
      if (!existsSync(join(ROOT, target))) { broken.push(`${file}: ${href} (no ${target})`); continue; }
      if (fragment !== undefined && target.endsWith('.md') && !anchors(read(target)).has(fragment)) {
        broken.push(`${file}: ${href} (no heading #${fragment} in ${target})`);
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 10, `links checked: ${checked}`);
});

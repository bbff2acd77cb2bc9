// docs/PROTOCOL.md section 10 checked against src/params.ts (and the wire-format modules), so
// that the spec's limits are never copied by hand: every constant the section names exists
// with the value it states, and every constant params.ts marks `// @protocol` (a value another
// implementation must honour, docs/DECISIONS.md) is listed there. Constants without the mark are
// the reference implementation's own; where docs/NODE.md or docs/NAT.md list them, their values
// are checked too, and so is every "`NAME` = value" in the prose of those three files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as params from '../../src/params.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const values = params as unknown as Record<string, number | string>;

/** Constants src/params.ts (its files in src/params/) marks as protocol: `export const NAME = ...; // @protocol`. */
function protocolConstants(): string[] {
  const text = readdirSync(join(ROOT, 'src/params')).filter((f) => f.endsWith('.ts')).map((f) => read(`src/params/${f}`)).join('\n');
  return [...text.matchAll(/^export const ([A-Z][A-Z0-9_]*)\b[^\n]*\/\/\s*@protocol\b/gm)].map((m) => m[1]!);
}

/** The text of a markdown section, from its heading to the next heading of the same or a higher level. */
function section(doc: string, heading: RegExp): string {
  const m = heading.exec(doc);
  assert.ok(m, `no heading ${heading}`);
  const level = /^#+/.exec(m[0])![0].length;
  const rest = doc.slice(m.index + m[0].length);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

interface Row { name: string; value: string; line: string }

/** Table rows whose first cell is one constant in backticks: `| \`NAME\` | value | ... |`. */
function constantRows(text: string): Row[] {
  return [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|.*$/gm)].map((m) => ({ name: m[1]!, value: m[2]!.trim(), line: m[0] }));
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, KiB: 1024, MiB: 1 << 20 };

/** A stated value: a number with an optional unit (ms, s, min, KiB, MiB), or a string in backticks.
 *  Times are compared in ms, except for constants whose name ends in _SECONDS (compared in s). */
function stated(name: string, cell: string): number | string | undefined {
  const str = /^`([^`]*)`$/.exec(cell);
  if (str) return str[1];
  const num = /^(\d[\d,]*(?:\.\d+)?) ?(ms|s|min|KiB|MiB)?$/.exec(cell);
  if (!num) return undefined;
  const n = Number(num[1]!.replace(/,/g, ''));
  const unit = num[2];
  if (unit === undefined) return n;
  if (name.endsWith('_SECONDS') && unit === 's') return n;
  return n * UNITS[unit]!;
}

const protocolDoc = read('docs/PROTOCOL.md');
const limits = section(protocolDoc, /^### 10\.1 .*$/m);

test('PROTOCOL.md 10.1: every row names a params.ts constant, in a checkable format, with its value', () => {
  const rows = constantRows(limits);
  assert.ok(rows.length >= 30, `section 10.1 lists the protocol's constants (${rows.length} rows)`);
  // Any other table row in 10.1 would be a constant the test cannot read.
  for (const line of limits.split('\n').filter((l) => l.startsWith('| `'))) {
    assert.ok(rows.some((r) => r.line === line), `not of the form | \`NAME\` | value | meaning |: ${line}`);
  }
  const seen = new Set<string>();
  for (const r of rows) {
    assert.ok(!seen.has(r.name), `${r.name} is listed twice`);
    seen.add(r.name);
    assert.ok(r.name in values, `section 10.1 lists ${r.name}, which src/params.ts does not define`);
    const v = stated(r.name, r.value);
    assert.ok(v !== undefined, `${r.name}: value "${r.value}" is not a number with a unit (ms, s, min, KiB, MiB) or a \`string\``);
    assert.equal(v, values[r.name], `${r.name}: PROTOCOL.md says ${r.value}, src/params.ts has ${String(values[r.name])}`);
  }
});

test('PROTOCOL.md 10.1 lists exactly the constants src/params.ts marks // @protocol', () => {
  const marked = protocolConstants();
  assert.ok(marked.length >= 30, `params.ts marks its protocol constants (${marked.length})`);
  for (const name of marked) assert.ok(name in values, `${name} is marked but not exported`);
  const listed = constantRows(limits).map((r) => r.name);
  const missing = marked.filter((n) => !listed.includes(n));
  assert.deepEqual(missing, [], 'marked @protocol in src/params.ts but missing from PROTOCOL.md section 10.1');
  const unmarked = listed.filter((n) => !marked.includes(n));
  assert.deepEqual(unmarked, [], 'listed in PROTOCOL.md section 10.1 but not marked @protocol in src/params.ts (implementation-only: list it in docs/NODE.md or docs/NAT.md)');
});

test('the fixed format constants of PROTOCOL.md 10.3 match the modules that define them', async () => {
  const fixed = section(protocolDoc, /^### 10\.3 .*$/m);
  const rows = [...fixed.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \| `(src\/[a-z/]+)\.ts` \|.*$/gm)];
  assert.ok(rows.length >= 15, `rows: ${rows.length}`);
  for (const [, name, cell, file] of rows) {
    const mod = await import(`../../${file}.js`) as Record<string, unknown>;
    assert.ok(name! in mod, `${file}.ts does not export ${name}`);
    const v = /^0x[0-9a-f]+$/i.test(cell!.trim()) ? Number(cell!.trim()) : stated(name!, cell!.trim());
    assert.equal(v, mod[name!], `${name}: PROTOCOL.md says ${cell!.trim()}, ${file}.ts has ${String(mod[name!])}`);
  }
});

test('implementation constants listed in docs/NODE.md and docs/NAT.md have the values of src/params.ts', () => {
  let n = 0;
  for (const doc of ['docs/NODE.md', 'docs/NAT.md']) {
    for (const r of constantRows(read(doc))) {
      if (!(r.name in values)) continue; // a row about something else (a counter, a field)
      n++;
      const v = stated(r.name, r.value);
      assert.ok(v !== undefined, `${doc}: ${r.name}: value "${r.value}" is not checkable`);
      assert.equal(v, values[r.name], `${doc}: ${r.name} is ${r.value} there, ${String(values[r.name])} in src/params.ts`);
    }
  }
  assert.ok(n >= 20, `rows checked: ${n}`);
});

test('every "`NAME` = value" in the prose of PROTOCOL.md, NODE.md and NAT.md states the value of src/params.ts', () => {
  let n = 0;
  const prose = ['docs/PROTOCOL.md', 'docs/NODE.md', 'docs/NAT.md'].map(read).join('\n');
  // Not after an operator: in "1200 − `PING_PAD_TO` = 1040" the value is the expression's.
  for (const m of prose.matchAll(/(?<![+−×*/-] )`([A-Z][A-Z0-9_]*)` = (\d[\d,]*(?:\.\d+)?)(?: (ms|s|min|KiB|MiB)\b)?/g)) {
    const name = m[1]!;
    if (!(name in values)) continue;
    n++;
    const v = stated(name, m[3] ? `${m[2]} ${m[3]}` : m[2]!.replace(/,$/, ''));
    assert.equal(v, values[name], `the docs say "${m[0]}", src/params.ts has ${String(values[name])}`);
  }
  assert.ok(n >= 40, `prose values checked: ${n}`);
});

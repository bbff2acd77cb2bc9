// A small JSON Schema (draft 2020-12) checker for the subset docs/wh-json.schema.json uses:
// type, const, enum, pattern, minimum, maximum, format date-time, properties, required,
// additionalProperties: false, items, oneOf, local $ref. Unknown keywords are an error, so the
// schema cannot silently use one this checker ignores. Returns the list of problems.
type Schema = Record<string, unknown>;

const KNOWN = new Set(['$schema', '$id', 'title', 'description', '$defs', 'type', 'const', 'enum', 'pattern', 'minimum', 'maximum',
  'format', 'properties', 'required', 'additionalProperties', 'items', 'oneOf', '$ref']);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function validate(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const check = (s: Schema, v: unknown, at: string): void => {
    for (const k of Object.keys(s)) if (!KNOWN.has(k)) errors.push(`${at}: the schema uses "${k}", which this checker does not know`);
    if (typeof s.$ref === 'string') {
      const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
      const target = m ? (root.$defs as Record<string, Schema> | undefined)?.[m[1]!] : undefined;
      if (target === undefined) { errors.push(`${at}: unresolved $ref ${s.$ref}`); return; }
      check(target, v, at);
    }
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type as string[] : [s.type as string];
      const t = typeOf(v);
      if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) { errors.push(`${at}: expected ${types.join(' or ')}, got ${t}`); return; }
    }
    if ('const' in s && v !== s.const) errors.push(`${at}: expected ${JSON.stringify(s.const)}, got ${JSON.stringify(v)}`);
    if (Array.isArray(s.enum) && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
    if (typeof v === 'string') {
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) errors.push(`${at}: ${JSON.stringify(v)} does not match ${s.pattern}`);
      if (s.format === 'date-time' && (!ISO.test(v) || Number.isNaN(Date.parse(v)))) errors.push(`${at}: ${JSON.stringify(v)} is not an ISO 8601 date-time`);
    }
    if (typeof v === 'number') {
      if (typeof s.minimum === 'number' && v < s.minimum) errors.push(`${at}: ${v} < ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) errors.push(`${at}: ${v} > ${s.maximum}`);
    }
    if (typeOf(v) === 'object') {
      const o = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in o)) errors.push(`${at}: missing "${r}"`);
      for (const [k, x] of Object.entries(o)) {
        if (props[k] !== undefined) check(props[k]!, x, `${at}.${k}`);
        else if (s.additionalProperties === false) errors.push(`${at}: unexpected field "${k}"`);
      }
    }
    if (Array.isArray(v) && s.items !== undefined) v.forEach((x, i) => check(s.items as Schema, x, `${at}[${i}]`));
    if (Array.isArray(s.oneOf)) {
      const fits = (s.oneOf as Schema[]).map((alt) => {
        const saved = errors.length;
        check(alt, v, at);
        const ok = errors.length === saved;
        const found = errors.splice(saved);
        return { ok, found };
      });
      const n = fits.filter((f) => f.ok).length;
      if (n !== 1) errors.push(`${at}: matches ${n} of the oneOf alternatives${n === 0 ? ` (${fits.map((f) => f.found[0]).join('; ')})` : ''}`);
    }
  };
  check(root, value, '$');
  return errors;
}

// The real Prometheus text-format parser: Debian's python3-prometheus-client
// (prometheus_client.parser.text_string_to_metric_families), run on a text, its families back
// as JSON. Used by the metrics tests (unit and e2e); .ci/run installs the package.
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3'; // Debian's python, where Debian's package installs

const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": None if math.isnan(s.value) else s.value} for s in f.samples]})
print(json.dumps(out))
`;

export interface PromSample { name: string; labels: Record<string, string>; value: number | null }
export interface PromFamily { name: string; type: string; help: string; samples: PromSample[] }

/** Why the parser cannot run here, or undefined when it can. */
export function parserMissing(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import prometheus_client.parser'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is missing`;
  return r.status === 0 ? undefined : 'python3-prometheus-client is not installed (apt-get install python3-prometheus-client)';
}

/** Skip reason for a test needing the parser: none under CI (.ci/run installs it: a missing
 *  parser there is a failure, not a skip). */
export function parserSkip(): string | false {
  const why = parserMissing();
  return why !== undefined && process.env.CI === undefined ? why : false;
}

/** Parses `text` with the real parser; throws its error (a text it refuses). */
export function parseProm(text: string): PromFamily[] {
  const r = spawnSync(PYTHON, ['-c', SCRIPT], { input: text, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the Prometheus parser refused the text: ${r.stderr.trim().split('\n').pop() ?? ''}`);
  return JSON.parse(r.stdout) as PromFamily[];
}

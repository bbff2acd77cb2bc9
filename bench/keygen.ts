// Key search benchmark (`npm run bench:keygen`).
//
// 1. Speed of one worker thread for a fixed time (tries/s per core), then of all cores.
// 2. Wall-clock seconds of `searchKey` (what `wh genkey --workbit N` does, worker start-up
//    included) for N = 8, 12, 16 on all cores; median of several runs, since a search takes a
//    geometrically distributed number of tries (mean 2^N, and as much spread).
//
// Progress goes to stdout as lines starting with '#'; the LAST line is one JSON object:
//   {"tries_per_sec_per_core", "cores", "seconds_to_workbit": {"8","12","16"}, "runs": {...}, ...}
// The whole run is kept under ~60 s: runs that would go past the budget are not started.
import { defaultThreads, measureSearchRate, searchKey } from '../src/crypto/keysearch.js';

const RATE_SECONDS = 3;
const ALL_CORES_RATE_SECONDS = 2;
const PLAN: Array<{ workbit: number; runs: number }> = [
  { workbit: 8, runs: 7 },
  { workbit: 12, runs: 7 },
  { workbit: 16, runs: 5 },
];
const BUDGET_SECONDS = 55;
const NAMESPACE = 'bench';

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round = (x: number, digits: number) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
const log = (msg: string) => process.stdout.write(`# ${msg}\n`);

async function main(): Promise<void> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const cores = defaultThreads();

  log(`single worker for ${RATE_SECONDS} s ...`);
  const one = await measureSearchRate({ seconds: RATE_SECONDS, threads: 1, namespace: NAMESPACE });
  log(`1 thread: ${Math.round(one.triesPerSecond)} tries/s (${one.tries} tries in ${one.seconds.toFixed(2)} s)`);

  log(`${cores} workers for ${ALL_CORES_RATE_SECONDS} s ...`);
  const all = await measureSearchRate({ seconds: ALL_CORES_RATE_SECONDS, threads: cores, namespace: NAMESPACE });
  log(`${cores} threads: ${Math.round(all.triesPerSecond)} tries/s`);

  const seconds: Record<string, number | null> = {};
  const tries: Record<string, number | null> = {};
  const expected: Record<string, number | null> = {};
  const runs: Record<string, number> = {};
  const skipped: Record<string, number> = {};
  for (const { workbit, runs: planned } of PLAN) {
    const times: number[] = [];
    const counts: number[] = [];
    const expectSeconds = 2 ** workbit / all.triesPerSecond;
    for (let i = 0; i < planned; i++) {
      // Leave room for a run ~3x longer than average (p ≈ 5%); abort it if the budget runs out anyway.
      const left = BUDGET_SECONDS - elapsed();
      if (left < Math.min(3 * expectSeconds + 0.5, 10)) break;
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('budget')), left * 1000);
      try {
        const r = await searchKey({ workbit, namespace: NAMESPACE, threads: cores, signal: ac.signal });
        times.push(r.seconds);
        counts.push(r.tries);
        log(`workbit ${workbit} run ${i + 1}/${planned}: ${r.seconds.toFixed(3)} s, ${r.tries} tries`);
      } catch (err) {
        if (!ac.signal.aborted) throw err;
        log(`workbit ${workbit} run ${i + 1}/${planned}: stopped, out of time budget`);
        break;
      } finally {
        clearTimeout(timer);
      }
    }
    const key = String(workbit);
    seconds[key] = round(median(times), 4);
    tries[key] = round(median(counts), 0);
    expected[key] = round(expectSeconds, 4);
    runs[key] = times.length;
    if (times.length < planned) skipped[key] = planned - times.length;
  }

  const result = {
    tries_per_sec_per_core: Math.round(one.triesPerSecond),
    cores,
    seconds_to_workbit: seconds,
    runs,
    tries_per_sec_all_cores: Math.round(all.triesPerSecond),
    median_tries_to_workbit: tries,
    expected_seconds_to_workbit: expected, // 2^N / all-core rate, start-up not included
    ...(Object.keys(skipped).length > 0 ? { runs_skipped_for_time: skipped } : {}),
    namespace: NAMESPACE,
    bench_seconds: round(elapsed(), 1),
    node: process.version,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();

// Search for a WireGuard private key whose public key has a given workbit (see workbit.ts).
//
// One try = 32 random bytes, clamped like `wg genkey`, X25519 with the base point
// (libsodium crypto_scalarmult_base) and BLAKE2b-256(pk || namespace). A key with workbit >= N
// takes 2^N tries on average, whatever was tried before (the search is memoryless).
//
// Speed: the hot loop talks to libsodium's WebAssembly module directly (no wrapper, so no
// allocation or copy per try). The random bytes for a batch of BATCH_TRIES candidates are drawn
// in one call, straight into the WebAssembly heap, from Node's CSPRNG (crypto.randomFillSync,
// OpenSSL's RAND_bytes). libsodium's own randombytes_buf is not used for the batch: in the
// WebAssembly build it fetches 4 bytes per call from crypto.getRandomValues and costs ~100 ms
// per 32 KiB, more than the scalar multiplications of the batch themselves.
//
// `searchKey` runs the search on worker threads (all cores by default) and is what the CLI and the
// bench use. `KeySearchCore` is the single-threaded engine that each worker runs.
import { randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { keyToBase64, publicFromSecret, KEY_BYTES } from './keys.js';
import { sodiumReady, type Sodium } from './sodium.js';
import { MAX_WORKBIT, workbit as computeWorkbit } from './workbit.js';

/** Candidates per batch: one 32 KiB random draw. */
export const BATCH_TRIES = 1024;
/** How often workers report their try counts to the parent, and the parent to onProgress. */
export const DEFAULT_PROGRESS_MS = 200;
/** Searches expected to take at most this many tries run on the calling thread: starting worker
 * threads (each loads libsodium) costs more than the search itself. 2^8 tries ≈ 15 ms. */
export const INLINE_MAX_EXPECTED_TRIES = 256;

const WORKER_URL = new URL('./keysearch-worker.js', import.meta.url);

/** The raw Emscripten module under libsodium-wrappers (exposed by it as `.libsodium`). */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_scalarmult_base(q: number, n: number): number;
  /** (out, outlen, in, inlen as two 32-bit halves, key, keylen) */
  _crypto_generichash(out: number, outlen: number, inp: number, inlenLo: number, inlenHi: number, key: number, keylen: number): number;
}

function rawModule(sodium: Sodium): RawSodium {
  const raw = (sodium as unknown as { libsodium?: Partial<RawSodium> }).libsodium;
  if (
    raw === undefined || !(raw.HEAPU8 instanceof Uint8Array) || typeof raw._malloc !== 'function' ||
    typeof raw._free !== 'function' || typeof raw._crypto_scalarmult_base !== 'function' ||
    typeof raw._crypto_generichash !== 'function'
  ) {
    throw new Error('libsodium-wrappers does not expose its WebAssembly module (.libsodium); unsupported version');
  }
  return raw as RawSodium;
}

export function checkWorkbitTarget(workbit: number): void {
  if (!Number.isInteger(workbit) || workbit < 0 || workbit > MAX_WORKBIT) {
    throw new RangeError(`workbit must be an integer from 0 to ${MAX_WORKBIT}, got ${String(workbit)}`);
  }
}

export interface BatchResult {
  /** Candidates tried in this batch (up to and including a hit). */
  tries: number;
  /** The hit, if any: clamped private key and its public key (fresh copies). */
  secret?: Uint8Array;
  public?: Uint8Array;
}

/**
 * Single-threaded search engine. Allocates its buffers in the libsodium heap once; call
 * `dispose()` to free them. `minWorkbit` may exceed 256 to never hit (used to measure speed).
 */
export class KeySearchCore {
  private readonly raw: RawSodium;
  private readonly skPtr: number; // BATCH_TRIES * 32 candidate secrets
  private readonly inPtr: number; // pk (32 bytes) || namespace: the hash input
  private readonly inLen: number;
  private readonly outPtr: number; // 32-byte hash
  private disposed = false;

  constructor(sodium: Sodium, namespace: string) {
    this.raw = rawModule(sodium);
    const ns = Buffer.from(namespace, 'utf8');
    this.inLen = KEY_BYTES + ns.length;
    this.skPtr = this.raw._malloc(BATCH_TRIES * KEY_BYTES);
    this.inPtr = this.raw._malloc(this.inLen);
    this.outPtr = this.raw._malloc(32);
    if (this.skPtr === 0 || this.inPtr === 0 || this.outPtr === 0) throw new Error('libsodium: out of memory');
    this.raw.HEAPU8.set(ns, this.inPtr + KEY_BYTES);
  }

  /** Tries up to BATCH_TRIES fresh candidates; stops at the first with workbit >= minWorkbit. */
  batch(minWorkbit: number): BatchResult {
    if (this.disposed) throw new Error('KeySearchCore used after dispose()');
    const raw = this.raw;
    const skPtr = this.skPtr, inPtr = this.inPtr, inLen = this.inLen, outPtr = this.outPtr;
    // Re-read the heap view every batch: it is replaced when the WebAssembly memory grows.
    const heap = raw.HEAPU8;
    randomFillSync(heap, skPtr, BATCH_TRIES * KEY_BYTES);
    const fullBytes = minWorkbit >>> 3; // bytes that must be zero
    const mask = fullBytes < 32 ? (0xff00 >>> (minWorkbit & 7)) & 0xff : 0; // top bits of the next byte
    for (let i = 0; i < BATCH_TRIES; i++) {
      const sk = skPtr + i * KEY_BYTES;
      heap[sk] = heap[sk]! & 248;
      heap[sk + 31] = (heap[sk + 31]! & 127) | 64;
      if (raw._crypto_scalarmult_base(inPtr, sk) !== 0) continue; // never happens for the base point
      raw._crypto_generichash(outPtr, 32, inPtr, inLen, 0, 0, 0);
      if (minWorkbit > MAX_WORKBIT) continue;
      let ok = true;
      for (let j = 0; j < fullBytes; j++) {
        if (heap[outPtr + j] !== 0) { ok = false; break; }
      }
      if (ok && (fullBytes >= 32 || (heap[outPtr + fullBytes]! & mask) === 0)) {
        return {
          tries: i + 1,
          secret: heap.slice(sk, sk + KEY_BYTES),
          public: heap.slice(inPtr, inPtr + KEY_BYTES),
        };
      }
    }
    return { tries: BATCH_TRIES };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Wipe the candidate secrets (one of them may be the key that was found).
    this.raw.HEAPU8.fill(0, this.skPtr, this.skPtr + BATCH_TRIES * KEY_BYTES);
    this.raw._free(this.skPtr);
    this.raw._free(this.inPtr);
    this.raw._free(this.outPtr);
  }
}

// ---- messages between searchKey and keysearch-worker.ts ----

export interface WorkerParams {
  /** Target; > 256 means "never stop" (speed measurement). */
  minWorkbit: number;
  namespace: string;
  reportMs: number;
}

export type WorkerMessage =
  | { type: 'progress'; tries: number }
  | { type: 'found'; tries: number; secret: Uint8Array; public: Uint8Array };

// ---- public API ----

export interface KeySearchProgress {
  workbit: number;
  /** Tries so far (as reported by the workers, so up to ~200 ms behind). */
  tries: number;
  seconds: number;
  /** Tries per second over the whole search so far. */
  rate: number;
  /** 2^workbit: the mean number of tries of a search, and also of what remains of it. */
  expectedTries: number;
  /** expectedTries / rate (memoryless: does not shrink as tries accumulate); NaN before any rate. */
  expectedRemainingSeconds: number;
  threads: number;
}

export interface KeySearchOptions {
  /** Minimum workbit of the public key, integer 0..256. */
  workbit: number;
  /** Workbit namespace (see workbit.ts). Default "". */
  namespace?: string;
  /** Worker threads. Default: os.availableParallelism(). */
  threads?: number;
  /** Called about every progressMs while searching. */
  onProgress?: (p: KeySearchProgress) => void;
  progressMs?: number;
  /** Aborting terminates the workers and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Force (true) or forbid (false) searching on the calling thread; default: only for tiny searches. */
  inline?: boolean;
}

export interface KeySearchResult {
  secret: Uint8Array;
  public: Uint8Array;
  /** Tries counted until the hit (tries of other workers in their last ~200 ms are not counted). */
  tries: number;
  /** Wall-clock seconds, including starting the workers. */
  seconds: number;
  threads: number;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

function checkThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be a positive integer, got ${String(threads)}`);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** Searches for a private key whose public key has workbit >= opts.workbit. */
export async function searchKey(opts: KeySearchOptions): Promise<KeySearchResult> {
  checkWorkbitTarget(opts.workbit);
  const namespace = opts.namespace ?? '';
  const threads = opts.threads ?? defaultThreads();
  checkThreads(threads);
  const progressMs = opts.progressMs ?? DEFAULT_PROGRESS_MS;
  const inline = opts.inline ?? 2 ** opts.workbit <= INLINE_MAX_EXPECTED_TRIES;
  const sodium = await sodiumReady();
  const result = inline
    ? await searchInline(sodium, opts.workbit, namespace, progressMs, opts.onProgress, opts.signal)
    : await searchOnWorkers(opts.workbit, namespace, threads, progressMs, opts.onProgress, opts.signal);
  // Independent check through the ordinary (wrapper) code path.
  const pk = publicFromSecret(sodium, result.secret);
  if (keyToBase64(pk) !== keyToBase64(result.public) || computeWorkbit(sodium, pk, namespace) < opts.workbit) {
    throw new Error('internal error: key search returned a key that does not meet the target');
  }
  return result;
}

function progressOf(workbit: number, tries: number, seconds: number, threads: number): KeySearchProgress {
  const rate = seconds > 0 ? tries / seconds : 0;
  const expectedTries = 2 ** workbit;
  return { workbit, tries, seconds, rate, expectedTries, expectedRemainingSeconds: rate > 0 ? expectedTries / rate : NaN, threads };
}

async function searchInline(
  sodium: Sodium, workbit: number, namespace: string, progressMs: number,
  onProgress: KeySearchOptions['onProgress'], signal: AbortSignal | undefined,
): Promise<KeySearchResult> {
  const t0 = performance.now();
  const core = new KeySearchCore(sodium, namespace);
  try {
    let tries = 0;
    let lastReport = t0;
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const r = core.batch(workbit);
      tries += r.tries;
      if (r.secret && r.public) {
        return { secret: r.secret, public: r.public, tries, seconds: (performance.now() - t0) / 1000, threads: 1 };
      }
      const now = performance.now();
      if (onProgress && now - lastReport >= progressMs) {
        lastReport = now;
        onProgress(progressOf(workbit, tries, (now - t0) / 1000, 1));
      }
      await new Promise<void>((resolve) => setImmediate(resolve)); // let signals and timers through
    }
  } finally {
    core.dispose();
  }
}

interface WorkerRun {
  /** Resolves with the first hit. */
  found: Promise<KeySearchResult>;
  /** Total tries reported so far. */
  tries(): number;
  stop(): Promise<void>;
}

function startWorkers(
  minWorkbit: number, namespace: string, threads: number, reportMs: number,
  onReport?: (tries: number, now: number) => void,
): WorkerRun {
  const t0 = performance.now();
  const params: WorkerParams = { minWorkbit, namespace, reportMs };
  const workers: Worker[] = [];
  let total = 0;
  let done = false;
  let resolveFound!: (r: KeySearchResult) => void;
  let rejectFound!: (e: unknown) => void;
  const found = new Promise<KeySearchResult>((res, rej) => { resolveFound = res; rejectFound = rej; });
  found.catch(() => {}); // the caller may stop() without awaiting `found`
  const fail = (err: unknown) => {
    if (done) return;
    done = true;
    rejectFound(err);
  };
  for (let i = 0; i < threads; i++) {
    const w = new Worker(WORKER_URL, { workerData: params });
    workers.push(w);
    w.on('message', (m: WorkerMessage) => {
      if (done) return;
      total += m.tries;
      if (m.type === 'found') {
        done = true;
        resolveFound({
          secret: new Uint8Array(m.secret), public: new Uint8Array(m.public),
          tries: total, seconds: (performance.now() - t0) / 1000, threads,
        });
      } else {
        onReport?.(total, performance.now());
      }
    });
    w.on('error', (err) => fail(err));
    w.on('exit', (code) => fail(new Error(`key search worker exited unexpectedly (code ${code})`)));
  }
  return {
    found,
    tries: () => total,
    stop: async () => {
      done = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

async function searchOnWorkers(
  workbit: number, namespace: string, threads: number, progressMs: number,
  onProgress: KeySearchOptions['onProgress'], signal: AbortSignal | undefined,
): Promise<KeySearchResult> {
  if (signal?.aborted) throw abortReason(signal);
  const t0 = performance.now();
  const run = startWorkers(workbit, namespace, threads, Math.min(progressMs, DEFAULT_PROGRESS_MS));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const stopped = new Promise<never>((_, reject) => {
      if (signal) {
        onAbort = () => reject(abortReason(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    if (onProgress) {
      timer = setInterval(() => onProgress(progressOf(workbit, run.tries(), (performance.now() - t0) / 1000, threads)), progressMs);
    }
    return await Promise.race([run.found, stopped]);
  } finally {
    if (timer) clearInterval(timer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    await run.stop();
  }
}

export interface RateMeasurement {
  /** Tries counted in the measured window (after the workers' first report, to leave out start-up). */
  tries: number;
  seconds: number;
  triesPerSecond: number;
  threads: number;
}

/** Runs `threads` workers on a search that never ends for about `seconds` and reports their speed. */
export async function measureSearchRate(opts: { seconds: number; threads?: number; namespace?: string }): Promise<RateMeasurement> {
  const threads = opts.threads ?? 1;
  checkThreads(threads);
  let first: { tries: number; at: number } | undefined;
  let last: { tries: number; at: number } | undefined;
  let reports = 0;
  const run = startWorkers(MAX_WORKBIT + 1, opts.namespace ?? '', threads, DEFAULT_PROGRESS_MS, (tries, at) => {
    // With several workers, wait until each has reported once before opening the window.
    if (first === undefined) {
      if (tries > 0 && ++reports >= threads) first = { tries, at };
    } else {
      last = { tries, at };
    }
  });
  try {
    const deadline = performance.now() + opts.seconds * 1000 + 5000;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        const now = performance.now();
        if ((first && now - first.at >= opts.seconds * 1000) || now > deadline) { clearInterval(poll); resolve(); }
      }, 20);
      run.found.catch((err) => { clearInterval(poll); reject(err); });
    });
  } finally {
    await run.stop();
  }
  if (!first || !last) throw new Error('key search workers did not report in time');
  const seconds = (last.at - first.at) / 1000;
  const tries = last.tries - first.tries;
  return { tries, seconds, triesPerSecond: tries / seconds, threads };
}

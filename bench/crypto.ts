// `npm run bench:crypto`: the primitives the daemon and the DHT call for every datagram, in each
// implementation that was a candidate (README, "Dependencies"), and what loading each costs:
//   xchacha_seal/open_per_sec  XChaCha20-Poly1305 of a BODY-byte body with a 58-byte header as
//                              additional data (a DHT datagram), seals or opens per second
//   open_forged_per_sec        opens of a datagram with a wrong tag (a flood of forgeries)
//   blake2b_per_sec            keyed BLAKE2b, 16 bytes out of a BODY-byte message (a cookie MAC)
//   rss_mb                     resident memory of a fresh process that loaded the implementation
//                              and ran 2000 seals, opens and hashes, minus that of a bare one
// Implementations: libsodium-wrappers (WebAssembly), node (src/crypto/sodium.ts: node:crypto for
// the AEAD, @noble/hashes for BLAKE2b), noble (@noble/ciphers and @noble/hashes, pure JS).
// node:crypto has no keyed or short BLAKE2b ('blake2b512' only: outputLength 16 is refused).
// Prints one JSON object as its last line. `-- --body N` (default 200), `-- --seconds S` (1, per
// primitive and implementation, in 5 turns: see ROUNDS).
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

interface Impl {
  seal(msg: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  open(sealed: Uint8Array, ad: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array;
  mac(msg: Uint8Array, key: Uint8Array): Uint8Array;
}
const NAMES = ['libsodium', 'node', 'noble'] as const;
type Name = typeof NAMES[number];

async function load(name: Name): Promise<Impl> {
  if (name === 'libsodium') {
    const s = (await import('libsodium-wrappers')).default;
    await s.ready;
    return {
      seal: (m, ad, n, k) => s.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, n, k),
      open: (c, ad, n, k) => s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, n, k),
      mac: (m, k) => s.crypto_generichash(16, m, k),
    };
  }
  if (name === 'node') {
    const s = await (await import('../src/crypto/sodium.js')).sodiumReady();
    return {
      seal: (m, ad, n, k) => s.crypto_aead_xchacha20poly1305_ietf_encrypt(m, ad, null, n, k),
      open: (c, ad, n, k) => s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, n, k),
      mac: (m, k) => s.crypto_generichash(16, m, k),
    };
  }
  const { xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
  const { blake2b } = await import('@noble/hashes/blake2.js');
  return {
    seal: (m, ad, n, k) => xchacha20poly1305(k, n, ad).encrypt(m),
    open: (c, ad, n, k) => xchacha20poly1305(k, n, ad).decrypt(c),
    mac: (m, k) => blake2b(m, { dkLen: 16, key: k }),
  };
}

function rate(seconds: number, f: () => void): number {
  for (let i = 0; i < 200; i++) f(); // warm-up
  let n = 0;
  const t0 = performance.now(), end = t0 + seconds * 1000;
  while (performance.now() < end) { for (let i = 0; i < 50; i++) f(); n += 50; }
  return Math.round(n / ((performance.now() - t0) / 1000));
}

const fixture = (body: number) => {
  const key = new Uint8Array(32).fill(7), nonce = new Uint8Array(24).fill(9), ad = new Uint8Array(58).fill(1);
  const msg = new Uint8Array(body).fill(3);
  return { key, nonce, ad, msg };
};

function rssMb(): number {
  return Math.round(process.memoryUsage.rss() / 2 ** 20 * 10) / 10;
}

const { values } = parseArgs({ options: { body: { type: 'string', default: '200' }, seconds: { type: 'string', default: '1' }, child: { type: 'string' } } });
const BODY = Number(values.body), SECONDS = Number(values.seconds);

if (values.child !== undefined) {
  // A fresh process: load one implementation (or none), use it a little, report its RSS.
  if (values.child !== 'bare') {
    const impl = await load(values.child as Name);
    const { key, nonce, ad, msg } = fixture(BODY);
    for (let i = 0; i < 2000; i++) impl.open(impl.seal(msg, ad, nonce, key), ad, nonce, key), impl.mac(msg, key);
  }
  await new Promise((r) => setTimeout(r, 200));
  console.log(JSON.stringify({ rss: rssMb() }));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const childRss = (what: string): number => {
  const runs = [0, 1, 2].map(() => (JSON.parse(execFileSync(process.execPath, [self, '--child', what, '--body', String(BODY)], { encoding: 'utf8' }).trim()) as { rss: number }).rss);
  return runs.sort((a, b) => a - b)[1]!; // median of 3
};
const bare = childRss('bare');
const out: Record<string, unknown> = { body_bytes: BODY, bare_process_rss_mb: bare };
const impls = new Map<Name, Impl>();
for (const name of NAMES) impls.set(name, await load(name));
// The implementations take turns, ROUNDS times, and each keeps its best round: on a shared
// machine, a burst of someone else's load then hits all of them alike and is not the result.
const ROUNDS = 5;
const { key, nonce, ad, msg } = fixture(BODY);
const ops: Record<string, (impl: Impl) => () => void> = {
  xchacha_seal_per_sec: (impl) => () => impl.seal(msg, ad, nonce, key),
  xchacha_open_per_sec: (impl) => { const sealed = impl.seal(msg, ad, nonce, key); return () => impl.open(sealed, ad, nonce, key); },
  open_forged_per_sec: (impl) => {
    const forged = impl.seal(msg, ad, nonce, key); forged[0]! ^= 1;
    return () => { try { impl.open(forged, ad, nonce, key); } catch { /* expected */ } };
  },
  blake2b_per_sec: (impl) => () => impl.mac(msg, key),
};
const results = new Map<Name, Record<string, number>>(NAMES.map((n) => [n, {}]));
for (const [op, make] of Object.entries(ops)) {
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of NAMES) {
      const res = results.get(name)!;
      res[op] = Math.max(res[op] ?? 0, rate(SECONDS / ROUNDS, make(impls.get(name)!)));
    }
  }
}
for (const name of NAMES) {
  out[name] = { ...results.get(name), rss_mb: Math.round((childRss(name) - bare) * 10) / 10 };
  process.stderr.write(`${name}: ${JSON.stringify(out[name])}\n`);
}
out.node_version = process.version;
console.log(JSON.stringify(out));

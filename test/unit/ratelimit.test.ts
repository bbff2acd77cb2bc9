// Token buckets (src/util/ratelimit.ts): verdicts, the bound on keys, and that full buckets are
// forgotten without changing any verdict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/util/ratelimit.js';
import { seededRandom } from '../../src/sim/network.js';

test('a source gets its burst, then its rate', () => {
  const r = new RateLimiter(10, 5, 100);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (r.take('a', 0)) ok++;
  assert.equal(ok, 5);
  assert.equal(r.take('a', 50), false, 'half a token after 50 ms');
  assert.equal(r.take('a', 100), true, 'one token after 100 ms');
  assert.equal(r.take('b', 100), true, 'another source has its own bucket');
});

test('pruning full buckets changes no verdict (against an unbounded reference)', () => {
  const ref = new Map<string, { tokens: number; last: number }>();
  const refTake = (key: string, now: number, rate: number, burst: number): boolean => {
    const b = ref.get(key) ?? { tokens: burst, last: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.last) * rate) / 1000);
    b.last = now;
    ref.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
  const r = new RateLimiter(20, 4, 1_000_000);
  const rnd = seededRandom(5);
  let now = 0, maxSize = 0;
  for (let i = 0; i < 50_000; i++) {
    now += rnd() < 0.9 ? rnd() * 5 : rnd() * 2000;
    const key = `s${Math.floor(rnd() * (rnd() < 0.5 ? 5 : 500))}`;
    assert.equal(r.take(key, now), refTake(key, now, 20, 4), `take ${i} of ${key} at ${now}`);
    if (rnd() < 0.1) {
      const k2 = `s${Math.floor(rnd() * 500)}`;
      const b = ref.get(k2);
      assert.equal(r.peek(k2, now), b === undefined || Math.min(4, b.tokens + ((now - b.last) * 20) / 1000) >= 1, `peek ${k2}`);
    }
    maxSize = Math.max(maxSize, r.size);
  }
  assert.ok(maxSize < ref.size, `kept ${maxSize} buckets at most, of ${ref.size} sources seen`);
});

test('sources that went quiet are forgotten; the number of keys stays bounded', () => {
  const r = new RateLimiter(10, 10, 1000);
  for (let i = 0; i < 500; i++) r.take(`q${i}`, 0);
  assert.equal(r.size, 500);
  for (let i = 0; i < 500; i++) r.take('busy', 2000 + i); // 2 s later every quiet bucket is full again
  assert.ok(r.size <= 2, `${r.size} buckets left`);
  const bounded = new RateLimiter(1, 1, 8);
  for (let i = 0; i < 100; i++) bounded.take(`k${i}`, 0);
  assert.equal(bounded.size, 8);
});

// A body that is not bencode the way a sane parser reads it must be dropped and counted, in
// bounded time and memory: a `bencode` package decode given a negative string length ("-3:")
// moves its read position backwards and loops, growing a list until the heap is exhausted.
// Any member of the public DHT could seal such a body to any node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeBody } from '../../src/proto/messages.js';

const CHILD = fileURLToPath(new URL('./hostilebody.js', import.meta.url));
// Negative and signed lengths at the top, in a list, in a dictionary's value and key, after a
// key that is not printable ASCII, behind deep nesting, an unusual key or a long integer, and
// negative lengths that jump further back. Each string is the body's bytes, one per character
// (latin1).
const BOMBS = ['l-3:e', 'l1:al-1:ee', 'd1:al-3:ee', 'd1:vl-2:xee', 'd2:\u00e9al-3:ee', 'l+1:ae', 'd1:a-0:e',
  'l-3:', 'd-3:', 'd1:a-5:e', 'li1e-7:e', `${'l'.repeat(17)}-3:`, 'd9:__proto__l-3:ee', 'li1234567890123456el-3:ee',
  'd1:\x80l-3:ee', 'd1:ai1e1:bl-13:e', '+3:abc', 'l-0:e'];
const bytes = (b: string) => Buffer.from(b, 'latin1');

test('bodies with negative or signed lengths are refused at once, one by one', () => {
  for (const b of BOMBS) {
    const r = spawnSync(process.execPath, ['--max-old-space-size=128', '--input-type=module', '-e',
      `import { decodeBody } from ${JSON.stringify(new URL('../../src/proto/messages.js', import.meta.url).href)};
       process.stdout.write(JSON.stringify(decodeBody(Buffer.from(${JSON.stringify(b)}, 'latin1'))));`], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(r.signal, null, `${JSON.stringify(b)}: the decoder did not return (ended by ${r.signal}: SIGABRT = heap exhausted, SIGTERM = the 10 s deadline)`);
    assert.equal(r.status, 0, `${JSON.stringify(b)}: the decoder crashed: ${r.stderr.slice(-300)}`);
    assert.deepEqual(JSON.parse(r.stdout), { ok: false, reason: 'bencode' }, JSON.stringify(b));
  }
  // And in this process too (after the child showed it returns).
  for (const b of BOMBS) assert.deepEqual(decodeBody(bytes(b)), { ok: false, reason: 'bencode' });
});

test('a DHT node sealed such bodies by an unknown key drops and counts them, and answers that key\'s next ping', () => {
  const r = spawnSync(process.execPath, ['--max-old-space-size=256', CHILD, JSON.stringify(BOMBS)], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(r.signal, null, `the node did not get through the bodies (ended by ${r.signal}: SIGABRT = heap exhausted, SIGTERM = the 30 s deadline)`);
  assert.equal(r.status, 0, `the node crashed: ${r.stderr.slice(-400)}`);
  const out = JSON.parse(r.stdout) as { answered: boolean; counters: Record<string, number> };
  assert.ok(out.answered, 'the ping after the bodies was answered');
  assert.equal(out.counters['drop:bencode'], BOMBS.length, JSON.stringify(out.counters));
});

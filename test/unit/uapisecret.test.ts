// A WireGuard UAPI answer cut short (wireguard-go dying, or stopped, in the middle of a `get`):
// the error must say so without quoting the answer, whose first line is the private key.
// Against the real uapiRequest, on a unix socket in a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { uapiRequest } from '../../src/wg/uapi.js';

test('a get answer cut off after the private key: the error quotes none of it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wh-uapi-test-'));
  const file = join(dir, 'wg-test.sock');
  const secretHex = randomBytes(32).toString('hex');
  const server = net.createServer((c) => {
    c.once('data', () => c.end(`private_key=${secretHex}\nlisten_port=51820\npublic_key=${'ab'.repeat(32)}\n`));
  });
  await new Promise<void>((r) => server.listen(file, () => r()));
  try {
    const err = await uapiRequest(file, 'get=1\n\n', 2000).then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err instanceof Error, 'the cut answer is an error');
    assert.match(err.message, /closed before the answer ended/);
    for (let i = 0; i + 8 <= secretHex.length; i++) {
      const piece = secretHex.slice(i, i + 8);
      assert.ok(!err.message.includes(piece), `no 8 hex digits of the private key in the error (found ${piece} in ${JSON.stringify(err.message)})`);
    }
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

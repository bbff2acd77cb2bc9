// WireGuard's answers cut short or malformed (wireguard-go dying, or stopped, in the middle of
// a `get`; `wg show dump` output of another version): the error must say so without quoting
// the answer, whose first line is the private key (and whose peer lines hold preshared keys).
// Against the real uapiRequest, on a unix socket in a temporary directory, and parseWgDump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { uapiRequest } from '../../src/wg/uapi.js';
import { parseWgDump } from '../../src/wg/wgtool.js';

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

function assertNoPiece(message: string, secret: string, what: string): void {
  for (let i = 0; i + 8 <= secret.length; i++) {
    const piece = secret.slice(i, i + 8);
    assert.ok(!message.includes(piece), `${what}: no 8 characters of the secret in the error (found ${piece} in ${JSON.stringify(message)})`);
  }
}

test('`wg show dump` output that does not parse: the error quotes neither the private key nor a preshared key', () => {
  const sk = randomBytes(32).toString('base64'), psk = randomBytes(32).toString('base64'), pk = randomBytes(32).toString('base64');
  const cases: [string, string][] = [
    [`${sk}\t${pk}\t51820\n`, sk],
    [`${sk}\t${pk}\t51820\toff\n${pk}\t${psk}\t192.0.2.1:1\t10.0.0.2/32\n`, psk],
  ];
  for (const [text, secret] of cases) {
    assert.throws(() => parseWgDump(text), (e: Error) => { assertNoPiece(e.message, secret, text.split('\t').length + ' fields'); return /unexpected `wg show dump`/.test(e.message); });
  }
});

// src/cli/tcpdrain.ts: the /proc/net/tcp reading that `0nc` waits on before it removes its node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { drained, procAddr, waitDrained } from '../../src/cli/tcpdrain.js';

const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const row = (st: string, tx: number) => `   0: 0100400A:1838 0200400A:A1B2 ${st} ${tx.toString(16).toUpperCase().padStart(8, '0')}:00000000 01:00000014 00000000     0        0 0 1\n`;
const ends = { localAddress: '10.64.0.1', localPort: 6200, remoteAddress: '10.64.0.2', remotePort: 0xa1b2 };

test('procAddr writes addresses as the kernel does', () => {
  assert.equal(procAddr('127.0.0.1', 8080), '0100007F:1F90');
  assert.equal(procAddr('::ffff:10.64.0.1', 6200), '0100400A:1838');
  assert.equal(procAddr('fd00::1', 1), undefined);
});

test('drained: data or an unacknowledged FIN left is not drained; FIN_WAIT2, TIME_WAIT, gone are', () => {
  assert.equal(drained(HEAD + row('01', 89_452), ends), false, 'ESTABLISHED with a send queue');
  assert.equal(drained(HEAD + row('09', 0), ends), false, 'LAST_ACK: our FIN not acknowledged');
  assert.equal(drained(HEAD + row('04', 0), ends), false, 'FIN_WAIT1');
  assert.equal(drained(HEAD + row('06', 0), ends), true, 'TIME_WAIT');
  assert.equal(drained(HEAD + row('05', 0), ends), true, 'FIN_WAIT2');
  assert.equal(drained(HEAD, ends), true, 'no row');
  assert.equal(drained(HEAD + row('09', 0), { ...ends, remotePort: 1 }), true, 'another connection');
});

test('a real loopback connection is found in /proc/net/tcp and drains after both ends close', async () => {
  const server = net.createServer({ allowHalfOpen: true }, (c) => { c.resume(); c.on('end', () => c.end()); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    await new Promise<void>((r) => c.once('connect', r));
    const e = { localAddress: c.localAddress!, localPort: c.localPort!, remoteAddress: c.remoteAddress!, remotePort: c.remotePort! };
    const text = fs.readFileSync('/proc/net/tcp', 'utf8');
    assert.ok(text.includes(`${procAddr(e.localAddress, e.localPort)} ${procAddr(e.remoteAddress, e.remotePort)} 01`), 'the established row is there');
    assert.equal(drained(text, e), false, 'an established connection is not drained');
    c.resume();
    c.end('x'.repeat(100_000));
    await new Promise<void>((r) => c.once('close', () => r()));
    assert.equal(await waitDrained(e, 5000, 20), true);
  } finally {
    server.close();
  }
});

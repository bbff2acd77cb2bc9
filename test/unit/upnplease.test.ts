// A NAT-PMP answer's lifetime is the gateway's word (or that of anyone on the link who answers
// from its address): a lifetime past what we asked must not break the renewal schedule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { PortMapper } from '../../src/nat/upnp.js';

test('PortMapper: a NAT-PMP gateway granting a lifetime of 2^32-1 s gets no flood of renewals, and the lease stays the one asked', async () => {
  const sock = dgram.createSocket('udp4');
  let requests = 0;
  sock.on('message', (msg, rinfo) => {
    requests++;
    const out = Buffer.alloc(msg[1] === 0 ? 12 : 16);
    out[1] = 128 + msg[1]!;
    if (msg[1] === 0) out.set([203, 0, 113, 7], 8);
    else {
      out.writeUInt16BE(msg.readUInt16BE(4), 8);
      out.writeUInt16BE(msg.readUInt16BE(6), 10);
      out.writeUInt32BE(msg.readUInt32BE(8) === 0 ? 0 : 0xffffffff, 12); // "forever"
    }
    sock.send(out, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const pm = (await PortMapper.discover({ timeoutMs: 1000, requestTimeoutMs: 600, methods: ['nat-pmp'], gateway: '127.0.0.1', natPmpPort: sock.address().port }))!;
  try {
    assert.ok(pm, 'the gateway was found');
    const m = await pm.map({ internalPort: 6100, protocol: 'udp', leaseSeconds: 600, description: 'x' });
    assert.ok(m.lease <= 600, `the lease is at most the one asked (got ${m.lease} s)`);
    const before = requests;
    pm.keepMapped();
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(requests - before <= 1, `renewal requests within 0.5 s of a 600 s lease: ${requests - before}`);
  } finally {
    await pm.close();
    await new Promise<void>((r) => sock.close(() => r()));
  }
});

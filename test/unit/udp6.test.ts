// The dual-stack UDP socket (src/net/udp.ts): one socket on '::' hears and reaches IPv4 and
// IPv6 on loopback, IPv4 sources come out as dotted quads, and the IPv4 fallback (a host
// without IPv6) and the single-family binds carry only their family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpTransport } from '../../src/net/udp.js';
import type { Addr } from '../../src/proto/addr.js';

async function peer(type: 'udp4' | 'udp6', host: string): Promise<{ s: dgram.Socket; port: number; got: { text: string; from: string }[] }> {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  const got: { text: string; from: string }[] = [];
  s.on('message', (m, r) => got.push({ text: m.toString(), from: `${r.address}:${r.port}` }));
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return { s, port: s.address().port, got };
}

const enc = (t: string) => new TextEncoder().encode(t);
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

test('dual-stack socket on ::: hears 127.0.0.1 (as a dotted quad, not ::ffff:) and ::1, and answers both', async () => {
  const t = await UdpTransport.bind('::', 0);
  const p4 = await peer('udp4', '127.0.0.1');
  const p6 = await peer('udp6', '::1');
  const heard: { text: string; from: Addr }[] = [];
  t.setReceiver((d, from) => { heard.push({ text: new TextDecoder().decode(d), from }); t.send(from, enc('re:' + new TextDecoder().decode(d))); });
  try {
    assert.equal(t.family, 'dual');
    const port = t.local.port;
    p4.s.send('four', port, '127.0.0.1');
    p6.s.send('six', port, '::1');
    await until(() => p4.got.length > 0 && p6.got.length > 0);
    const four = heard.find((h) => h.text === 'four');
    const six = heard.find((h) => h.text === 'six');
    assert.deepEqual(four?.from, { host: '127.0.0.1', port: p4.port });
    assert.deepEqual(six?.from, { host: '::1', port: p6.port });
    // The answers leave from the same socket, so from its one port, in each family.
    assert.deepEqual(p4.got, [{ text: 're:four', from: `127.0.0.1:${port}` }]);
    assert.deepEqual(p6.got, [{ text: 're:six', from: `::1:${port}` }]);
    assert.equal(t.carries({ host: '127.0.0.1', port: 1 }), true);
    assert.equal(t.carries({ host: '::1', port: 1 }), true);
    assert.equal(t.carries({ host: 'example.org', port: 1 }), false);
    assert.equal(t.counters.get('send-error') ?? 0, 0);
  } finally {
    t.close(); p4.s.close(); p6.s.close();
  }
});

test('dual-stack socket sends to a dotted IPv4 address first (no earlier receive needed)', async () => {
  const t = await UdpTransport.bind('::', 0);
  const p4 = await peer('udp4', '127.0.0.1');
  try {
    t.send({ host: '127.0.0.1', port: p4.port }, enc('hello'));
    await until(() => p4.got.length > 0);
    assert.deepEqual(p4.got.map((g) => g.text), ['hello']);
    assert.equal(t.counters.get('send-error') ?? 0, 0);
  } finally {
    t.close(); p4.s.close();
  }
});

test('a host without IPv6: bindAny falls back to an IPv4 socket, which carries IPv4 only and counts a send to IPv6 as refused', async () => {
  const t = await UdpTransport.bindAny(0, { noIpv6: true });
  const p4 = await peer('udp4', '127.0.0.1');
  try {
    assert.equal(t.family, 4);
    assert.equal(t.local.host, '0.0.0.0');
    assert.equal(t.carries({ host: '127.0.0.1', port: 1 }), true);
    assert.equal(t.carries({ host: '::1', port: 1 }), false);
    t.send({ host: '127.0.0.1', port: p4.port }, enc('v4'));
    await until(() => p4.got.length > 0);
    assert.deepEqual(p4.got.map((g) => g.text), ['v4']);
  } finally {
    t.close(); p4.s.close();
  }
});

test('single-family binds: 127.0.0.1 carries IPv4 only, ::1 IPv6 only (and does not hear IPv4)', async () => {
  const v4 = await UdpTransport.bind('127.0.0.1', 0);
  const v6 = await UdpTransport.bind('::1', 0);
  try {
    assert.equal(v4.family, 4);
    assert.equal(v6.family, 6);
    assert.equal(v4.carries({ host: '::1', port: 1 }), false);
    assert.equal(v6.carries({ host: '127.0.0.1', port: 1 }), false);
    assert.equal(v6.carries({ host: '2001:db8::1', port: 1 }), true);
  } finally {
    v4.close(); v6.close();
  }
});

test('two dual-stack sockets reach each other over ::1 and over 127.0.0.1', async () => {
  const a = await UdpTransport.bind('::', 0);
  const b = await UdpTransport.bind('::', 0);
  const got: string[] = [];
  b.setReceiver((d, from) => got.push(`${new TextDecoder().decode(d)} from ${from.host}`));
  try {
    a.send({ host: '::1', port: b.local.port }, enc('six'));
    a.send({ host: '127.0.0.1', port: b.local.port }, enc('four'));
    await until(() => got.length >= 2);
    assert.deepEqual(got.sort(), ['four from 127.0.0.1', 'six from ::1']);
  } finally {
    a.close(); b.close();
  }
});

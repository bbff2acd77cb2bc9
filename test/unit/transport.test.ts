// The transport seam (src/net/transport.ts): a node holding several transports sends each
// datagram through one that can carry it, and hears from all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { TransportSet } from '../../src/net/transport.js';
import { UdpTransport } from '../../src/net/udp.js';

async function listener(type: 'udp4' | 'udp6', host: string): Promise<{ port: number; got: string[]; close(): void }> {
  const s = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
  const got: string[] = [];
  s.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return { port: s.address().port, got, close: () => s.close() };
}

const settle = () => new Promise((r) => setTimeout(r, 100));

test('TransportSet: an IPv4 socket and an IPv6 socket side by side; each datagram goes out through the one of its family', async () => {
  const v4 = await UdpTransport.bind('127.0.0.1', 0);
  const v6 = await UdpTransport.bind('::1', 0);
  const to4 = await listener('udp4', '127.0.0.1');
  const to6 = await listener('udp6', '::1');
  const set = new TransportSet([v4, v6]);
  try {
    set.send({ host: '::1', port: to6.port }, new TextEncoder().encode('six'));
    set.send({ host: '127.0.0.1', port: to4.port }, new TextEncoder().encode('four'));
    await settle();
    assert.deepEqual(to4.got, ['four']);
    assert.deepEqual(to6.got, ['six'], 'the IPv6 datagram went out through the IPv4 socket (and was lost)');
    assert.equal(v4.counters.get('send-error') ?? 0, 0, 'no send failed');
  } finally {
    set.close(); to4.close(); to6.close();
  }
});

test('TransportSet: a transport added for some addresses (a WebSocket link to a relay) carries them, not the UDP socket before it; replies to them go back through it', async () => {
  const udp = await UdpTransport.bind('127.0.0.1', 0);
  const relay = { host: '127.0.0.1', port: 9 };
  const sent: string[] = [];
  let deliver: ((d: Uint8Array, from: { host: string; port: number }) => void) | undefined;
  const ws = {
    kind: 'ws',
    carries: (to: { host: string; port: number }) => to.host === relay.host && to.port === relay.port,
    send: (_to: { host: string; port: number }, d: Uint8Array) => { sent.push(new TextDecoder().decode(d)); },
    setReceiver: (r: (d: Uint8Array, from: { host: string; port: number }) => void) => { deliver = r; },
    close: () => undefined,
  };
  // As docs/NODE.md "Where the next features go" has it: the UDP socket first, the link pushed after.
  const set = new TransportSet([udp, ws]);
  try {
    set.setReceiver((d, from) => set.send(from, d)); // an echo: answers go to where the datagram came from
    set.send(relay, new TextEncoder().encode('to the relay'));
    deliver!(new TextEncoder().encode('from the relay'), relay);
    assert.deepEqual(sent, ['to the relay', 'from the relay'], 'datagrams to the relay went out through the UDP socket, not its WebSocket link');
    assert.equal(udp.counters.get('tx'), 0);
  } finally {
    set.close();
  }
});

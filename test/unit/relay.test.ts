// Relaying in the kernel without root: the nft script (src/firewall/relayforward.ts), the
// session bookkeeping (src/relay/sessions.ts) and the relay side of the kernel path
// (src/relay/kernel.ts) driven end to end over fake transports with real sealed messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_KERNEL_FAILURES, RELAY_KERNEL_INSTALL_GAP, RELAY_KERNEL_REFRESH } from '../../src/params.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret } from '../../src/crypto/keys.js';
import { SecureChannel } from '../../src/proto/channel.js';
import type { Addr } from '../../src/proto/addr.js';
import { ERR_REFUSED, type Message } from '../../src/proto/messages.js';
import { Rpc, type Reply, type RpcHandler } from '../../src/dht/rpc.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { randomBytes } from '../../src/util/random.js';
import { FakeNet, FakeTransport, quietLog } from './fakenet.js';
import { FirewallError } from '../../src/firewall/index.js';
import { parseRouteGet, relayForwardRefreshRules, relayForwardRules, sessionShare, type ForwardSession, type Hop } from '../../src/firewall/relayforward.js';
import { RelaySessions } from '../../src/relay/sessions.js';
import { KernelRelay, type KernelForwardDeps } from '../../src/relay/kernel.js';

const sodium = await sodiumReady();

// ---- relayForwardRules / parseRouteGet ----------------------------------------------------------

const LIMITS = { sessionPps: 5000, globalPps: 20000, expirySeconds: 12 };
const WG_FILTER = '@th,64,32 != { 0x01000000, 0x02000000, 0x03000000, 0x04000000 } return';
// WireGuard's message lengths (UDP length = 8 + message): 148, 92, 64, and >= 32 with (n - 16) % 16 == 0.
const SHAPE = [
  '@th,64,32 0x01000000 udp length != 156 counter name "malformed" drop',
  '@th,64,32 0x02000000 udp length != 100 counter name "malformed" drop',
  '@th,64,32 0x03000000 udp length != 72 counter name "malformed" drop',
  '@th,64,32 0x04000000 udp length < 40 counter name "malformed" drop',
  '@th,64,32 0x04000000 udp length < 616 udp length & 0xf != 8 counter name "malformed" drop',
];

const s1: ForwardSession = {
  port: 40001,
  a: { host: '198.51.100.7', port: 51000, hop: { dev: 'eth0', via: '10.0.0.1' } },
  b: { host: '203.0.113.9', port: 52000, hop: { dev: 'eth1', via: '203.0.113.9' } },
};
const s2: ForwardSession = {
  port: 40002,
  a: { host: '192.0.2.44', port: 61000, hop: { dev: 'eth1', via: '192.0.2.44' } },
  b: { host: '203.0.113.10', port: 62000, hop: { dev: 'eth1', via: '203.0.113.10' } },
};

test('relayForwardRules: no sessions, a table with the global limit only (no chain, no hook)', () => {
  const s = relayForwardRules('wirehub-relay', [], { sessionPps: 100, globalPps: 1000, expirySeconds: 12 });
  assert.equal(s, [
    'table netdev wirehub-relay {',
    '  counter malformed {',
    '  }',
    '  limit global {',
    '    rate over 1000/second burst 100 packets',
    '  }',
    '}',
  ].join('\n') + '\n');
  assert.ok(!s.includes('chain'));
  assert.ok(!s.includes('hook'));
});

test('relayForwardRules: two sessions, one limit and chain each, one ingress chain per device', () => {
  const s = relayForwardRules('wirehub-relay', [s1, s2], LIMITS);
  const lines = s.trimEnd().split('\n').map((l) => l.trim());
  assert.equal(lines[0], 'table netdev wirehub-relay {');
  assert.equal(s.split('{').length, s.split('}').length, 'braces balance');
  for (const l of s.trimEnd().split('\n')) if (l.includes('}') && !l.includes('{')) assert.match(l, /^\s*\}$/, l);

  // Limits: the global one, and one per session (5000/s: below its fair share, 20000 / 2).
  assert.equal(lines.filter((l) => l === 'limit global {').length, 1);
  assert.equal(lines.filter((l) => l === 'rate over 20000/second burst 2000 packets').length, 1);
  assert.equal(lines.filter((l) => l === 'rate over 5000/second burst 500 packets').length, 2);
  assert.equal(lines.filter((l) => /^limit s\d+ \{$/.test(l)).length, 2);
  assert.ok(lines.includes('limit s40001 {'));
  assert.ok(lines.includes('limit s40002 {'));

  // One chain per session: fragments and non-WireGuard datagrams go up; per member, both limits
  // and a rewrite; WireGuard datagrams from anyone else are dropped.
  assert.equal(lines.filter((l) => /^chain s\d+ \{$/.test(l)).length, 2);
  for (const sess of [s1, s2]) {
    const start = lines.indexOf(`chain s${sess.port} {`);
    assert.ok(start > 0);
    const body = lines.slice(start + 1, lines.indexOf('}', start));
    const ma = `ip saddr ${sess.a.host} udp sport ${sess.a.port}`, mb = `ip saddr ${sess.b.host} udp sport ${sess.b.port}`;
    assert.deepEqual(body, [
      'ip frag-off & 0x3fff != 0 return',
      WG_FILTER,
      ...SHAPE,
      `${ma} limit name "s${sess.port}" drop`,
      `${ma} limit name "global" drop`,
      `${ma} counter ip saddr set ip daddr ip daddr set ${sess.b.host} ` +
        `udp sport set ${sess.port} udp dport set ${sess.b.port} fwd ip to ${sess.b.hop.via} device "${sess.b.hop.dev}"`,
      `${mb} limit name "s${sess.port}" drop`,
      `${mb} limit name "global" drop`,
      `${mb} counter ip saddr set ip daddr ip daddr set ${sess.a.host} ` +
        `udp sport set ${sess.port} udp dport set ${sess.a.port} fwd ip to ${sess.a.hop.via} device "${sess.a.hop.dev}"`,
      'counter drop',
    ]);
  }
  assert.equal(lines.filter((l) => l === WG_FILTER).length, 2);

  // Ingress chains: eth0 and eth1 (eth1 used by three members, still one chain), each with the
  // verdict map of every session port.
  // Only datagrams addressed to the relay itself (see the e2e test of a forged source).
  const vmap = 'meta protocol ip fib daddr type local udp dport vmap @ports';
  // The verdict map: one element per session, each expiring unless refreshed.
  const mapAt = lines.indexOf('map ports {');
  assert.deepEqual(lines.slice(mapAt + 1, lines.indexOf('}', mapAt)), [
    'type inet_service : verdict',
    'flags timeout',
    'elements = { 40001 timeout 12s : jump s40001, 40002 timeout 12s : jump s40002 }',
  ]);
  assert.equal(lines.filter((l) => /^chain in\d+ \{$/.test(l)).length, 2);
  for (const [i, dev] of ['eth0', 'eth1'].entries()) {
    const start = lines.indexOf(`chain in${i} {`);
    assert.ok(start > 0, `chain in${i}`);
    assert.deepEqual(lines.slice(start + 1, lines.indexOf('}', start)), [
      `type filter hook ingress device "${dev}" priority filter; policy accept;`,
      vmap,
    ]);
  }
  assert.equal(lines.filter((l) => l.includes('hook ingress')).length, 2);
  assert.equal(lines.at(-1), '}');
});

test('relayForwardRules: rejections throw FirewallError', () => {
  const bad = (sessions: ForwardSession[], limits = LIMITS, table = 'wirehub-relay') =>
    assert.throws(() => relayForwardRules(table, sessions, limits), FirewallError);
  const withA = (a: Partial<ForwardSession['a']>) => ({ ...s1, a: { ...s1.a, ...a } });
  // IPv6 member or next hop.
  bad([withA({ host: 'fd00::1' })]);
  bad([withA({ hop: { dev: 'eth0', via: '2001:db8::1' } })]);
  bad([withA({ host: '300.1.1.1' })]);
  // Ports.
  bad([{ ...s1, port: 0 }]);
  bad([{ ...s1, port: 65536 }]);
  bad([{ ...s1, port: 1.5 }]);
  bad([withA({ port: 0 })]);
  bad([withA({ port: 65536 })]);
  bad([s1, { ...s2, port: s1.port }]);
  // Devices.
  bad([withA({ hop: { dev: 'a b', via: '10.0.0.1' } })]);
  bad([withA({ hop: { dev: 'a'.repeat(16), via: '10.0.0.1' } })]);
  bad([withA({ hop: { dev: 'eth0"; drop', via: '10.0.0.1' } })]);
  bad([withA({ hop: { dev: '', via: '10.0.0.1' } })]);
  // Rates (checked even without sessions).
  bad([], { sessionPps: 0, globalPps: 100, expirySeconds: 12 });
  bad([], { sessionPps: 100, globalPps: 100, expirySeconds: 0 });
  bad([], { sessionPps: 100, globalPps: -1, expirySeconds: 12 });
  bad([], { sessionPps: 1.5, globalPps: 100, expirySeconds: 12 });
  bad([], { sessionPps: 100, globalPps: Number.NaN, expirySeconds: 12 });
  // Table name.
  bad([], LIMITS, '1table');
  bad([], LIMITS, 'a b');
  bad([], LIMITS, '');
  bad([], LIMITS, 'x; flush ruleset');
  // A 15-character device name is fine.
  assert.doesNotThrow(() => relayForwardRules('wirehub-relay', [withA({ hop: { dev: 'a'.repeat(15), via: '10.0.0.1' } })], LIMITS));
});

test('parseRouteGet: device and next hop, or undefined', () => {
  assert.deepEqual(parseRouteGet('[{"dst":"10.9.0.3","dev":"e0","prefsrc":"10.9.0.2","flags":[],"uid":0,"cache":[]}]', '10.9.0.3'),
    { dev: 'e0', via: '10.9.0.3' });
  assert.deepEqual(parseRouteGet('[{"dst":"8.8.8.8","gateway":"10.0.0.1","dev":"eth0","prefsrc":"10.0.0.2","flags":[],"uid":0,"cache":[]}]', '8.8.8.8'),
    { dev: 'eth0', via: '10.0.0.1' });
  assert.equal(parseRouteGet('[{"type":"local","dst":"10.9.0.2","dev":"lo","prefsrc":"10.9.0.2","flags":[],"uid":0,"cache":["local"]}]', '10.9.0.2'), undefined);
  assert.equal(parseRouteGet('[{"type":"broadcast","dst":"10.9.0.255","dev":"e0","flags":[]}]', '10.9.0.255'), undefined);
  assert.equal(parseRouteGet('not json', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('[]', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('{}', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('[1]', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('[{"dst":"10.9.0.3"}]', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('[{"dst":"10.9.0.3","dev":"a b"}]', '10.9.0.3'), undefined);
  // An IPv6 gateway cannot be a `fwd ip to` hop.
  assert.equal(parseRouteGet('[{"dst":"8.8.8.8","gateway":"fe80::1","dev":"eth0"}]', '8.8.8.8'), undefined);
});

test('parseRouteGet: a null entry is garbage too', () => {
  assert.equal(parseRouteGet('[null]', '10.9.0.3'), undefined);
  assert.equal(parseRouteGet('["eth0"]', '10.9.0.3'), undefined);
});

// ---- RelaySessions -------------------------------------------------------------------------------

const KA = 'aa'.repeat(32), KB = 'bb'.repeat(32), KC = 'cc'.repeat(32);
const openA: Addr = { host: '198.51.100.7', port: 62096 }, boundA: Addr = { host: '198.51.100.7', port: 51000 };
const openB: Addr = { host: '203.0.113.9', port: 62096 }, boundB: Addr = { host: '203.0.113.9', port: 52000 };

function twoMembers(lifetime = 1000, port = 40001): RelaySessions {
  const s = new RelaySessions(256, lifetime);
  assert.equal(s.open(KA, KB, openA, 0), 'ok');
  assert.equal(s.open(KB, KA, openB, 0), 'ok');
  s.setPort(KA, KB, port);
  return s;
}

test('RelaySessions.bind: only a live member, at its session\'s port', () => {
  const s = new RelaySessions(256, 1000);
  s.open(KA, KB, openA, 0);
  s.open(KB, KA, openB, 0);
  assert.equal(s.bind(KA, KB, 40001, boundA, 0), false, 'no port yet');
  s.setPort(KB, KA, 40001);
  assert.equal(s.portOf(KA, KB), 40001);
  assert.equal(s.bind(KC, KA, 40001, boundA, 0), false, 'not a member');
  assert.equal(s.bind(KA, KC, 40001, boundA, 0), false, 'no such session');
  assert.equal(s.bind(KA, KB, 40002, boundA, 0), false, 'another port');
  assert.equal(s.bind(KA, KB, 40001, boundA, 1001), false, 'expired member');
  assert.equal(s.bind(KA, KB, 40001, boundA, 1000), true, 'live until its last millisecond');
});

test('RelaySessions.boundSessions: once both members are bound, with the bound addresses', () => {
  const s = twoMembers();
  assert.deepEqual(s.boundSessions(0), []);
  assert.ok(s.bind(KA, KB, 40001, boundA, 0));
  assert.deepEqual(s.boundSessions(0), [], 'one member bound');
  assert.ok(s.bind(KB, KA, 40001, boundB, 0));
  assert.deepEqual(s.boundSessions(0), [{ port: 40001, a: boundA, b: boundB }]);
  // The daemon path still uses the relay-open addresses.
  assert.deepEqual(s.route(KA, KB, 0), openB);
  assert.deepEqual(s.route(KB, KA, 0), openA);
  // A new bind moves the member's bound address.
  const movedA = { host: '198.51.100.7', port: 51999 };
  assert.ok(s.bind(KA, KB, 40001, movedA, 10));
  assert.deepEqual(s.boundSessions(10), [{ port: 40001, a: movedA, b: boundB }]);
});

test('RelaySessions: an expired member drops the session from boundSessions; ports() forgets expired sessions', () => {
  const s = new RelaySessions(256, 1000);
  s.open(KA, KB, openA, 0);
  s.open(KB, KA, openB, 500);
  s.setPort(KA, KB, 40001);
  assert.ok(s.bind(KA, KB, 40001, boundA, 600));
  assert.ok(s.bind(KB, KA, 40001, boundB, 600));
  assert.equal(s.boundSessions(900).length, 1);
  assert.deepEqual(s.boundSessions(1200), [], 'A expired at 1000');
  assert.deepEqual([...s.ports(1200)], [40001], 'B still holds the session');
  assert.deepEqual([...s.ports(1501)], [], 'both expired');
  assert.equal(s.size, 0);
  assert.equal(s.portOf(KA, KB), undefined);
  // A re-opened session has no port, and nothing bound, until given one.
  s.open(KA, KB, openA, 2000);
  s.open(KB, KA, openB, 2000);
  assert.equal(s.portOf(KA, KB), undefined);
  s.setPort(KA, KB, 40005);
  assert.deepEqual(s.boundSessions(2000), []);
});

test('RelaySessions: a relay-open renewal keeps the member\'s bound address', () => {
  const s = twoMembers();
  assert.ok(s.bind(KA, KB, 40001, boundA, 0));
  assert.ok(s.bind(KB, KA, 40001, boundB, 0));
  const newOpenA = { host: '198.51.100.8', port: 62096 };
  assert.equal(s.open(KA, KB, newOpenA, 800), 'ok');
  assert.equal(s.open(KB, KA, openB, 800), 'ok');
  assert.deepEqual(s.boundSessions(1500), [{ port: 40001, a: boundA, b: boundB }], 'renewed past the first lifetime, still bound');
  assert.deepEqual(s.route(KB, KA, 1500), newOpenA);
  assert.equal(s.portOf(KA, KB), 40001);
});

// ---- KernelRelay ---------------------------------------------------------------------------------

const RELAY_HOST = '192.0.2.1';
const NAMESPACE = 'relay-test';

const noHandler: RpcHandler = { onRequest: () => undefined, onOneWay: () => undefined };

interface Peer {
  channel: SecureChannel;
  rpc: Rpc;
  hex: string;
  addr: Addr;
}

interface Harness {
  net: FakeNet;
  clock: VirtualClock;
  sessions: RelaySessions;
  relay: SecureChannel;
  parent: Rpc;
  kernel: KernelRelay;
  log: ReturnType<typeof quietLog>;
  installs: ForwardSession[][];
  removes: number;
  routed: string[];
  opened: { port: number; transport: FakeTransport }[];
  routes: Map<string, Hop | undefined>;
  installFails: boolean;
  installDelayMs: number;
  refreshes: number[][];
  refreshFails: boolean;
  time: number;
  peer(addr: Addr): Peer;
  close(): Promise<void>;
}

function harness(opts: { lifetime?: number } = {}): Harness {
  const net = new FakeNet();
  const clock = new VirtualClock();
  const relay = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE });
  const parent = new Rpc(relay, net.bind({ host: RELAY_HOST, port: 62096 }), clock, randomBytes, noHandler);
  const sessions = new RelaySessions(256, opts.lifetime ?? 30_000);
  const peers: Peer[] = [];
  let nextPort = 40001;
  const h: Harness = {
    net, clock, sessions, relay, parent,
    kernel: undefined as unknown as KernelRelay,
    log: quietLog(),
    installs: [], removes: 0, routed: [], opened: [],
    routes: new Map<string, Hop | undefined>([
      ['198.51.100.7', { dev: 'eth0', via: '10.0.0.1' }],
      ['203.0.113.9', { dev: 'eth1', via: '203.0.113.9' }],
    ]),
    installFails: false,
    installDelayMs: 0,
    refreshes: [],
    refreshFails: false,
    time: 0,
    peer(addr: Addr): Peer {
      const channel = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE });
      const p = { channel, rpc: new Rpc(channel, net.bind(addr), clock, randomBytes, noHandler), hex: channel.publicHex, addr };
      peers.push(p);
      return p;
    },
    async close(): Promise<void> {
      await h.kernel.close();
      parent.close();
      for (const p of peers) p.rpc.close();
    },
  };
  const deps: KernelForwardDeps = {
    install: async (list) => {
      if (h.installDelayMs > 0) await new Promise((r) => setTimeout(r, h.installDelayMs));
      h.installs.push(structuredClone([...list]));
      if (h.installFails) throw new Error('nft: Operation not supported');
    },
    remove: async () => { h.removes++; },
    refresh: async (ports) => {
      h.refreshes.push([...ports]);
      if (h.refreshFails) throw new Error('nft: No such file or directory');
    },
    route: async (host) => { h.routed.push(host); return h.routes.get(host); },
    openPort: async () => {
      const port = nextPort++;
      const transport = net.bind({ host: RELAY_HOST, port });
      h.opened.push({ port, transport });
      return { port, transport };
    },
  };
  h.kernel = new KernelRelay(sessions, parent, deps, h.log, () => h.time);
  return h;
}

/** Sends a sealed relay-bind (naming `other`) from `from` to the relay's session port. */
async function bind(h: Harness, from: Peer, other: Uint8Array, port: number, to: Uint8Array = h.relay.publicKey): Promise<Reply | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), 2000); });
  try {
    return await Promise.race([
      from.rpc.request({ host: RELAY_HOST, port }, to, (x): Message => ({ t: 'relay-bind', x, k: other })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function bound(r: Reply | undefined): { a: Addr; r: number } {
  assert.ok(r !== undefined, 'no reply');
  assert.equal(r.msg.t, 'relay-bound', `reply ${r.msg.t}`);
  const m = r.msg as Extract<Message, { t: 'relay-bound' }>;
  return { a: m.a, r: m.r };
}

/** Two members (A and B) with an open session on the relay, and its port. */
async function withSession(h: Harness): Promise<{ A: Peer; B: Peer; port: number }> {
  const A = h.peer({ host: '198.51.100.7', port: 51000 });
  const B = h.peer({ host: '203.0.113.9', port: 52000 });
  // Their relay-opens came from another port (to the relay's DHT port) than the binds will.
  assert.equal(h.sessions.open(A.hex, B.hex, { host: A.addr.host, port: 62096 }, h.time), 'ok');
  assert.equal(h.sessions.open(B.hex, A.hex, { host: B.addr.host, port: 62096 }, h.time), 'ok');
  const port = await h.kernel.portFor(A.hex, B.hex);
  assert.ok(port !== undefined);
  return { A, B, port };
}

test('KernelRelay.portFor: one port per session, bound once (also for concurrent calls)', async () => {
  const h = harness();
  try {
    h.sessions.open(KA, KB, openA, 0);
    h.sessions.open(KB, KA, openB, 0);
    const [p1, p2] = await Promise.all([h.kernel.portFor(KA, KB), h.kernel.portFor(KB, KA)]);
    assert.equal(h.opened.length, 1);
    assert.ok(p1 !== undefined);
    assert.equal(p1, p2);
    assert.equal(await h.kernel.portFor(KA, KB), p1);
    assert.equal(await h.kernel.portFor(KB, KA), p1);
    assert.equal(h.opened.length, 1);
    assert.equal(h.sessions.portOf(KA, KB), p1);
    // Another session gets another port.
    h.sessions.open(KA, KC, openA, 0);
    const p3 = await h.kernel.portFor(KC, KA);
    assert.ok(p3 !== undefined && p3 !== p1);
    assert.equal(h.opened.length, 2);
  } finally {
    await h.close();
  }
});

test('KernelRelay.portFor: no session, no port (and no socket left open)', async () => {
  const h = harness();
  try {
    assert.equal(await h.kernel.portFor(KA, KB), undefined);
    assert.equal(h.opened.length, 1);
    assert.equal(h.opened[0]!.transport.closed, true);
    assert.equal(h.sessions.portOf(KA, KB), undefined);
  } finally {
    await h.close();
  }
});

test('KernelRelay: install once both members are bound, with the bind addresses and routes; r=1 then', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    const r1 = bound(await bind(h, A, B.channel.publicKey, port));
    assert.deepEqual(r1, { a: A.addr, r: 0 }, 'only A bound: not forwarded yet');
    assert.ok(!h.installs.some((l) => l.some((s) => s.port === port)), 'nothing installed for the session');
    assert.equal(h.kernel.forwarding, 0);

    const r2 = bound(await bind(h, B, A.channel.publicKey, port));
    assert.deepEqual(r2, { a: B.addr, r: 1 });
    assert.equal(h.installs.length, 1);
    assert.deepEqual(h.installs[0], [{
      port,
      a: { host: A.addr.host, port: A.addr.port, hop: { dev: 'eth0', via: '10.0.0.1' } },
      b: { host: B.addr.host, port: B.addr.port, hop: { dev: 'eth1', via: '203.0.113.9' } },
    }]);
    assert.equal(h.kernel.forwarding, 1);
    assert.ok(h.kernel.forwards(port, A.addr));
    assert.ok(h.kernel.forwards(port, B.addr));
    assert.ok(!h.kernel.forwards(port, { host: A.addr.host, port: 62096 }), 'not the relay-open address');
    assert.equal(h.parent.counters.get('relay-kernel-install'), 1);

    // A binds again: now forwarded; the rules are unchanged, so not reinstalled.
    assert.deepEqual(bound(await bind(h, A, B.channel.publicKey, port)), { a: A.addr, r: 1 });
    assert.equal(h.installs.length, 1);
    assert.equal(h.kernel.forwarding, 1);
    assert.equal(h.kernel.enabled, true);
    assert.equal(h.removes, 0);
    // The replies left from the session's port, to the bind source addresses.
    const sessionT = h.opened[0]!.transport;
    assert.deepEqual(sessionT.sent.map((s) => s.to), [A.addr, B.addr, A.addr]);
    assert.equal(h.parent.counters.get('relay-bind-refused'), 0);
  } finally {
    await h.close();
  }
  assert.equal(h.removes, 1, 'close removes the rules');
  assert.equal(h.opened[0]!.transport.closed, true, 'close closes the session sockets');
});

test('KernelRelay: a bind from a key that is not a member is refused', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    const C = h.peer({ host: '192.0.2.77', port: 3333 });
    const r = await bind(h, C, A.channel.publicKey, port);
    assert.ok(r !== undefined, 'no reply');
    assert.equal(r.msg.t, 'error');
    assert.equal((r.msg as Extract<Message, { t: 'error' }>).c, ERR_REFUSED);
    assert.equal(h.parent.counters.get('relay-bind-refused'), 1);
    assert.equal(h.installs.length, 0);
    // A member naming a stranger is refused too (no such session).
    const r2 = await bind(h, B, C.channel.publicKey, port);
    assert.equal(r2?.msg.t, 'error');
    assert.equal(h.parent.counters.get('relay-bind-refused'), 2);
    // The members themselves are still welcome.
    assert.equal(bound(await bind(h, A, B.channel.publicKey, port)).r, 0);
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 1);
    assert.equal(h.parent.counters.get('relay-bind-refused'), 2);
  } finally {
    await h.close();
  }
});

test('KernelRelay: a bind sealed to another key, or garbage, gets no reply', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    const other = new SecureChannel(sodium, { secret: generateSecret(sodium), workbit: 0, namespace: NAMESPACE });
    const sessionT = h.opened[0]!.transport;
    // Sent to the session port but sealed for a key the relay does not hold: dropped by the channel.
    const p = A.rpc.request({ host: RELAY_HOST, port }, other.publicKey, (x): Message => ({ t: 'relay-bind', x, k: B.channel.publicKey }));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(sessionT.sent.length, 0);
    A.rpc.close(); // resolves the pending request
    assert.equal(await p, undefined);
    sessionT.receiver!(new Uint8Array([1, 0, 0, 0, 9, 9, 9, 9]), A.addr); // a WireGuard-looking datagram
    await new Promise((r) => setImmediate(r));
    assert.equal(sessionT.sent.length, 0);
    assert.equal(h.installs.length, 0);
  } finally {
    await h.close();
  }
});

test('KernelRelay: no route to a member, no install; the members stay on the daemon path', async () => {
  const h = harness();
  h.routes.set('203.0.113.9', undefined);
  try {
    const { A, B, port } = await withSession(h);
    assert.equal(bound(await bind(h, A, B.channel.publicKey, port)).r, 0);
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 0);
    assert.ok(h.routed.includes('203.0.113.9'));
    assert.ok(!h.installs.some((l) => l.length > 0), 'the session is never installed');
    assert.equal(h.kernel.forwarding, 0);
    assert.equal(h.kernel.enabled, true);
    assert.equal(bound(await bind(h, A, B.channel.publicKey, port)).r, 0);
  } finally {
    await h.close();
  }
});

test('KernelRelay: a failed install keeps the rules in force and is retried; after RELAY_KERNEL_FAILURES in a row, relaying in the kernel turns off', async () => {
  const h = harness();
  h.installFails = true;
  try {
    const { A, B, port } = await withSession(h);
    assert.equal(bound(await bind(h, A, B.channel.publicKey, port)).r, 0);
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 0);
    assert.equal(h.installs.length, 1);
    assert.equal(h.kernel.enabled, true, 'one failure: still on, retried');
    assert.equal(h.removes, 0);
    const routesBefore = h.routed.length;
    h.time += RELAY_KERNEL_INSTALL_GAP; // (installs are paced)
    await h.kernel.sync();
    assert.ok(h.routed.length > routesBefore, 'routes are read again after a failure');
    assert.equal(h.installs.length, 2);
    assert.equal(h.kernel.enabled, true);
    for (let i = 2; i < RELAY_KERNEL_FAILURES; i++) { h.time += RELAY_KERNEL_INSTALL_GAP; await h.kernel.sync(); }
    assert.equal(h.installs.length, RELAY_KERNEL_FAILURES);
    assert.equal(h.kernel.enabled, false);
    assert.equal(h.removes, 1);
    assert.equal(h.kernel.forwarding, 0);
    assert.ok(!h.kernel.forwards(port, A.addr));
    assert.equal(h.log.warns.length, RELAY_KERNEL_FAILURES);
    // No more session ports.
    h.sessions.open(KA, KC, openA, 0);
    assert.equal(await h.kernel.portFor(KA, KC), undefined);
    assert.equal(h.opened.length, 1);
    // Nor further install attempts.
    h.time += RELAY_KERNEL_INSTALL_GAP;
    await h.kernel.sync();
    assert.equal(h.installs.length, RELAY_KERNEL_FAILURES);
  } finally {
    await h.close();
  }
});

test('KernelRelay: a reassembled WireGuard datagram reaching the session socket is forwarded between the bound members only', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    bound(await bind(h, A, B.channel.publicKey, port));
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 1);
    const sock = h.opened.find((o) => o.port === port)!.transport;
    const wg = new Uint8Array(48).fill(9);
    wg.set([4, 0, 0, 0]);
    const sentBefore = sock.sent.length;
    sock.receiver!(wg, A.addr);
    assert.equal(sock.sent.length, sentBefore + 1);
    assert.deepEqual(sock.sent.at(-1)!.to, B.addr);
    assert.deepEqual([...sock.sent.at(-1)!.data], [...wg]);
    sock.receiver!(wg, B.addr);
    assert.deepEqual(sock.sent.at(-1)!.to, A.addr);
    // From anyone else: dropped and counted, never forwarded.
    sock.receiver!(wg, { host: '192.0.2.99', port: 1 });
    assert.equal(sock.sent.length, sentBefore + 2);
    assert.equal(h.parent.counters.get('relay-port-not-member'), 1);
    assert.equal(h.parent.counters.get('relay-port-forwarded'), 2);
    // Not shaped like WireGuard (a transport message of 47 bytes, an initiation of 100): dropped.
    sock.receiver!(wg.subarray(0, 47), A.addr);
    const init = new Uint8Array(100);
    init.set([1, 0, 0, 0]);
    sock.receiver!(init, A.addr);
    assert.equal(sock.sent.length, sentBefore + 2);
    assert.equal(h.parent.counters.get('relay-port-malformed'), 2);
  } finally {
    await h.close();
  }
});

test('KernelRelay.sync: an expired session loses its socket and its rules', async () => {
  const h = harness({ lifetime: 1000 });
  try {
    const { A, B, port } = await withSession(h);
    assert.equal(bound(await bind(h, A, B.channel.publicKey, port)).r, 0);
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 1);
    assert.equal(h.installs.length, 1);
    const sessionT = h.opened[0]!.transport;
    h.time = 500;
    await h.kernel.sync();
    assert.equal(sessionT.closed, false, 'still live');
    assert.equal(h.installs.length, 1, 'unchanged rules are not reinstalled');
    h.time = 1500;
    await h.kernel.sync();
    assert.equal(sessionT.closed, true);
    assert.deepEqual(h.installs.at(-1), []);
    assert.equal(h.installs.length, 2);
    assert.equal(h.kernel.forwarding, 0);
    assert.ok(!h.kernel.forwards(port, A.addr));
    // A bind to the closed port goes nowhere.
    const r = await Promise.race([bind(h, A, B.channel.publicKey, port), new Promise((res) => setTimeout(() => res('none'), 20))]);
    assert.equal(r, 'none');
  } finally {
    await h.close();
  }
});

test('KernelRelay.sync: concurrent calls are serialized and the last state wins', async () => {
  const h = harness({ lifetime: 1000 });
  try {
    const { A, B, port } = await withSession(h);
    assert.ok(h.sessions.bind(A.hex, B.hex, port, A.addr, 0));
    assert.ok(h.sessions.bind(B.hex, A.hex, port, B.addr, 0));
    const first = h.kernel.sync();
    h.time = 1500; // expires before the second call
    const second = h.kernel.sync();
    await Promise.all([first, second]);
    assert.deepEqual(h.installs.map((l) => l.length), [1, 0]);
    assert.equal(h.kernel.forwarding, 0);
  } finally {
    await h.close();
  }
});

test('KernelRelay: a relay-bind is answered after one sync pass, however many syncs others keep asking for', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    bound(await bind(h, A, B.channel.publicKey, port));
    // Every pass reinstalls (a member's address keeps changing) and takes 5 ms; syncs are asked
    // for without pause. The bind must still be answered.
    h.installDelayMs = 5;
    let stop = false, n = 0;
    const churn = (async () => {
      while (!stop) {
        h.sessions.bind(A.hex, B.hex, port, { host: A.addr.host, port: 50000 + (n++ % 1000) }, h.time);
        void h.kernel.sync();
        await new Promise((r) => setImmediate(r));
      }
    })();
    const t0 = Date.now();
    const reply = await bind(h, B, A.channel.publicKey, port);
    const waited = Date.now() - t0;
    stop = true;
    await churn;
    assert.equal(bound(reply).a.port, B.addr.port);
    assert.ok(waited < 1000, `answered after ${waited} ms`);
  } finally {
    await h.close();
  }
});

test('KernelRelay.sync: unchanged forwarding is refreshed (its kernel expiry restarted) at most once per RELAY_KERNEL_REFRESH; a failed refresh reinstalls', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    bound(await bind(h, A, B.channel.publicKey, port));
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 1);
    assert.equal(h.installs.length, 1);
    h.time = RELAY_KERNEL_REFRESH - 1;
    await h.kernel.sync();
    assert.deepEqual(h.refreshes, [], 'too soon');
    h.time = RELAY_KERNEL_REFRESH;
    await h.kernel.sync();
    assert.deepEqual(h.refreshes, [[port]]);
    assert.equal(h.installs.length, 1, 'a refresh, not a reinstall');
    h.time += 1;
    await h.kernel.sync();
    assert.equal(h.refreshes.length, 1);
    // The refresh fails (the elements expired meanwhile): the forwarding is installed again.
    h.refreshFails = true;
    h.time += RELAY_KERNEL_REFRESH;
    await h.kernel.sync();
    assert.equal(h.refreshes.length, 2);
    assert.equal(h.installs.length, 2);
    assert.deepEqual(h.installs[1], h.installs[0]);
    assert.equal(h.kernel.forwarding, 1);
  } finally {
    await h.close();
  }
});

test('relayForwardRules: each session gets its fair share of the global rate; refresh rules restart the map elements\' expiry', () => {
  const three = [s1, s2, { ...s2, port: 40003 }];
  const s = relayForwardRules('wirehub-relay', three, { sessionPps: 50_000, globalPps: 100_000, expirySeconds: 12 });
  assert.equal(s.split('\n').filter((l) => l.trim() === 'rate over 33333/second burst 3333 packets').length, 3);
  assert.equal(sessionShare({ sessionPps: 50_000, globalPps: 100_000 }, 1), 50_000);
  assert.equal(sessionShare({ sessionPps: 50_000, globalPps: 100_000 }, 1000), 100);
  assert.equal(sessionShare({ sessionPps: 50_000, globalPps: 100 }, 1000), 1);
  assert.equal(relayForwardRefreshRules('wirehub-relay', [40001], 12), [
    'add element netdev wirehub-relay ports { 40001 timeout 12s : jump s40001 }',
    'delete element netdev wirehub-relay ports { 40001 }',
    'add element netdev wirehub-relay ports { 40001 timeout 12s : jump s40001 }',
  ].join('\n') + '\n');
  assert.throws(() => relayForwardRefreshRules('wirehub-relay', [0], 12), FirewallError);
  assert.throws(() => relayForwardRefreshRules('x; flush ruleset', [40001], 12), FirewallError);
});

test('KernelRelay: a member that rebinds from ever new ports cannot make the relay replace its table more than once per RELAY_KERNEL_INSTALL_GAP', async () => {
  const h = harness();
  try {
    const { A, B, port } = await withSession(h);
    bound(await bind(h, A, B.channel.publicKey, port));
    assert.equal(bound(await bind(h, B, A.channel.publicKey, port)).r, 1);
    const before = h.installs.length;
    // Each bind from a new source port changes the session's forwarding (a full `nft -f` of
    // every session's rules, ~0.2 s with 256 sessions here, and every limit starts afresh).
    const from = (i: number) => ({ ...A, addr: { host: A.addr.host, port: 30000 + i }, rpc: new Rpc(A.channel, h.net.bind({ host: A.addr.host, port: 30000 + i }), h.clock, randomBytes, noHandler) });
    for (let i = 0; i < 20; i++) {
      const a = from(i);
      bound(await bind(h, a, B.channel.publicKey, port));
      a.rpc.close();
      h.time += 10;
    }
    assert.ok(h.installs.length - before <= 1, `${h.installs.length - before} installs for 20 rebinds within ${20 * 10} ms`);
    // Once the gap has passed, the member's latest address is installed and forwarded.
    h.time += RELAY_KERNEL_INSTALL_GAP;
    const last = from(99);
    assert.equal(bound(await bind(h, last, B.channel.publicKey, port)).r, 1);
    assert.ok(h.kernel.forwards(port, last.addr));
    last.rpc.close();
  } finally {
    await h.close();
  }
});

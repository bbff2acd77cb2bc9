// Relaying through DHT peers: failover to another relay during a ping flood, and the upgrade
// from a relayed path to a direct one when a NAT changes. Real wireguard-go, real NATs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WhNet } from './whnet.js';
import { PEER_TICK, RELAY_KERNEL_EXPIRY_SECONDS } from '../../src/params.js';

/** Longest run of lost pings (in seconds) in `ping -i INTERVAL -O` output. */
function longestGap(output: string, count: number, interval: number): { lost: number; gapSeconds: number } {
  const got = new Set<number>();
  for (const m of output.matchAll(/icmp_seq=(\d+) ttl=/g)) got.add(Number(m[1]));
  let run = 0, worst = 0;
  for (let s = 1; s <= count; s++) {
    if (got.has(s)) run = 0; else worst = Math.max(worst, ++run);
  }
  return { lost: count - got.size, gapSeconds: worst * interval };
}

async function relayedPair(w: WhNet): Promise<void> {
  await w.addNode('boot1', { role: 'boot' });
  await w.addNode('boot2', { role: 'boot' });
  await w.addNode('a', { nat: 'symmetric' });
  await w.addNode('b', { nat: 'symmetric' });
  w.writeConfigs(['a', 'b']);
  for (const n of ['boot1', 'boot2', 'a', 'b']) await w.up(n);
  assert.ok(await w.pingUntil('a', w.nodes.get('b')!.overlayIp!, 15_000) >= 0, 'a -> b over a relay');
  // `relay` is printed once WireGuard received b through the link: at the daemon's next
  // WireGuard samples (every PEER_TICK) after the ping's echo.
  const end = Date.now() + 4 * PEER_TICK;
  let path = (await w.show('a')).peers[0]!.path;
  while (path !== 'relay' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    path = (await w.show('a')).peers[0]!.path;
  }
  assert.equal(path, 'relay');
}

test('relay failover: the relay\'s host dies during a ping flood; < 10 s of loss, then another relay carries the traffic', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('fail');
  try {
    await relayedPair(w);
    const relayKey = (await w.show('a')).peers[0]!.relay!;
    const relayNode = [...w.nodes.values()].find((n) => n.publicKey === relayKey);
    assert.ok(relayNode, `the relay is one of the boot nodes (${relayKey})`);
    const count = 250, interval = 0.1;
    const flood = w.net.exec(w.nodes.get('a')!.host, ['ping', '-i', String(interval), '-c', String(count), '-W', '1', w.nodes.get('b')!.overlayIp!], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5000));
    // The relay's host disappears: its daemon dies without a word, and its links go down (its
    // kernel, which forwarded the session, would otherwise go on doing so).
    relayNode.daemon!.kill('SIGKILL');
    const links = await w.net.exec(relayNode.host, ['ip', '-o', 'link', 'show']);
    for (const dev of links.stdout.split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((d): d is string => d !== undefined && d !== 'lo')) {
      await w.net.exec(relayNode.host, ['ip', 'link', 'set', dev, 'down']);
    }
    const out = await flood;
    const { lost, gapSeconds } = longestGap(out.stdout, count, interval);
    process.stdout.write(`relay failover: ${lost}/${count} pings lost, longest gap ${gapSeconds.toFixed(1)} s\n`);
    assert.ok(gapSeconds < 10, `longest loss ${gapSeconds} s`);
    const after = (await w.show('a')).peers[0]!;
    assert.equal(after.path, 'relay');
    assert.notEqual(after.relay, relayKey, 'another relay');
    assert.ok(await w.ping('a', w.nodes.get('b')!.overlayIp!), 'traffic flows after the failover');
  } finally {
    await w.destroy();
  }
});

test('upgrade: relayed behind symmetric NATs, one router turns endpoint-independent; direct within 30 s', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('upg');
  try {
    await relayedPair(w);
    const t0 = Date.now();
    await w.net.setNat(w.nodes.get('a')!.host.router!, 'full-cone');
    let path = 'relay';
    while (Date.now() - t0 < 30_000) {
      path = (await w.show('a')).peers[0]!.path;
      if (path === 'direct' && (await w.show('b')).peers[0]!.path === 'direct') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stdout.write(`upgrade: direct after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    assert.equal(path, 'direct', 'a sees b directly');
    assert.equal((await w.show('b')).peers[0]!.path, 'direct', 'b sees a directly');
    assert.ok(await w.ping('a', w.nodes.get('b')!.overlayIp!), 'ping over the direct path');
    // The sides left their relay session (relay-close) rather than letting it expire (30 s), so
    // no relay forwards between them any more. (Half sessions may linger: a node notified of a
    // punch opens its half at the rendezvous in case relaying is needed; they forward nothing.)
    const relays = ['boot1', 'boot2'];
    const tClose = Date.now();
    let forwarding = -1;
    while (Date.now() - tClose < 10_000) {
      forwarding = 0;
      for (const r of relays) forwarding += (await w.show(r)).relaying.kernel;
      if (forwarding === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stdout.write(`upgrade: relay forwarding gone ${((Date.now() - tClose) / 1000).toFixed(1)} s after the direct ping\n`);
    assert.equal(forwarding, 0, 'no relay forwards between them any more');
  } finally {
    await w.destroy();
  }
});

/** Packets the relay's kernel forwarded (sum of the counters in its netdev table). */
async function kernelForwarded(w: WhNet, name: string): Promise<number> {
  const r = await w.net.exec(w.nodes.get(name)!.host, ['nft', 'list', 'tables', 'netdev']);
  let total = 0;
  for (const t of r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('table netdev '))) {
    const rules = await w.net.exec(w.nodes.get(name)!.host, ['nft', 'list', 'table', 'netdev', t.slice('table netdev '.length)]);
    for (const m of rules.stdout.matchAll(/counter packets (\d+)/g)) total += Number(m[1]);
  }
  return total;
}

test('relaying in the kernel: once both sides bind, the relay forwards WireGuard datagrams in nftables, not in its daemon', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('krel');
  try {
    await relayedPair(w);
    const t0 = Date.now();
    let a = (await w.show('a')).peers[0]!, b = (await w.show('b')).peers[0]!;
    // The daemon records the kernel path before its `wg set` of the new endpoint returns: wait
    // for WireGuard's endpoint to follow too (it is asynchronous), within the same budget.
    const settled = () => a.relayForwarding === 'kernel' && b.relayForwarding === 'kernel' && a.wgEndpoint !== null && !a.wgEndpoint.startsWith('127.');
    while (!settled() && Date.now() - t0 < 15_000) {
      await new Promise((r) => setTimeout(r, 250));
      a = (await w.show('a')).peers[0]!;
      b = (await w.show('b')).peers[0]!;
    }
    process.stdout.write(`kernel relay: both sides bound after ${((Date.now() - t0) / 1000).toFixed(1)} s; a's endpoint ${a.wgEndpoint}\n`);
    assert.equal(a.relayForwarding, 'kernel');
    assert.equal(b.relayForwarding, 'kernel');
    assert.equal(a.relay, b.relay, 'one relay for both sides');
    const relayName = [...w.nodes.values()].find((n) => n.publicKey === a.relay)!.name;
    const relayShow = await w.show(relayName);
    assert.equal(relayShow.relaying.kernel, 1, 'the relay forwards one session in the kernel');
    // WireGuard's endpoint is the relay's session port, not a loopback socket.
    assert.ok(a.wgEndpoint !== null && !a.wgEndpoint.startsWith('127.'), `a's WireGuard endpoint ${a.wgEndpoint}`);
    const before = await kernelForwarded(w, relayName);
    const r = await w.net.exec(w.nodes.get('a')!.host, ['ping', '-c', '40', '-i', '0.05', '-W', '1', '-q', w.nodes.get('b')!.overlayIp!], { timeoutMs: 20_000 });
    const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
    const after = await kernelForwarded(w, relayName);
    process.stdout.write(`kernel relay: ${received}/40 pings, relay kernel counters +${after - before}\n`);
    assert.ok(received >= 38, `pings through the kernel path: ${received}/40`);
    assert.ok(after - before >= 2 * received, `the relay's nftables counters saw both directions (+${after - before})`);
    // wh down on the relay removes its forwarding table with everything else.
    const down = await w.down(relayName);
    assert.equal(down.code, 0, down.stderr);
    const tables = await w.net.exec(w.nodes.get(relayName)!.host, ['nft', 'list', 'tables']);
    assert.doesNotMatch(tables.stdout, /wirehub/, 'no wirehub table left on the relay');
  } finally {
    await w.destroy();
  }
});

test('a relay whose daemon is SIGKILLed stops forwarding in its kernel within RELAY_KERNEL_EXPIRY_SECONDS', { timeout: 150_000 }, async () => {
  const w = await WhNet.create('kill');
  try {
    // One relay only: when it dies, the members have nowhere to move, and WireGuard keeps
    // sending to its session port.
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('a', { nat: 'symmetric' });
    await w.addNode('b', { nat: 'symmetric' });
    w.writeConfigs(['a', 'b']);
    for (const n of ['boot1', 'a', 'b']) await w.up(n);
    const bIp = w.nodes.get('b')!.overlayIp!;
    assert.ok(await w.pingUntil('a', bIp, 15_000) >= 0, 'a -> b over the relay');
    const t0 = Date.now();
    let a = (await w.show('a')).peers[0]!, b = (await w.show('b')).peers[0]!;
    while ((a.relayForwarding !== 'kernel' || b.relayForwarding !== 'kernel') && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 250));
      a = (await w.show('a')).peers[0]!;
      b = (await w.show('b')).peers[0]!;
    }
    assert.equal(a.relayForwarding, 'kernel');
    assert.equal(b.relayForwarding, 'kernel');
    w.nodes.get('boot1')!.daemon!.kill('SIGKILL');
    const interval = 0.5, seconds = RELAY_KERNEL_EXPIRY_SECONDS + 10, count = seconds / interval;
    const r = await w.net.exec(w.nodes.get('a')!.host, ['ping', '-i', String(interval), '-c', String(count), '-W', '1', bIp], { timeoutMs: (seconds + 10) * 1000 });
    const seqs = [...r.stdout.matchAll(/icmp_seq=(\d+) ttl=/g)].map((m) => Number(m[1]));
    const last = seqs.length === 0 ? 0 : Math.max(...seqs) * interval;
    process.stdout.write(`relay SIGKILLed: ${seqs.length}/${count} pings answered in ${seconds} s, the last ${last.toFixed(1)} s after the kill\n`);
    assert.ok(seqs.length > 0, 'the kernel went on forwarding for a while (the test measures the kernel path)');
    assert.ok(last <= RELAY_KERNEL_EXPIRY_SECONDS + 1, `pings went through the dead relay's kernel ${last} s after the kill`);
  } finally {
    await w.destroy();
  }
});

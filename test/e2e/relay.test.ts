// Relaying through DHT peers: failover to another relay during a ping flood, and the upgrade
// from a relayed path to a direct one when a NAT changes. Real wireguard-go, real NATs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WhNet } from './whnet.js';

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
  assert.equal((await w.show('a')).peers[0]!.path, 'relay');
}

test('relay failover: the relay dies during a ping flood; < 10 s of loss, then another relay carries the traffic', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('fail');
  try {
    await relayedPair(w);
    const relayKey = (await w.show('a')).peers[0]!.relay!;
    const relayNode = [...w.nodes.values()].find((n) => n.publicKey === relayKey);
    assert.ok(relayNode, `the relay is one of the boot nodes (${relayKey})`);
    const count = 250, interval = 0.1;
    const flood = w.net.exec(w.nodes.get('a')!.host, ['ping', '-i', String(interval), '-c', String(count), '-W', '1', w.nodes.get('b')!.overlayIp!], { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 5000));
    relayNode.daemon!.kill('SIGKILL'); // the relay's daemon dies without a word
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
  } finally {
    await w.destroy();
  }
});

// The NAT grid's WebSocket rows (test/e2e/wsgrid.ts builds the world): nodes of networks that
// block UDP (micronet's 'web-only' router; 'proxy-only' with a real tinyproxy; a web-only node
// whose only boot is wss:// through a real nginx terminating TLS), each with a peer on UDP, in
// ONE micronet world with real wireguard-go. Every pair pings both ways within 15 s of the later
// `wh up`, and the blocked side's path is relay over WebSocket (JSON and `wh show` text).
// Recovery on web-only ↔ public: UDP unblocked on the router, back on UDP within 30 s; blocked
// again, back on WebSocket within 15 s. The table is printed and written to artifacts/ws-grid.md.
// Needs root; everything is removed in `finally`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { buildWsWorld, formatWsGrid, runWsRecovery, runWsRows, wsGridLogs, wsGridSkip, type WsRecovery } from './wsgrid.js';

test('WebSocket grid rows: blocked UDP x public / port-restricted / symmetric, through a proxy, through nginx; recovery', { skip: wsGridSkip(), timeout: 240_000 }, async (t) => {
  const t0 = Date.now();
  const world = await buildWsWorld();
  try {
    t.diagnostic(`world built and every node up in ${Date.now() - t0} ms`);
    const rows = await runWsRows(world);
    let rec: WsRecovery | undefined;
    try {
      rec = await runWsRecovery(world);
    } finally {
      const grid = formatWsGrid(rows, rec);
      fs.mkdirSync('artifacts', { recursive: true });
      fs.writeFileSync('artifacts/ws-grid.md', `# WebSocket grid rows (${new Date().toISOString()})\n\n${grid}\n`);
      process.stdout.write(`\n${grid}\n\n`);
    }
    for (const r of rows) {
      assert.ok(r.bothSeconds !== null && r.bothSeconds <= 15, `${r.pair}: pings both ways within 15 s (${JSON.stringify(r)})`);
      assert.equal(r.seen, 'relay websocket', `${r.pair}: the blocked side's path`);
      assert.match(r.peerSeen, /^relay/, `${r.pair}: the peer's path`);
      assert.ok(r.text, `${r.pair}: wh show says relay over WebSocket`);
      assert.equal(r.nat, 'blocked', `${r.pair}: the blocked side's NAT verdict`);
    }
    // The proxy-only node went through tinyproxy to nginx; w2 (boot2 only) through nginx.
    const boot2 = world.w.nodes.get('boot2')!;
    assert.ok(world.proxy.connects().includes(`${boot2.host.publicIp}:443`), `tinyproxy CONNECTs: ${world.proxy.connects().join(', ')}`);
    // (nginx logs a WebSocket request when it ends: the connections are still open here.)
    const server = (await world.w.show('boot2')).transports?.find((x) => x.role === 'server');
    assert.equal(server?.address, 'ws://127.0.0.1:8000/', 'boot2 serves WebSocket on loopback only, behind nginx');
    assert.ok((server?.connections ?? 0) >= 2, `boot2's WebSocket connections (through nginx): ${JSON.stringify(server)}`);
    assert.match(rows[4]!.via, /^boot2;/, 'w2 is relayed by the node behind nginx');
    assert.match(rows[3]!.via, /^boot2;/, 'x is relayed by the node it reaches through the proxy');
    assert.ok(rec!.toUdpSeconds <= 30, `back on UDP in ${rec!.toUdpSeconds} s`);
    assert.ok(rec!.toWsSeconds <= 15, `back on WebSocket in ${rec!.toWsSeconds} s`);
    t.diagnostic(`whole file: ${Date.now() - t0} ms`);
  } catch (e) {
    process.stdout.write(`${wsGridLogs(world).replace(/^/gm, '# ')}\n`);
    throw e;
  } finally {
    await world.w.destroy();
  }
});

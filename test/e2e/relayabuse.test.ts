// A relay's kernel path under abuse (issue 8, items 5 and 10): the relay's real nftables rules
// (src/firewall/relayforward.ts) installed in a relay namespace, members X and Y on the micronet
// "internet" sending real UDP through it (test/e2e/udpblast.ts). No daemon: what is measured is
// what the kernel forwards for a session that two keys, trusted by nobody, have bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Micronet, type Host } from '../micronet/index.js';
import { parseRouteGet, relayForwardRules, type ForwardSession } from '../../src/firewall/relayforward.js';
import { RELAY_GLOBAL_PPS, RELAY_KERNEL_EXPIRY_SECONDS, RELAY_SESSION_PPS } from '../../src/params.js';

const BLAST = fileURLToPath(new URL('./udpblast.js', import.meta.url));
const TABLE = 'whabuse';

interface World { net: Micronet; r: Host; x: Host; y: Host }

async function world(): Promise<World> {
  const net = await Micronet.create();
  try {
    const r = await net.addPublicHost('relay');
    const x = await net.addPublicHost('x');
    const y = await net.addPublicHost('y');
    return { net, r, x, y };
  } catch (e) {
    await net.destroy();
    throw e;
  }
}

/** Installs the relay's rules for sessions relay:port <-> (x, xPort) / (y, yPort). */
async function install(w: World, sessions: { port: number; xPort: number; yPort: number }[], limits: Record<string, number>): Promise<void> {
  const hop = async (h: Host) => {
    const out = await w.net.exec(w.r, ['ip', '-j', 'route', 'get', h.ip], { check: true });
    const hp = parseRouteGet(out.stdout, h.ip);
    assert.ok(hp, `a route to ${h.ip}`);
    return hp;
  };
  const hx = await hop(w.x), hy = await hop(w.y);
  const fs: ForwardSession[] = sessions.map((s) => ({ port: s.port, a: { host: w.x.ip, port: s.xPort, hop: hx }, b: { host: w.y.ip, port: s.yPort, hop: hy } }));
  // (A variable, not a literal: the same test runs against rules that take fewer limits.)
  const script = relayForwardRules(TABLE, fs, limits as never);
  await w.net.exec(w.r, ['nft', '-f', '-'], { input: `add table netdev ${TABLE}\ndelete table netdev ${TABLE}\n${script}`, check: true });
}

/** Counts what arrives on y:port for `seconds` (and from which source IPs). */
function receive(w: World, port: number, seconds: number): Promise<{ packets: number; bytes: number; sources: string[] }> {
  return w.net.exec(w.y, [process.execPath, BLAST, 'recv', String(port), String(seconds)], { timeoutMs: (seconds + 10) * 1000 })
    .then((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { packets: number; bytes: number; sources: string[] });
}

/** Sends from x:fromPort to relay:port (or dst:port) for `seconds`: `size`-byte datagrams starting with `hex`. */
async function send(w: World, fromPort: number, port: number, hex: string, size: number, pps: number, seconds: number, dst = w.r.ip): Promise<number> {
  const r = await w.net.exec(w.x, [process.execPath, BLAST, 'send', String(fromPort), dst, String(port), hex, String(size), String(pps), String(seconds)],
    { timeoutMs: (seconds + 10) * 1000 });
  return (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { sent: number }).sent;
}

/** Runs one sender against one receiver (started first). */
async function through(w: World, s: { xPort: number; port: number; yPort: number }, hex: string, size: number, pps: number, seconds: number) {
  const got = receive(w, s.yPort, seconds + 1.5);
  await new Promise((r) => setTimeout(r, 500));
  const sent = await send(w, s.xPort, s.port, hex, size, pps, seconds);
  return { sent, ...(await got) };
}

const LIMITS = { sessionPps: RELAY_SESSION_PPS, globalPps: RELAY_GLOBAL_PPS, expirySeconds: RELAY_KERNEL_EXPIRY_SECONDS };

test('item 5: payload not shaped like WireGuard gets nothing through a relay\'s kernel path; WireGuard-shaped datagrams do', { timeout: 120_000 }, async () => {
  const w = await world();
  try {
    const s = { port: 40001, xPort: 5001, yPort: 6001 };
    await install(w, [s], { ...LIMITS, expirySeconds: 120 }); // (no refresh during the test)
    // Arbitrary payload behind a WireGuard transport header: 540 bytes ((540 - 16) % 16 != 0,
    // and too short to have been capped at a tunnel MTU).
    const seconds = 5;
    const bad4 = await through(w, s, '04000000', 540, 0, seconds);
    // A handshake initiation of the wrong size, and bytes with no WireGuard header at all.
    const bad1 = await through(w, s, '01000000', 200, 0, 2);
    const raw = await through(w, s, '41414141', 1000, 0, 2);
    // WireGuard-shaped transport data (1232 bytes: (1232 - 16) % 16 == 0; 1452: 1420 bytes of
    // plaintext capped at a 1420-byte tunnel MTU), paced.
    const good = await through(w, s, '04000000', 1232, 2000, 2);
    const full = await through(w, s, '04000000', 1452, 2000, 2);
    const mbps = (bad4.bytes * 8) / seconds / 1e6;
    process.stdout.write(JSON.stringify({
      non_wg_sent: bad4.sent, non_wg_bytes_delivered: bad4.bytes, non_wg_mbit_s: Number(mbps.toFixed(1)), seconds,
      bad_initiation_delivered: bad1.packets, no_header_delivered: raw.packets, wg_shaped_sent: good.sent + full.sent, wg_shaped_delivered: good.packets + full.packets,
    }) + '\n');
    assert.ok(bad4.sent > 1000, `the sender sent (${bad4.sent})`);
    assert.equal(bad4.bytes, 0, `non-WireGuard payload delivered through the kernel path: ${bad4.bytes} bytes in ${seconds} s`);
    assert.equal(bad1.packets, 0, 'a handshake initiation of the wrong size');
    assert.equal(raw.packets, 0);
    assert.ok(good.packets >= 0.95 * good.sent, `WireGuard-shaped: ${good.packets}/${good.sent}`);
    assert.ok(full.packets >= 0.95 * full.sent, `full-size WireGuard-shaped: ${full.packets}/${full.sent}`);
    const counters = await w.net.exec(w.r, ['nft', 'list', 'counter', 'netdev', TABLE, 'malformed']);
    process.stdout.write(`relay: ${/packets (\d+)/.exec(counters.stdout)?.[1] ?? '?'} malformed datagrams counted\n`);
  } finally {
    await w.net.destroy();
  }
});

test('item 5: two sessions flooding the relay cannot take the global budget from a third', { timeout: 120_000 }, async () => {
  const w = await world();
  try {
    const sessions = [1, 2, 3].map((i) => ({ port: 40000 + i, xPort: 5000 + i, yPort: 6000 + i }));
    // Small budgets, so that the floods exceed them on this machine: per session 5000/s, 6000/s in all.
    await install(w, sessions, { sessionPps: 5000, globalPps: 6000, expirySeconds: 60 });
    const seconds = 4;
    const got = sessions.map((s) => receive(w, s.yPort, seconds + 1.5));
    await new Promise((r) => setTimeout(r, 500));
    const wg = '04000000', size = 96; // (96 - 16) % 16 == 0
    const [f1, f2, legitSent] = await Promise.all([
      send(w, sessions[0]!.xPort, sessions[0]!.port, wg, size, 0, seconds),
      send(w, sessions[1]!.xPort, sessions[1]!.port, wg, size, 0, seconds),
      send(w, sessions[2]!.xPort, sessions[2]!.port, wg, size, 500, seconds),
    ]);
    const [r1, r2, legit] = await Promise.all(got);
    process.stdout.write(JSON.stringify({
      flood_sent: [f1, f2], flood_delivered_pps: [r1!.packets / seconds, r2!.packets / seconds], legit_sent: legitSent, legit_delivered: legit!.packets,
    }) + '\n');
    assert.ok(f1 > 6000 * seconds && f2 > 6000 * seconds, `the floods exceed the budget (${f1}, ${f2})`);
    assert.ok(legit!.packets >= 0.95 * legitSent, `the third session got ${legit!.packets}/${legitSent} through`);
  } finally {
    await w.net.destroy();
  }
});

test('item 10: the kernel forwarding expires by itself when nothing refreshes it', { timeout: 120_000 }, async () => {
  const w = await world();
  try {
    const s = { port: 40001, xPort: 5001, yPort: 6001 };
    const expiry = 3;
    await install(w, [s], { ...LIMITS, expirySeconds: expiry });
    const before = await through(w, s, '04000000', 96, 200, 1);
    await new Promise((r) => setTimeout(r, (expiry + 1) * 1000));
    const after = await through(w, s, '04000000', 96, 200, 1);
    process.stdout.write(`forwarded before the expiry ${before.packets}/${before.sent}, after ${after.packets}/${after.sent}\n`);
    assert.ok(before.packets >= 0.95 * before.sent, 'forwarded while fresh');
    assert.equal(after.packets, 0, `forwarded ${after.packets} datagrams ${expiry + 1.5} s after the last refresh`);
  } finally {
    await w.net.destroy();
  }
});

test('a member cannot make the relay send with a forged source address: only datagrams addressed to the relay itself are forwarded', { timeout: 120_000 }, async () => {
  const w = await world();
  try {
    const s = { port: 40001, xPort: 5001, yPort: 6001 };
    await install(w, [s], { ...LIMITS, expirySeconds: 120 });
    // x shares a link with the relay: it hands the relay datagrams for an address that is not
    // the relay's (198.18.0.77, a benchmarking address no namespace has), to the session port.
    const forged = '198.18.0.77';
    await w.net.exec(w.x, ['ip', 'route', 'add', `${forged}/32`, 'via', w.r.ip], { check: true });
    const got = receive(w, s.yPort, 3.5);
    await new Promise((r) => setTimeout(r, 500));
    const sent = await send(w, s.xPort, s.port, '04000000', 96, 500, 2, forged);
    const r = await got;
    process.stdout.write(JSON.stringify({ sent, delivered: r.packets, sources: r.sources }) + '\n');
    assert.ok(sent > 500, `the sender sent (${sent})`);
    assert.equal(r.packets, 0, `the relay forwarded ${r.packets} datagrams addressed to ${forged}, from source(s) ${r.sources.join(', ')}`);
    // Addressed to the relay, the same session still forwards (from the relay's address).
    const ok = await through(w, s, '04000000', 96, 500, 1);
    assert.ok(ok.packets >= 0.95 * ok.sent, `forwarded ${ok.packets}/${ok.sent}`);
    assert.deepEqual(ok.sources, [w.r.ip]);
  } finally {
    await w.net.destroy();
  }
});

// `npm run bench:connect` (root): for every pair of NAT types, seconds from the last `wh up` to
// the first ping over the overlay, and the path taken, in micronet namespaces with real NATs and
// WireGuard (one world per pair: test/e2e/natgrid.ts); then the WebSocket rows, nodes of
// networks that block UDP (web-only, proxy-only through tinyproxy, wss:// through nginx) with
// peers on UDP, all in ONE world (test/e2e/wsgrid.ts), and that world's recovery (UDP unblocked
// and blocked again). WH_CONNECT_ROWS=nat or =ws runs only one part (default: both). Prints the
// tables on stderr and one JSON object as its last line (each part's fields when it ran):
//   {"pairs":[{"a","b","expected","seen","first","seconds"}...], "median_seconds", "max_seconds",
//    "connected", "all_expected",
//    "ws_pairs":[{"pair","seen","peerSeen","via","text","seconds","bothSeconds"}...],
//    "ws_recovery":{"pair","toUdpSeconds","udpPath","toWsSeconds"}, "ws_all_expected"}
import { formatGrid, KINDS, runPair, type Row } from '../test/e2e/natgrid.js';
import { formatWsGrid, runWsGrid, wsGridSkip, type WsRecovery, type WsRow } from '../test/e2e/wsgrid.js';

if (process.getuid?.() !== 0) {
  process.stderr.write('bench:connect needs root (network namespaces); run it as root\n');
  process.exit(1);
}
const which = process.env.WH_CONNECT_ROWS ?? 'all';
if (!['all', 'nat', 'ws'].includes(which)) {
  process.stderr.write(`WH_CONNECT_ROWS is "${which}": expected nat, ws or all\n`);
  process.exit(2);
}
const rows: Row[] = [];
if (which !== 'ws') {
  for (let i = 0; i < KINDS.length; i++) {
    for (let j = i; j < KINDS.length; j++) {
      rows.push(await runPair(KINDS[i]!, KINDS[j]!));
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  }
  process.stderr.write(`\n${formatGrid(rows)}\n\n`);
}
let ws: { rows: WsRow[]; recovery: WsRecovery | null; error?: string } | null = null;
if (which !== 'nat') {
  const skip = wsGridSkip();
  if (skip) process.stderr.write(`WebSocket rows skipped: ${skip}\n`);
  else {
    ws = await runWsGrid();
    process.stderr.write(`\n${formatWsGrid(ws.rows, ws.recovery ?? undefined)}\n${ws.error ? `recovery failed: ${ws.error}\n` : ''}\n`);
  }
}
const secs = rows.map((r) => r.seconds).filter((s): s is number => s !== null).sort((a, b) => a - b);
console.log(JSON.stringify({
  ...(which !== 'ws' ? {
    pairs: rows,
    median_seconds: secs[Math.floor(secs.length / 2)] ?? null,
    max_seconds: secs.at(-1) ?? null,
    connected: secs.length,
    all_expected: rows.every((r) => r.seen === r.expected),
  } : {}),
  ...(ws ? {
    ws_pairs: ws.rows,
    ws_recovery: ws.recovery,
    ws_all_expected: ws.rows.every((r) => r.seen === 'relay websocket' && r.text && r.bothSeconds !== null && r.bothSeconds <= 15)
      && ws.recovery !== null && ws.recovery.toUdpSeconds <= 30 && ws.recovery.toWsSeconds <= 15,
  } : {}),
}));

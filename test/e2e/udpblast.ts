// A bounded UDP sender/receiver for the relay abuse tests, run inside a namespace
// (`ip netns exec NS node udpblast.js ...`). Prints one JSON object on stdout when done.
//   send BIND_PORT DST_IP DST_PORT HEX_PREFIX SIZE PPS SECONDS
//        datagrams of SIZE bytes starting with HEX_PREFIX (the rest 0x41), from BIND_PORT;
//        PPS 0 = as fast as the socket takes them -> {"sent":N}
//   recv PORT SECONDS  -> {"packets":N,"bytes":N,"sources":["IP", ...]} (the first 16 distinct source IPs)
import { createSocket } from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + '\n');

if (mode === 'recv') {
  const [port, seconds] = args.map(Number) as [number, number];
  const sock = createSocket('udp4');
  let packets = 0, bytes = 0;
  const sources = new Set<string>();
  sock.on('message', (m, rinfo) => { packets++; bytes += m.length; if (sources.size < 16) sources.add(rinfo.address); });
  sock.bind(port, () => {
    out({ ready: true });
    setTimeout(() => { out({ packets, bytes, sources: [...sources] }); sock.close(); }, seconds * 1000);
  });
} else if (mode === 'send') {
  const [bindPort, dstIp, dstPort, hex, size, pps, seconds] = args as [string, string, string, string, string, string, string];
  const data = Buffer.alloc(Number(size), 0x41);
  Buffer.from(hex, 'hex').copy(data);
  const sock = createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
  let sent = 0, inflight = 0;
  const done = () => { inflight--; };
  sock.on('error', () => undefined); // ICMP unreachable and the like: go on
  sock.bind(Number(bindPort), () => {
    const end = Date.now() + Number(seconds) * 1000;
    const rate = Number(pps);
    const t0 = Date.now();
    const tick = () => {
      if (Date.now() >= end) { out({ sent }); sock.close(); return; }
      // Paced: catch up to rate * elapsed; unpaced: as many as keep 256 sends in flight.
      const due = rate > 0 ? Math.floor(((Date.now() - t0) * rate) / 1000) - sent : 256 - inflight;
      for (let i = 0; i < due; i++) { inflight++; sock.send(data, Number(dstPort), dstIp, done); sent++; }
      if (rate > 0) setTimeout(tick, 2); else setImmediate(tick);
    };
    tick();
  });
} else {
  process.stderr.write('usage: udpblast send BIND_PORT DST_IP DST_PORT HEX_PREFIX SIZE PPS SECONDS | recv PORT SECONDS\n');
  process.exit(2);
}

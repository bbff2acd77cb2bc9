// A rendezvous that tries to become the silent middle of a trusted pair (issue 8 item 1). It
// runs the bare DHT library on a public host (so a boot node confirms its claim to be directly
// reachable and the pair uses it as rendezvous), and:
//   - tells alice that bob is at ITS proxy port A, and bob that alice is at its proxy port B,
//     every --notify-ms (punch-notify {k, a = proxy}), as an unsolicited rendezvous would;
//   - answers punch-req as a rendezvous does (punch-notify to the target, punch-ok to the
//     asker), but with its proxy addresses instead of the peers' real ones;
//   - forwards datagrams between the two proxy ports and the peers' real addresses, except
//     WireGuard's own (first byte 1..4), which it drops (or forwards with --forward-wg 1).
// Used by test/e2e/pathcheck.test.ts.
//
//   node dist/test/e2e/mitm.js --port N --ip IP --workbit N --namespace NS --boot KEY@HOST:PORT
//        --alice KEY --bob KEY [--proxy-a 40000] [--proxy-b 40001] [--notify-ms 2500] [--forward-wg 0]
//
// Prints its public key (base64) as the first line of stdout; every 2 s a status line
// `proxy daemon=N wg-dropped=N wg-forwarded=N punch-req=N` on stderr (punch-req: how many of
// the pair's punch requests it answered with its proxy). Runs until SIGTERM/SIGINT.
import dgram from 'node:dgram';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64, parseKey } from '../../src/crypto/keys.js';
import { DhtNode } from '../../src/dht/node.js';
import { toHex } from '../../src/dht/id.js';
import { UdpTransport } from '../../src/net/udp.js';
import type { Addr } from '../../src/proto/addr.js';
import { realClock } from '../../src/util/clock.js';

function die(msg: string): never {
  process.stderr.write(`mitm: ${msg}\n`);
  process.exit(2);
}

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i]!, v = process.argv[i + 1];
  if (!k.startsWith('--') || v === undefined) die(`bad argument ${k}`);
  args.set(k.slice(2), v);
}
const need = (k: string): string => args.get(k) ?? die(`--${k} is required`);
const num = (k: string, d: number): number => Number(args.get(k) ?? d);

async function main(): Promise<void> {
  const port = num('port', 62096), ip = need('ip');
  const pa = num('proxy-a', 40000), pb = num('proxy-b', 40001);
  const notifyMs = num('notify-ms', 2500), forwardWg = num('forward-wg', 0) === 1;
  const m = /^([A-Za-z0-9+/=]+)@([0-9.]+):(\d+)$/.exec(need('boot')) ?? die('--boot: KEY@IPV4:PORT');
  const boot = { key: parseKey(m[1]!, 'boot key'), addr: { host: m[2]!, port: Number(m[3]) } };
  const alice = parseKey(need('alice'), 'alice'), bob = parseKey(need('bob'), 'bob');
  const aliceHex = toHex(alice), bobHex = toHex(bob);

  const sodium = await sodiumReady();
  const transport = await UdpTransport.bind('0.0.0.0', port);
  const node = new DhtNode({ sodium, secret: generateSecret(sodium), workbit: num('workbit', 0), namespace: need('namespace'), transport, clock: realClock, direct: true });
  process.stdout.write(keyToBase64(node.id) + '\n');

  // Where the peers really are (from the DHT, then from what reaches the proxy ports).
  const real = new Map<string, Addr>();
  let daemon = 0, wgDropped = 0, wgForwarded = 0, punchReqs = 0;
  /** The proxy address the given peer is told to use for the other one. */
  const proxyFor = (hex: string): Addr => ({ host: ip, port: hex === aliceHex ? pa : pb });

  node.extend({
    request: (req, max) => {
      const msg = req.msg;
      if (msg.t !== 'punch-req') return undefined;
      const targetHex = toHex(msg.k);
      const target = node.table.get(targetHex);
      if (target === undefined || (targetHex !== aliceHex && targetHex !== bobHex)) return undefined;
      punchReqs++;
      // Relay the request as a rendezvous would (whatever else it carries), with our proxy
      // as the asker's address.
      void node.rpc.request(target.addr, target.id, (x) => ({ ...msg, t: 'punch-notify', x, k: req.sender, a: proxyFor(targetHex) }) as never);
      return node.rpc.send(req.from, req.sender, { t: 'punch-ok', x: msg.x, a: req.from, e: proxyFor(req.senderHex) }, max);
    },
  });

  const sa = dgram.createSocket('udp4'), sb = dgram.createSocket('udp4');
  await Promise.all([sa, sb].map((s, i) => new Promise<void>((r) => s.bind(i === 0 ? pa : pb, '0.0.0.0', () => r()))));
  const isWg = (d: Buffer) => d.length >= 4 && d[0]! >= 1 && d[0]! <= 4 && d[1] === 0 && d[2] === 0 && d[3] === 0;
  const relay = (from: 'a' | 'b') => (d: Buffer, rinfo: dgram.RemoteInfo): void => {
    const srcHex = from === 'a' ? aliceHex : bobHex, dstHex = from === 'a' ? bobHex : aliceHex;
    real.set(srcHex, { host: rinfo.address, port: rinfo.port });
    const to = real.get(dstHex);
    if (to === undefined) return;
    if (isWg(d) && !forwardWg) { wgDropped++; return; }
    if (isWg(d)) wgForwarded++; else daemon++;
    (from === 'a' ? sb : sa).send(d, to.port, to.host);
  };
  sa.on('message', relay('a'));
  sb.on('message', relay('b'));

  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = (): void => {
    if (closed) return;
    closed = true;
    timers.forEach(clearInterval);
    node.close(); transport.close(); sa.close(); sb.close();
    process.stderr.write(`mitm: closed daemon=${daemon} wg-dropped=${wgDropped} wg-forwarded=${wgForwarded}\n`);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await node.bootstrap([boot]);
  let busy = false;
  timers.push(setInterval(() => {
    if (busy || closed) return;
    busy = true;
    void (async () => {
      await node.lookup(node.id); // advertise ourselves: the pair meets us, and checks our claim
      for (const [hex, key] of [[aliceHex, alice], [bobHex, bob]] as const) {
        const r = await node.findNode(key);
        if (r.found && !real.has(hex)) real.set(hex, r.found);
      }
      // Unsolicited: each peer is told that the other is at our proxy.
      for (const [toHexKey, toKey, about] of [[aliceHex, alice, bob], [bobHex, bob, alice]] as const) {
        const at = real.get(toHexKey);
        if (at !== undefined) void node.rpc.request(at, toKey, (x) => ({ t: 'punch-notify', x, k: about, a: proxyFor(toHexKey) }), { retries: 0 });
      }
    })().finally(() => { busy = false; });
  }, notifyMs));
  timers.push(setInterval(() => process.stderr.write(`proxy daemon=${daemon} wg-dropped=${wgDropped} wg-forwarded=${wgForwarded} punch-req=${punchReqs}\n`), 2000));
}

main().catch((e: unknown) => die(e instanceof Error ? e.stack ?? e.message : String(e)));

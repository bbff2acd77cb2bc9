// A DHT node that lies: it runs the bare library (no `wh` daemon) over a real UDP socket and
// declares itself directly reachable (`direct: true`, PONG_DIRECT in its pongs) although the
// test places it behind a NAT that filters by endpoint. Used by test/e2e/claims.test.ts.
//
//   node dist/test/e2e/liar.js --port N --workbit N --namespace NS --boot KEY@HOST:PORT
//        [--key-out FILE] [--lookup-ms MS]
//
// Prints its public key (base64) as the first line of stdout (or writes it to --key-out), then
// "bootstrapped N" once its bootstrap is done. It keeps running (DhtNode's own refresh, plus a
// self lookup every --lookup-ms, default 5000, 0 = none: a liar advertises itself eagerly, so
// that the nodes it queries verify it and see its claim) until SIGTERM or SIGINT.
import fs from 'node:fs';
import { sodiumReady } from '../../src/crypto/sodium.js';
import { generateSecret, keyToBase64, parseKey } from '../../src/crypto/keys.js';
import { searchKey } from '../../src/crypto/keysearch.js';
import { workbit as keyWorkbit } from '../../src/crypto/workbit.js';
import { DhtNode } from '../../src/dht/node.js';
import { UdpTransport } from '../../src/net/udp.js';
import { realClock } from '../../src/util/clock.js';

function die(msg: string): never {
  process.stderr.write(`liar: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) die(`unexpected argument ${JSON.stringify(a)}`);
    const v = argv[i + 1];
    if (v === undefined) die(`${a} needs a value`);
    out.set(a.slice(2), v);
    i++;
  }
  return out;
}

function intArg(args: Map<string, string>, name: string, def?: number): number {
  const v = args.get(name);
  if (v === undefined) {
    if (def === undefined) die(`--${name} is required`);
    return def;
  }
  if (!/^\d+$/.test(v)) die(`--${name}: not an integer: ${v}`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const port = intArg(args, 'port');
  const workbit = intArg(args, 'workbit', 0);
  const lookupMs = intArg(args, 'lookup-ms', 5000);
  const namespace = args.get('namespace') ?? die('--namespace is required');
  const bootArg = args.get('boot') ?? die('--boot is required');
  const m = /^([A-Za-z0-9+/=]+)@([0-9.]+):(\d+)$/.exec(bootArg) ?? die(`--boot: expected KEY@IPV4:PORT, got ${bootArg}`);
  const boot = { key: parseKey(m[1]!, 'boot key'), addr: { host: m[2]!, port: Number(m[3]) } };

  const sodium = await sodiumReady();
  let secret = generateSecret(sodium);
  if (keyWorkbit(sodium, sodium.crypto_scalarmult_base(secret), namespace) < workbit) {
    secret = (await searchKey({ workbit, namespace, threads: 1 })).secret;
  }
  const transport = await UdpTransport.bind('0.0.0.0', port);
  const node = new DhtNode({ sodium, secret, workbit, namespace, transport, clock: realClock, direct: true });
  const pub = keyToBase64(node.id);
  const keyOut = args.get('key-out');
  if (keyOut !== undefined) fs.writeFileSync(keyOut, pub + '\n');
  else process.stdout.write(pub + '\n');

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const stop = (): void => {
    if (closed) return;
    closed = true;
    if (timer) clearInterval(timer);
    node.close();
    transport.close();
    process.stderr.write(`liar: closed (rpc ${JSON.stringify(node.rpc.counters.toJSON())}, dht ${JSON.stringify(node.counters.toJSON())})\n`);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const answered = await node.bootstrap([boot]);
  process.stdout.write(`bootstrapped ${answered} (${node.table.size} nodes known)\n`);
  if (lookupMs > 0 && !closed) {
    let busy = false;
    timer = setInterval(() => {
      if (busy || closed) return;
      busy = true;
      void node.lookup(node.id).finally(() => { busy = false; });
    }, lookupMs);
  }
}

main().catch((e: unknown) => die(e instanceof Error ? e.stack ?? e.message : String(e)));

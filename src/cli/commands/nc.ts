// `wh nc [INVITATION] [--boot-config FILE]` (and the `0nc` binary): a netcat between two
// machines behind any NATs, built on invitations.
// - Without INVITATION: makes a throw-away network (a random /24 of 100.64.0.0/10, the boot
//   nodes, workbit and namespace of the boot config), a key meeting its workbit, starts that node
//   (`wh up --foreground`, a child), prints an invitation on stderr and waits for one TCP
//   connection from the joiner on its overlay address, port NC_PORT.
// - With INVITATION: `wh join --no-up` into a throw-away directory, starts that node, connects to
//   the inviter's overlay address.
// Then both sides copy stdin to the connection and the connection to stdout until EOF both ways
// (half-closes pass through), and exit 0. Everything made (the directory with its key, network
// file and invitations file; the node, which removes its interface and firewall table when it is
// stopped) goes at the end, also on Ctrl-C.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, loadConfig, parseConfig } from '../../config/index.js';
import { keyToBase64 } from '../../crypto/keys.js';
import { searchKey } from '../../crypto/keysearch.js';
import { sodiumReady } from '../../crypto/sodium.js';
import { socketPath } from '../../control/protocol.js';
import { interfaceNameForKey } from '../../wg/index.js';
import { NC_CONNECT_TIMEOUT, NC_DEFAULT_BOOT_CONFIG, NC_DRAIN_POLL, NC_DRAIN_TIMEOUT, NC_PORT, UP_READY_TIMEOUT } from '../../params.js';
import { CliError, USAGE_EXIT } from '../errors.js';
import { waitDrained, type Endpoints } from '../tcpdrain.js';

const WH = fileURLToPath(new URL('../../../../bin/wh.js', import.meta.url));
const say = (line: string) => process.stderr.write(`0nc: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

/** A UDP port whose next port is free too (the daemon takes both). */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 40000 + (randomBytes(2).readUInt16BE(0) % 20000);
    if (await udpFree(p) && await udpFree(p + 1)) return p;
  }
  throw new CliError('no free UDP port pair found between 40000 and 60000');
}

/** What the run made, removed by `cleanup` whatever happened. */
class Session {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wh-nc-'));
  node: ChildProcess | undefined;
  private cleaned = false;

  async startNode(conf: string, key: string, iface: string): Promise<void> {
    const port = await freePortPair();
    this.node = spawn(process.execPath, [WH, 'up', conf, 'private-key', key, 'listen-port', String(port), '--foreground'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WH_LOG_LEVEL: process.env.WH_LOG_LEVEL ?? 'warn' } });
    let log = '';
    this.node.stderr?.on('data', (d: Buffer) => { if (log.length < 20_000) log += d.toString(); });
    const end = Date.now() + UP_READY_TIMEOUT;
    while (Date.now() < end) {
      if (this.node.exitCode !== null) throw new CliError(`the node did not start: ${log.trim()}`);
      if (fs.existsSync(socketPath(iface))) { say(`node ${iface} up`); return; }
      await sleep(50);
    }
    throw new CliError(`the node was not ready within ${UP_READY_TIMEOUT / 1000} s`);
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const node = this.node;
    if (node && node.exitCode === null && node.signalCode === null) {
      const gone = new Promise<void>((r) => node.once('exit', () => r()));
      node.kill('SIGTERM'); // the daemon removes its interface, firewall table and socket
      // A cleared timer: a pending one would keep this process alive for its full 15 s.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((r) => { timer = setTimeout(r, 15_000); })]);
      clearTimeout(timer);
      if (node.exitCode === null && node.signalCode === null) node.kill('SIGKILL');
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Copies stdin to the socket and the socket to stdout until both directions ended, then waits
 *  until the other side has acknowledged all we sent: the node (the path) is removed next. */
async function pipeBoth(sock: net.Socket): Promise<void> {
  const ends: Endpoints = { localAddress: sock.localAddress ?? '', localPort: sock.localPort ?? 0, remoteAddress: sock.remoteAddress ?? '', remotePort: sock.remotePort ?? 0 };
  await copyBoth(sock);
  if (!await waitDrained(ends, NC_DRAIN_TIMEOUT, NC_DRAIN_POLL)) {
    throw new CliError(`the other side did not acknowledge the end of what was sent within ${NC_DRAIN_TIMEOUT / 1000} s: it may not have everything`);
  }
}

function copyBoth(sock: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.on('error', reject);
    process.stdin.pipe(sock); // ends (half-closes) the socket at EOF on stdin
    sock.pipe(process.stdout, { end: false });
    sock.on('close', (hadError) => {
      if (hadError) return;
      process.stdout.write('', () => resolve());
    });
  });
}

async function listen(s: Session, bootConfig: string): Promise<void> {
  let boot;
  try { boot = await loadConfig(bootConfig); } catch (e) { throw new CliError(e instanceof ConfigError ? e.message : String(e)); }
  if (boot.boots.length === 0) throw new CliError(`${bootConfig} has no boot line: 0nc needs a DHT`);
  const key = await searchKey({ workbit: boot.workbit, namespace: boot.namespace });
  const pub = keyToBase64(key.public);
  const b = randomBytes(2);
  const subnet = `100.${64 + (b[0]! & 63)}.${b[1]!}`;
  const name = `nc-${randomBytes(3).toString('hex')}`;
  const conf = path.join(s.dir, `${name}.conf`), keyFile = path.join(s.dir, `${name}.sk`);
  const lines = [`# made by wh nc; removed when it ends`, `name ${name}`, `namespace ${boot.namespace}`, `workbit ${boot.workbit}`,
    ...boot.boots.map((x) => `boot ${x.keyB64} ${x.host.includes(':') ? `[${x.host}]` : x.host}:${x.port}`), `subnet ${subnet}.0/24`, `trust nc-a ${subnet}.1 ${pub}`];
  fs.writeFileSync(conf, lines.join('\n') + '\n', { mode: 0o600 });
  fs.writeFileSync(keyFile, keyToBase64(key.secret) + '\n', { mode: 0o600 });
  const iface = interfaceNameForKey(pub);
  await s.startNode(conf, keyFile, iface);
  const inv = spawnSync(process.execPath, [WH, 'invite', iface, 'nc-b'], { encoding: 'utf8' });
  if (inv.status !== 0) throw new CliError(`no invitation: ${inv.stderr.trim()}`);
  process.stderr.write(`${inv.stdout.trim()}\n`);
  say(`waiting for the other side: 0nc INVITATION (or wh nc INVITATION)`);
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, (c) => {
      // Only the joiner: the other address of this network's subnet that is not ours.
      if (c.remoteAddress === undefined || !c.remoteAddress.replace(/^::ffff:/, '').startsWith(`${subnet}.`)) { c.destroy(); return; }
      server.close();
      resolve(c);
    });
    server.on('error', reject);
    server.listen(NC_PORT, `${subnet}.1`);
  });
  say(`connected from ${sock.remoteAddress}`);
  await pipeBoth(sock);
}

async function connect(s: Session, invitation: string): Promise<void> {
  const j = spawnSync(process.execPath, [WH, 'join', '-', '--dir', s.dir, '--no-up'], { input: invitation, encoding: 'utf8' });
  if (j.status !== 0) throw new CliError(j.stderr.replace(/^wh: /, '').trim() || 'wh join failed');
  process.stderr.write(j.stderr); // its progress (which way the inviter was reached); never a secret
  const conf = fs.readdirSync(s.dir).find((f) => f.endsWith('.conf'))!;
  const keyFile = path.join(s.dir, conf.replace(/\.conf$/, '.sk'));
  const sodium = await sodiumReady();
  const cfg = parseConfig(fs.readFileSync(path.join(s.dir, conf), 'utf8'), conf, sodium);
  const secret = Buffer.from(fs.readFileSync(keyFile, 'utf8').trim(), 'base64');
  const pub = keyToBase64(sodium.crypto_scalarmult_base(secret));
  const peer = cfg.peers.find((p) => p.trusted && p.keyB64 !== pub && p.ipv4 !== undefined);
  if (peer === undefined) throw new CliError('the network file names no other side');
  await s.startNode(path.join(s.dir, conf), keyFile, interfaceNameForKey(pub));
  const end = Date.now() + NC_CONNECT_TIMEOUT;
  for (;;) {
    try {
      const sock = await new Promise<net.Socket>((resolve, reject) => {
        const c = net.connect({ host: peer.ipv4!, port: NC_PORT, allowHalfOpen: true, timeout: 2000 });
        c.once('connect', () => { c.setTimeout(0); resolve(c); });
        c.once('timeout', () => { c.destroy(); reject(new Error('timeout')); });
        c.once('error', reject);
      });
      say(`connected to ${peer.ipv4}`);
      await pipeBoth(sock);
      return;
    } catch (e) {
      if (Date.now() >= end) throw new CliError(`could not connect to the other side (${peer.ipv4}:${NC_PORT}) within ${NC_CONNECT_TIMEOUT / 1000} s: ${e instanceof Error ? e.message : String(e)}`);
      await sleep(250);
    }
  }
}

export async function nc(invitation: string | undefined, opts: { bootConfig?: string }): Promise<void> {
  const bootConfig = opts.bootConfig ?? NC_DEFAULT_BOOT_CONFIG;
  if (invitation === undefined && opts.bootConfig === undefined && !fs.existsSync(bootConfig)) {
    throw new CliError(`0nc needs a DHT: give --boot-config FILE (a network file with boot lines), or create ${NC_DEFAULT_BOOT_CONFIG}`, USAGE_EXIT);
  }
  const s = new Session();
  const stop = (sig: NodeJS.Signals) => { void s.cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await (invitation === undefined ? listen(s, bootConfig) : connect(s, invitation));
  } finally {
    await s.cleanup();
    process.stdin.destroy(); // a terminal's stdin would keep the process alive
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

export function register(program: Command): void {
  program
    .command('nc')
    .description('netcat between two machines behind any NATs (also installed as 0nc)')
    .argument('[invitation]', 'the other side\'s invitation; without it, print one and wait')
    .option('--boot-config <FILE>', `a network file whose boot nodes, workbit and namespace to use (default ${NC_DEFAULT_BOOT_CONFIG})`)
    .action(async (invitation: string | undefined, opts: { bootConfig?: string }) => nc(invitation, opts));
}

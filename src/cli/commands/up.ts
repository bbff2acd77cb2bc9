// `wh up NAME|CONFIG [private-key FILE] [interface NAME] [listen-port N] [--foreground]`
// NAME is CONFIG_DIR/NAME.conf with the key CONFIG_DIR/NAME.sk if present; no key at all makes
// an ephemeral one for a public node (src/cli/upsource.ts).
// Validates everything first (config, key, workbit, privileges, WireGuard, nftables, ports),
// then starts the daemon: detached by default (it reports "ready" or its error before `wh up`
// returns), attached with --foreground (for systemd and tests).
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { sodiumReady } from '../../crypto/sodium.js';
import { keyToBase64 } from '../../crypto/keys.js';
import { workbit } from '../../crypto/workbit.js';
import { ConfigError, loadConfig, type NetworkConfig } from '../../config/index.js';
import { Daemon, DaemonError, isPublicNodeConfig } from '../../daemon/daemon.js';
import { checkSystem, defaultInterfaceName, interfaceNameError, removeLeftoversSync, systemDeps } from '../../daemon/system.js';
import { NotOursError, removeLeftovers } from '../../daemon/leftovers.js';
import { guardProcess } from '../../daemon/lifecycle.js';
import { requestUpLock, takeUpLock, UpLockBusy, type UpLock } from '../../daemon/uplock.js';
import { socketPath } from '../../control/protocol.js';
import { socketAccepts } from '../../util/unixsocket.js';
import { DEFAULT_PORT, UP_LOCK_HANDOFF_TIMEOUT, UP_READY_TIMEOUT } from '../../params.js';
import { createLogger } from '../../util/log.js';
import { CliError, USAGE_EXIT } from '../errors.js';
import { bootReport } from '../bootreport.js';
import { readKeyFile } from '../io.js';
import { interfaceRunningKey } from '../running.js';
import { ResolveError, resolveTrustEndpoints, systemLookup } from '../../daemon/seeds.js';
import { shellWord } from '../../util/shell.js';
import { daemonExecArgv, sizeHeapForDaemon } from '../../util/heap.js';
import { CONFIG_DIR } from '../../params.js';
import { INLINE_MAX_EXPECTED_TRIES } from '../../crypto/keysearch.js';
import { CONFIG_DIR_ENV, configDir, configSource, ephemeralKey, ephemeralNotice, isConfigPath, KEY, keyFileWarning, keyFromParent, WANT_KEY } from '../upsource.js';

export const LOG_DIR = '/var/log/wirehub';

interface UpArgs {
  /** The CONFIG argument as given (a path, or a name: src/cli/upsource.ts). */
  config: string;
  /** The key file (private-key FILE, or CONFIG_DIR/NAME.sk); absent: an ephemeral key. */
  privateKey?: string;
  iface?: string;
  listenPort: number;
}

/** Parses the wg-style words after the config: "private-key FILE interface NAME listen-port N"
 *  (each optional). `nameKey` is the key file a config given by name brings (NAME.sk). */
export function parseUpWords(config: string, words: string[], nameKey?: string): UpArgs {
  const out: Partial<UpArgs> & { config: string } = { config };
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i]!, value = words[i + 1];
    if (value === undefined) throw new CliError(`'${key}' needs a value`, USAGE_EXIT);
    switch (key) {
      case 'private-key': out.privateKey = value; break;
      case 'interface': out.iface = value; break;
      case 'listen-port': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < 1 || n > 65534) throw new CliError(`listen-port must be an integer from 1 to 65534 (the daemon also uses the next port), got '${value}'`, USAGE_EXIT);
        out.listenPort = n;
        break;
      }
      default: throw new CliError(`unknown argument '${key}'`, USAGE_EXIT);
    }
  }
  const privateKey = out.privateKey ?? nameKey;
  return { config: out.config, listenPort: out.listenPort ?? DEFAULT_PORT, ...(privateKey !== undefined ? { privateKey } : {}), ...(out.iface ? { iface: out.iface } : {}) };
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

interface Validated {
  config: NetworkConfig;
  secret: Uint8Array;
  iface: string;
  listenPort: number;
  daemonPort: number;
  /** The interface's lock (src/daemon/uplock.ts), held from the checks on. */
  lock: UpLock;
  /** The key is ephemeral (made by this `wh up`, in memory only). */
  ephemeral: boolean;
}

/** Set in the environment of the daemon a detached `wh up` forks: it hands over its lock. */
const LOCK_HANDOFF_ENV = 'WH_UP_LOCK_HANDOFF';

/** The node's key: its file (with wg-quick's warning when group or others may read it), or an
 *  ephemeral one for a public node (`makeKey`: searched here, or handed over by the parent). */
async function nodeKey(args: UpArgs, config: NetworkConfig, file: string, makeKey: (c: NetworkConfig) => Promise<Uint8Array>): Promise<{ secret: Uint8Array; ephemeral: boolean }> {
  if (args.privateKey !== undefined) {
    const warning = keyFileWarning(args.privateKey);
    if (warning !== undefined && process.env[LOCK_HANDOFF_ENV] === undefined) process.stderr.write(warning + '\n');
    return { secret: readKeyFile(args.privateKey), ephemeral: false };
  }
  if (!isPublicNodeConfig(config)) {
    const byName = isConfigPath(args.config) ? '' : ` or put it in ${path.join(configDir(), `${args.config}.sk`)}`;
    throw new CliError(`${file}: network '${config.name}' has trust lines, so this node needs the key its trust line names: give private-key FILE${byName} (an ephemeral key is only for a public node)`);
  }
  return { secret: await makeKey(config), ephemeral: true };
}

/** Searches an ephemeral key and says so on stderr. */
async function searchEphemeral(config: NetworkConfig): Promise<Uint8Array> {
  // Beyond a few hundred tries the search takes a noticeable while: say so before it starts.
  if (2 ** config.workbit > INLINE_MAX_EXPECTED_TRIES) process.stderr.write(`wh: no private key given: searching an ephemeral key with workbit ${config.workbit} (2^${config.workbit} tries on average)...\n`);
  const k = await ephemeralKey(config);
  process.stderr.write(ephemeralNotice(k, config));
  return k.secret;
}

/** Every check `wh up` makes before it changes anything on the system. From the root check on
 *  it holds the interface's lock (`getLock`, default: take it), released if a check fails. */
export async function validateUp(args: UpArgs, getLock: (iface: string) => Promise<UpLock> = takeUpLock, makeKey: (c: NetworkConfig) => Promise<Uint8Array> = searchEphemeral): Promise<Validated> {
  const sodium = await sodiumReady();
  let config: NetworkConfig;
  const file = configSource(args.config).file;
  try {
    config = await resolveTrustEndpoints(await loadConfig(file), systemLookup);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ResolveError) throw new CliError(e.message);
    throw e;
  }
  const { secret, ephemeral } = await nodeKey(args, config, file, makeKey);
  const pub = sodium.crypto_scalarmult_base(secret);
  const pubB64 = keyToBase64(pub);
  const wb = workbit(sodium, pub, config.namespace);
  if (wb < config.workbit) {
    throw new CliError(`${args.privateKey}: this key's workbit is ${wb}, network '${config.name}' requires ${config.workbit}; make one with: wh genkey --workbit ${config.workbit} --namespace ${shellWord(config.namespace)}`);
  }
  const publicNode = isPublicNodeConfig(config);
  if (!publicNode && !config.peers.some((p) => p.trusted && p.keyB64 === pubB64)) {
    throw new CliError(`${file}: no trust line for this node's key ${pubB64}`);
  }
  const iface = args.iface ?? defaultInterfaceName(pubB64);
  const nameError = interfaceNameError(iface);
  if (nameError) throw new CliError(`interface ${JSON.stringify(iface)}: ${nameError}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new CliError('wh up needs root: it creates a network interface, firewall rules and a socket in /var/run/wirehub (try: sudo wh up ...)');
  }
  // While a daemon of this interface starts, runs or stops, or another `wh up`/`wh down` of it
  // runs, its marked interface is not a leftover: refuse before looking for any.
  let lock: UpLock;
  try {
    lock = await getLock(iface);
  } catch (e) {
    if (e instanceof UpLockBusy) throw new CliError(`${e.message}: nothing was changed (wh show ${iface}; wh down ${iface} to stop it)`);
    throw new CliError(`cannot take the lock of ${iface}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const daemonPort = await checkLocked(args, pubB64, publicNode, iface);
    return { config, secret, iface, listenPort: args.listenPort, daemonPort, lock, ephemeral };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/** The checks and the leftovers' removal, under the interface's lock; returns the daemon's port. */
async function checkLocked(args: UpArgs, pubB64: string, publicNode: boolean, iface: string): Promise<number> {
  if (await socketAccepts(socketPath(iface))) throw new CliError(`${iface} is already up (wh show ${iface}; wh down ${iface} to stop it)`);
  const running = await interfaceRunningKey(pubB64);
  if (running !== undefined) throw new CliError(`this key (${pubB64}) already runs as interface ${running}: one key, one node (wh show ${running}; wh down ${running} to stop it)`);
  // No daemon owns the interface: whatever a killed run left (interface, wireguard-go,
  // nftables table) is removed before we check the ports it may still hold; but only what
  // carries WireHub's mark (src/daemon/leftovers.ts): anything else of that name is refused.
  let leftovers: string[];
  try {
    leftovers = await removeLeftovers(iface);
  } catch (e) {
    if (e instanceof NotOursError) {
      throw new CliError(`interface ${iface} exists and was not made by WireHub (${e.reason}): left alone; remove it yourself or choose another name with: interface NAME`);
    }
    throw new CliError(`cannot remove what an earlier run of ${iface} left: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (leftovers.length > 0) process.stderr.write(`wh: removed leftovers of an earlier run: ${leftovers.join(', ')}\n`);
  if (!publicNode) await checkSystem(iface).catch((e: unknown) => { throw new CliError(e instanceof Error ? e.message : String(e)); });
  const daemonPort = args.listenPort + 1;
  for (const port of publicNode ? [args.listenPort] : [args.listenPort, daemonPort]) {
    if (!(await udpPortFree(port))) throw new CliError(`UDP port ${port} is already in use${port === daemonPort ? ' (the daemon uses listen-port + 1)' : ''}; choose another with listen-port N`);
  }
  return daemonPort;
}

/** Runs the daemon in this process until it stops; returns the exit status (non-zero when it
 *  stopped by itself because it failed). Signals, crashes and exits: src/daemon/lifecycle.ts. */
async function runForeground(args: UpArgs, v: Validated, logFile: string | undefined): Promise<number> {
  sizeHeapForDaemon(); // the daemon's process: src/util/heap.ts
  let log;
  try {
    log = createLogger({ ...(logFile ? { file: logFile } : {}) });
  } catch (e) {
    throw new CliError(`cannot open the log file ${logFile ?? ''}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const sodium = await sodiumReady();
  const starting = Daemon.start({
    sodium, configPath: path.resolve(configSource(args.config).file), config: v.config, secret: v.secret, iface: v.iface,
    listenPort: v.listenPort, daemonPort: v.daemonPort, log, deps: systemDeps,
  });
  // Installed before the start completes: a signal meanwhile stops the node once it is up.
  const guard = guardProcess({
    log,
    stop: async () => {
      const d = await starting.catch(() => undefined);
      if (d === undefined) throw new Error('the start failed (and undid what it did)');
      await d.stop();
    },
    emergency: () => removeLeftoversSync(v.iface),
  });
  let daemon: Daemon;
  try {
    daemon = await starting;
  } catch (e) {
    // Daemon.start removed what it had made; whatever is on the system now is not ours.
    guard.cleaned();
    guard.dispose();
    await v.lock.release();
    const msg = e instanceof Error ? e.message : String(e);
    log.error(msg);
    throw new CliError(e instanceof DaemonError ? msg : `cannot start ${v.iface}: ${msg}`);
  }
  const stopped = new Promise<void>((resolve) => { daemon.onStopped = resolve; });
  if (process.send) {
    // `wh up` may be gone already (killed while waiting): the node runs on regardless.
    try {
      process.send({ type: 'ready', iface: v.iface }, undefined, {}, () => undefined);
      process.disconnect?.();
    } catch (e) {
      log.warn(`cannot tell wh up that the node is ready: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  await stopped;
  guard.cleaned();
  // Everything is removed: another `wh up` (or `wh down`, waiting for it) may go on.
  await v.lock.release();
  return daemon.failure !== undefined ? 1 : guard.status();
}

async function runDetached(argv: string[], v: Validated): Promise<void> {
  fs.mkdirSync(LOG_DIR, { recursive: true, mode: 0o700 });
  const logFile = path.join(LOG_DIR, `${v.iface}.log`);
  const script = process.argv[1]!;
  const child = fork(script, [...argv, '--foreground', '--log-file', logFile], {
    execArgv: daemonExecArgv(), detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env: { ...process.env, [LOCK_HANDOFF_ENV]: '1' },
  });
  const outcome = await new Promise<{ ok: boolean; message: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, message: `the daemon did not report ready within ${UP_READY_TIMEOUT / 1000} s (see ${logFile})` }), UP_READY_TIMEOUT);
    child.on('message', (m: { type?: string }) => {
      // The daemon holds the lock from its own checks on; we keep our copy until it is up.
      if (m.type === 'want-up-lock') {
        try { v.lock.handTo(child); } catch { /* we gave up on it already: it gets no lock and exits */ }
      }
      // An ephemeral key goes to the daemon over this channel only (src/cli/upsource.ts).
      if (m.type === WANT_KEY && v.ephemeral) child.send({ type: KEY, secret: keyToBase64(v.secret) });
      if (m.type === 'ready') { clearTimeout(timer); resolve({ ok: true, message: '' }); }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      let last = '';
      try { last = fs.readFileSync(logFile, 'utf8').trim().split('\n').filter((l) => l.includes('ERROR')).pop() ?? ''; } catch { /* no log */ }
      resolve({ ok: false, message: `the daemon exited (status ${code ?? 'signal'})${last ? ': ' + last.replace(/^\S+ ERROR\s+/, '') : ''} (log: ${logFile})` });
    });
  });
  await v.lock.release();
  if (!outcome.ok) {
    child.kill('SIGTERM');
    throw new CliError(outcome.message);
  }
  child.disconnect();
  child.unref();
  const boots = await bootReport(v.iface);
  process.stdout.write(`${v.iface} is up (log: ${logFile})\n`);
  if (boots.length > 0) process.stderr.write(`wh: warning: ${v.iface} cannot reach the DHT through every boot node:\n${boots.map((m) => `  ${m}\n`).join('')}`);
}

/** The usage line of `wh up` (commander's, and the daemon's own entry: src/cli/daemonmain.ts). */
export const UP_USAGE = 'NAME|CONFIG [private-key FILE] [interface NAME] [listen-port N] [--foreground]';

/** `wh up CONFIG WORDS... [--foreground] [--log-file FILE]`, once its command line is parsed. */
export async function runUp(config: string, words: string[], opts: { foreground?: boolean; logFile?: string }): Promise<void> {
  const args = parseUpWords(config, words, configSource(config).keyFile);
  // A daemon forked by a detached `wh up` takes over the lock its parent holds (and the
  // ephemeral key it made, if any).
  const handedOver = opts.foreground === true && process.env[LOCK_HANDOFF_ENV] === '1';
  const v = await validateUp(args, handedOver ? (iface) => requestUpLock(iface, UP_LOCK_HANDOFF_TIMEOUT) : takeUpLock,
    handedOver ? () => keyFromParent() : searchEphemeral);
  delete process.env[LOCK_HANDOFF_ENV];
  if (opts.foreground) {
    const status = await runForeground(args, v, opts.logFile);
    // Everything is cleaned up; do not wait for stray timers of in-flight lookups.
    process.exit(status);
  } else {
    await runDetached(['up', config, ...words], v);
  }
}

export function register(program: Command): void {
  program
    .command('up')
    .usage(UP_USAGE)
    .description('start a node: wh up NAME (CONFIG_DIR/NAME.conf and NAME.sk) or wh up ./CONFIG private-key ./KEY')
    .argument('<config>', `a network name (${CONFIG_DIR}/NAME.conf, or $${CONFIG_DIR_ENV}/NAME.conf) or a config path (with '/' or ending in .conf)`)
    .argument('[words...]', 'private-key FILE, interface NAME, listen-port N')
    .option('--foreground', 'stay attached (for systemd and tests); logs go to stderr')
    .option('--log-file <file>', 'with --foreground: append logs to this file instead of stderr')
    .action(runUp);
}

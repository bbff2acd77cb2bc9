// `wh invite NAME|IFACE [HOSTNAME] [--expires 1h]`: prints a one-line invitation to the running
// node's network (docs/PROTOCOL.md section 7.8). This command makes the invitation's secret (an
// alias key meeting the network's workbit) and gives the daemon only its public half: the secret
// exists in the printed line and nowhere else.
import type { Command } from 'commander';
import { callDaemon, ControlError, listDaemons } from '../../control/client.js';
import { socketPath } from '../../control/protocol.js';
import type { ShowResult } from '../../control/show.js';
import { ConfigError, loadConfig, peerNameError, type Boot } from '../../config/index.js';
import { keyToBase64, parseKey } from '../../crypto/keys.js';
import { searchKey } from '../../crypto/keysearch.js';
import { systemLookup } from '../../daemon/seeds.js';
import { INVITE_DEFAULT_EXPIRY, INVITE_MAX_EXPIRY } from '../../params.js';
import { encodeInvitation } from '../../proto/alias.js';
import type { NodeRecord } from '../../proto/messages.js';
import { isIP } from 'node:net';
import { socketAccepts } from '../../util/unixsocket.js';
import { CliError, USAGE_EXIT } from '../errors.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "7d" → milliseconds. */
/** The joiner meets the inviter through its boot nodes: they go in the invitation, resolved,
 *  as node records, which carry UDP addresses only: a ws:// line (its host and TCP port) is
 *  left out, never given as a UDP address (docs/PROTOCOL.md section 12.1). */
export async function inviteBoots(boots: readonly Boot[], selfB64: string, lookup: (h: string) => Promise<string>, warn: (m: string) => void): Promise<NodeRecord[]> {
  const out: NodeRecord[] = [];
  for (const b of boots.filter((x) => x.keyB64 !== selfB64 && x.ws === undefined)) {
    const host = isIP(b.host) ? b.host : await lookup(b.host).catch(() => undefined);
    if (host === undefined) { warn(`boot node ${b.host} does not resolve; left out of the invitation`); continue; }
    out.push({ key: b.key, addr: { host, port: b.port }, direct: true });
  }
  return out;
}

export function parseDuration(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (!m) throw new CliError(`--expires takes a number and a unit (s, m, h or d), e.g. 1h; got ${JSON.stringify(text)}`, USAGE_EXIT);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0 || ms > INVITE_MAX_EXPIRY) throw new CliError(`--expires must be more than 0 and at most ${INVITE_MAX_EXPIRY / 86_400_000}d`, USAGE_EXIT);
  return ms;
}

/** The interface of the running node NAME|IFACE names: an interface, or a network's name. */
export async function runningInterface(nameOrIface: string): Promise<{ iface: string; show: ShowResult }> {
  const ask = async (iface: string) => (await callDaemon(iface, { cmd: 'show' })) as ShowResult;
  if (/^[A-Za-z0-9_=+.-]{1,15}$/.test(nameOrIface) && await socketAccepts(socketPath(nameOrIface))) return { iface: nameOrIface, show: await ask(nameOrIface) };
  let ifaces: string[] = [];
  try { ifaces = listDaemons(); } catch { /* no control directory: no node */ }
  const shows = await Promise.all(ifaces.map((i) => ask(i).then((s) => ({ iface: i, show: s }), () => undefined)));
  const hits = shows.filter((s) => s !== undefined && s.show.network === nameOrIface && s.show.role !== 'public');
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new CliError(`${hits.length} nodes of network ${nameOrIface} run here (${hits.map((h) => h!.iface).join(', ')}): name the interface`);
  throw new CliError(`no running node with interface or network ${JSON.stringify(nameOrIface)} (see wh show)`);
}

async function invite(target: string, hostname: string | undefined, opts: { expires?: string }): Promise<void> {
  if (hostname !== undefined) {
    const err = peerNameError(hostname);
    if (err) throw new CliError(`hostname ${JSON.stringify(hostname)}: ${err}`, USAGE_EXIT);
  }
  const ms = opts.expires !== undefined ? parseDuration(opts.expires) : INVITE_DEFAULT_EXPIRY;
  const { iface, show } = await runningInterface(target);
  if (show.role === 'public') throw new CliError(`${iface} is a public DHT node: it has no network to invite to`);
  let cfg;
  try { cfg = await loadConfig(show.config); } catch (e) { throw new CliError(e instanceof ConfigError ? e.message : String(e)); }
  const boots = await inviteBoots(cfg.boots, show.publicKey, systemLookup, (m) => process.stderr.write(`wh: ${m}\n`));
  if (boots.length === 0) throw new CliError(`${show.config} has no boot line (other than this node): a joiner could not reach this node`);
  const alias = await searchKey({ workbit: cfg.workbit, namespace: cfg.namespace });
  const expires = Date.now() + ms;
  try {
    await callDaemon(iface, { cmd: 'invite', alias: keyToBase64(alias.public), expires, ...(hostname !== undefined ? { hostname } : {}) });
  } catch (e) {
    throw new CliError(`${iface} did not register the invitation: ${e instanceof ControlError || e instanceof Error ? e.message : String(e)}`);
  }
  process.stdout.write(encodeInvitation({
    network: cfg.name, inviter: parseKey(show.publicKey), secret: alias.secret, workbit: cfg.workbit, namespace: cfg.namespace,
    boots, expires: Math.floor(expires / 1000), ...(hostname !== undefined ? { hostname } : {}),
  }) + '\n');
  process.stderr.write(`wh: single-use invitation to ${cfg.name}${hostname ? ` for ${hostname}` : ''}, good until ${new Date(expires).toISOString()}; the newcomer runs: wh join INVITATION\n`);
}

export function register(program: Command): void {
  program
    .command('invite')
    .description('print a single-use invitation to the network of a running node')
    .argument('<node>', 'the running node: its interface, or its network\'s name')
    .argument('[name]', 'the hostname the newcomer gets in its trust line')
    .option('--expires <duration>', `how long the invitation is good: 90s, 30m, 1h, 7d (default ${INVITE_DEFAULT_EXPIRY / 3600_000}h)`)
    .addHelpText('after', '\nThe invitation (one line on standard output) holds a secret: send it privately. It can be used\nonce; the node adds the newcomer\'s trust line to its network file when it is used.')
    .action(async (target: string, hostname: string | undefined, opts: { expires?: string }) => invite(target, hostname, opts));
}

// `wh ping PEER [-c N] [--until-direct] [--timeout S] [-i IFACE]`: the daemon's authenticated
// ping of a trusted peer through the tunnel (src/daemon/pingpeer.ts), one control request per
// ping, printed like `tailscale ping` (docs/NODE.md "wh ping").
import type { Command } from 'commander';
import { callDaemon, ControlError, listDaemons } from '../../control/client.js';
import type { ShowResult } from '../../control/show.js';
import { keyLike, resolvePeer } from '../../daemon/resolve.js';
import type { PingAnswer } from '../../daemon/pingpeer.js';
import { CONTROL_CONNECTION_DEADLINE, CONTROL_TIMEOUT, PING_COUNT_DEFAULT, PING_INTERVAL, PING_TIMEOUT, PING_TIMEOUT_MAX, UP_KEY_SCAN_TIMEOUT } from '../../params.js';
import { CliError, USAGE_EXIT } from '../errors.js';

const who = (a: PingAnswer) => `${a.name ?? a.key} (${a.ip})`;

/** How the answer travelled, as `tailscale ping` says it ("via IP:PORT", "via DERP(...)"). */
export function pathOf(a: PingAnswer): string {
  if (a.path === 'direct') return a.endpoint ?? '?';
  if (a.path === 'relay') return `relay ${a.relay ?? '?'} at ${a.relayAddress ?? '?'} (${a.relayForwarding === 'kernel' ? 'kernel' : 'daemon'} forwarding)`;
  return a.path === 'down' ? 'nowhere (the data plane is down)' : `no path (${a.path})`;
}

/** One line per ping. */
export function formatPing(a: PingAnswer): string {
  if (a.answered) return `pong from ${who(a)} via ${pathOf(a)} in ${a.rttMs ?? '?'}ms`;
  return `no pong from ${who(a)} within ${a.timeoutMs / 1000}s (path: ${pathOf(a)})`;
}

export interface PingPlan {
  /** Pings sent at most. */
  count: number;
  /** `-c` was given: send them all (unless --until-direct ends it), not just until a pong. */
  countGiven: boolean;
  untilDirect: boolean;
}

/**
 * The loop: without -c it stops at the first pong; with -c it sends N; with --until-direct it
 * stops at the first pong over a direct path. Exit status: 0 when it got what it went for (a
 * pong, or a direct one), 1 otherwise, with the reason.
 */
export async function pingLoop(plan: PingPlan, send: () => Promise<PingAnswer>, print: (line: string) => void, sleep: (ms: number) => Promise<void>): Promise<{ ok: boolean; why?: string }> {
  let pongs = 0;
  for (let i = 0; i < plan.count; i++) {
    const a = await send();
    print(formatPing(a));
    if (a.answered) {
      pongs++;
      if (plan.untilDirect ? a.path === 'direct' : !plan.countGiven) return { ok: true };
    }
    if (i + 1 < plan.count && a.answered) await sleep(PING_INTERVAL);
  }
  if (plan.untilDirect) return { ok: false, why: `no direct path after ${plan.count} ping${plan.count === 1 ? '' : 's'} (${pongs} answered)` };
  return pongs > 0 ? { ok: true } : { ok: false, why: `no pong after ${plan.count} ping${plan.count === 1 ? '' : 's'}` };
}

/** The interface to ask: the one given, the only one up, or the only one that knows the peer. */
async function pickInterface(peer: string, iface: string | undefined): Promise<string> {
  if (iface !== undefined) return iface;
  const ifaces = listDaemons();
  if (ifaces.length === 0) throw new CliError('no interface is up (wh up first)');
  if (ifaces.length === 1) return ifaces[0]!;
  const shows = await Promise.all(ifaces.map((i) => callDaemon(i, { cmd: 'show' }, UP_KEY_SCAN_TIMEOUT).then((r) => r as ShowResult, () => undefined)));
  const knowing = ifaces.filter((_, n) => {
    const peers = shows[n]?.peers ?? [];
    return 'peer' in resolvePeer(peer, peers.map((p) => ({ key: p.key, hostname: p.name, ipv4: p.ipv4, ipv6: p.ipv6 })));
  });
  if (knowing.length === 1) return knowing[0]!;
  throw new CliError(`${knowing.length === 0 ? 'no running node knows' : 'several running nodes know'} ${keyLike(peer) ? 'that key' : peer} (${(knowing.length === 0 ? ifaces : knowing).join(', ')}): name one with -i IFACE`, USAGE_EXIT);
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`-c wants a whole number of pings, at least 1 (got ${v})`, USAGE_EXIT);
  return n;
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n * 1000 > PING_TIMEOUT_MAX) throw new CliError(`--timeout wants seconds, more than 0 and at most ${PING_TIMEOUT_MAX / 1000} (got ${v})`, USAGE_EXIT);
  return n;
}

export function register(program: Command): void {
  program
    .command('ping')
    .description('ping a trusted peer through the tunnel, showing the path (direct or relay) and round-trip time')
    .argument('<peer>', 'hostname, overlay IP, key or unique key prefix of a trusted peer')
    .option('-c, --count <n>', `pings to send (default: until the first pong, at most ${PING_COUNT_DEFAULT})`, positiveInt)
    .option('--until-direct', 'keep pinging until the path is direct (exit 0), or the count is spent (exit 1)')
    .option('--timeout <seconds>', `how long each ping waits for its pong (default ${PING_TIMEOUT / 1000})`, seconds)
    .option('-i, --interface <iface>', 'the node to ping from, when several run')
    .action(async (peer: string, opts: { count?: number; untilDirect?: boolean; timeout?: number; interface?: string }) => {
      const iface = await pickInterface(peer, opts.interface);
      // Never echoed when it may be key material (a private key pasted by mistake).
      const what = keyLike(peer) ? '' : ` ${peer}`;
      const timeoutMs = Math.round((opts.timeout ?? PING_TIMEOUT / 1000) * 1000);
      const plan = { count: opts.count ?? PING_COUNT_DEFAULT, countGiven: opts.count !== undefined, untilDirect: opts.untilDirect === true };
      const send = async () => {
        try {
          return (await callDaemon(iface, { cmd: 'ping', peer, timeoutMs }, Math.min(CONTROL_CONNECTION_DEADLINE, timeoutMs + CONTROL_TIMEOUT))) as PingAnswer;
        } catch (e) {
          throw new CliError(e instanceof ControlError && e.code === 'daemon' ? `ping${what}: ${e.message}` : e instanceof Error ? e.message : String(e));
        }
      };
      const r = await pingLoop(plan, send, (l) => process.stdout.write(`${l}\n`), (ms) => new Promise((res) => setTimeout(res, ms)));
      if (!r.ok) throw new CliError(`ping${what}: ${r.why ?? 'failed'}`);
    });
}

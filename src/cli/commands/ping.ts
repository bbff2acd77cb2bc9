// `wh ping PEER [-c N] [--until-direct] [--timeout S] [-i IFACE]`: the daemon's authenticated
// ping of a trusted peer through the tunnel (src/daemon/pingpeer.ts), one control request per
// ping, printed like `tailscale ping` (docs/NODE.md "wh ping").
import type { Command } from 'commander';
import { callDaemon, ControlError } from '../../control/client.js';
import { keyLike } from '../../daemon/resolve.js';
import type { PingAnswer } from '../../daemon/pingpeer.js';
import { CONTROL_CONNECTION_DEADLINE, CONTROL_TIMEOUT, PING_COUNT_DEFAULT, PING_INTERVAL, PING_TIMEOUT, PING_TIMEOUT_MAX } from '../../params.js';
import { CliError, USAGE_EXIT } from '../errors.js';
import { resolvePeerArg } from '../peerarg.js';

const who = (a: PingAnswer) => `${a.name ?? a.key} (${a.ip})`;

/** How the answer travelled, as `tailscale ping` says it ("via IP:PORT", "via DERP(...)"). */
export function pathOf(a: PingAnswer): string {
  if (a.path === 'direct') return a.endpoint ?? '?';
  if (a.path === 'relay') return `relay ${a.relay ?? '?'} at ${a.relayAddress ?? '?'} (${a.relayForwarding === 'kernel' ? 'kernel forwarding' : a.relayForwarding === 'websocket' ? 'relay over WebSocket' : 'daemon forwarding'})`;
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
      // The node that knows the peer (src/cli/peerarg.ts, as `wh resolve`), asked for it by key.
      const found = await resolvePeerArg(peer, opts.interface);
      if (found.self) throw new CliError(`${keyLike(peer) ? 'that key' : peer} is ${found.interface} itself, not one of its peers`, USAGE_EXIT);
      const iface = found.interface;
      // Never echoed when it may be key material (a private key pasted by mistake).
      const what = keyLike(peer) ? '' : ` ${peer}`;
      const timeoutMs = Math.round((opts.timeout ?? PING_TIMEOUT / 1000) * 1000);
      const plan = { count: opts.count ?? PING_COUNT_DEFAULT, countGiven: opts.count !== undefined, untilDirect: opts.untilDirect === true };
      const send = async () => {
        try {
          return (await callDaemon(iface, { cmd: 'ping', peer: found.key, timeoutMs }, Math.min(CONTROL_CONNECTION_DEADLINE, timeoutMs + CONTROL_TIMEOUT))) as PingAnswer;
        } catch (e) {
          throw new CliError(e instanceof ControlError && e.code === 'daemon' ? `ping${what}: ${e.message}` : e instanceof Error ? e.message : String(e));
        }
      };
      const r = await pingLoop(plan, send, (l) => process.stdout.write(`${l}\n`), (ms) => new Promise((res) => setTimeout(res, ms)));
      if (!r.ok) throw new CliError(`ping${what}: ${r.why ?? 'failed'}`);
    });
}

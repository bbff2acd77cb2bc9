// `wh show [IFACE] [all] [--json]` (and plain `wh`): what each running daemon sees.
import type { Command } from 'commander';
import { callDaemon, ControlError, listDaemons } from '../../control/client.js';
import { socketPath } from '../../control/protocol.js';
import type { ShowPeer, ShowResult } from '../../control/show.js';
import { CliError, USAGE_EXIT } from '../errors.js';
import { jsonText, natReason, showJSON } from '../json.js';
import { formatDht } from '../showdht.js';
import { agoText, duration, plural } from '../words.js';
import { resolvePeer } from '../../daemon/resolve.js';

const tty = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code: string, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = (s: string) => paint('1', s);

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(2)} ${units[i]}`;
}

function ago(unixSeconds: number | null): string {
  if (unixSeconds === null) return 'never';
  return agoText(Date.now() / 1000 - unixSeconds);
}

export function pathText(p: ShowPeer): string {
  const text = p.path === 'direct' ? `direct ${p.endpoint ?? ''}` : p.path === 'relay' ? `relay via ${p.relay ?? '?'} (${p.endpoint ?? ''}, forwarded by the ${p.relayForwarding === 'kernel' ? "relay's kernel" : 'daemons'})`
    : p.path === 'down' ? 'down (the data plane is down)' : p.path;
  const colour = p.path === 'direct' ? '32' : p.path === 'relay' ? '36' : p.path === 'searching' ? '33' : '31';
  return `${paint(colour, text)} (for ${duration(p.since)})`;
}

export function formatShow(r: ShowResult): string {
  const out: string[] = [];
  out.push(`${bold('interface')}: ${bold(r.interface)}`);
  out.push(`  network: ${r.network} (${r.config})`);
  out.push(`  role: ${r.role === 'public' ? 'public DHT node (no WireGuard interface)' : `node, WireGuard ${r.backend ?? ''}`}`);
  out.push(`  public key: ${r.publicKey}`);
  if (r.role === 'node') out.push(`  overlay: ${[r.ipv4, r.ipv6].filter(Boolean).join(', ')}`);
  if (r.dataPlane) {
    const state = r.dataPlane === 'up' ? paint('32', 'up') : paint('31', r.dataPlane === 'restarting' ? 'down, being recreated' : 'down, given up');
    const history = r.dataPlaneRestarts > 0 || r.dataPlane !== 'up' ? ` (recreated ${plural(r.dataPlaneRestarts, 'time')}; last down: ${r.dataPlaneError ?? '?'})` : '';
    out.push(`  data plane: ${state}${history}`);
  }
  out.push(`  listening port: ${r.listenPort}`);
  const why = natReason(r.nat, r.natObservers ?? 0);
  out.push(`  NAT: ${r.nat}${r.publicAddress ? ` (seen as ${r.publicAddress})` : ''}${why !== undefined ? `: ${why}` : ''}`);
  if (r.portMapping) out.push(`  port mapping: ${r.portMapping.external} (${r.portMapping.method}, lease ${duration(r.portMapping.lease)})`);
  out.push(`  DHT: ${plural(r.dhtNodes, 'node')} known`);
  for (const b of r.boots ?? []) {
    if (b.state === 'refused' || b.state === 'unreachable') out.push(`  ${paint('31', b.message ?? `boot node ${b.address}: ${b.state}`)}`);
    else if (b.state === 'pending') out.push(`  boot node ${b.address}: no answer yet`);
  }
  const ts = (r.transports ?? []).filter((t) => t.kind !== 'udp' || (r.transports ?? []).some((u) => u.kind !== 'udp'));
  if (ts.length > 0) out.push(`  transports: ${ts.map((t) => `${t.kind} ${t.role === 'client' ? `link to ${t.address} (${t.state ?? '?'})` : t.role === 'server' ? `server ${t.address} (${plural(t.connections ?? 0, 'connection')})` : t.address}`).join(', ')}`);
  if (r.relaying.sessions > 0) out.push(`  relaying: ${plural(r.relaying.sessions, 'session')}, ${r.relaying.kernel} forwarded in the kernel`);
  if (r.role === 'node') out.push(`  peers: ${plural(r.peers.length, 'trusted peer')}`);
  for (const p of r.peers) {
    out.push('');
    out.push(`${bold('peer')}: ${bold(p.name ?? p.key)} (${[p.ipv4, p.ipv6].filter(Boolean).join(', ')})`);
    out.push(`  key: ${p.key}`);
    out.push(`  path: ${pathText(p)}`);
    out.push(`  latest handshake: ${ago(p.lastHandshake)}`);
    out.push(`  transfer: ${bytes(p.rxBytes)} received, ${bytes(p.txBytes)} sent`);
    if (p.rttMs !== null) out.push(`  round-trip time: ${p.rttMs} ms`);
  }
  if (r.dht) out.push('', ...formatDht(r.dht, r.dhtNodes, bold));
  return out.join('\n');
}

/** The show answer with only the peer `query` names (src/daemon/resolve.ts); a CliError when
 *  it names none or several. */
function onePeer(r: ShowResult, query: string): ShowResult {
  const views = r.peers.map((p) => ({ key: p.key, hostname: p.name, ipv4: p.ipv4, ipv6: p.ipv6, p }));
  const m = resolvePeer(query, views, { network: r.network });
  if ('error' in m) throw new CliError(`${r.interface}: ${m.error}`);
  return { ...r, peers: [m.peer.p] };
}

export async function showAction(words: string[], opts: { json?: boolean }): Promise<void> {
  let all = false;
  const ifaces: string[] = [];
  let peer: string | undefined;
  for (const w of words) {
    if (w === 'all') all = true;
    else if (ifaces.length === 0) ifaces.push(w);
    else if (peer === undefined) peer = w;
    else throw new CliError(`unexpected argument '${w}'`, USAGE_EXIT);
  }
  let targets = ifaces;
  if (ifaces.length === 0) {
    try {
      targets = listDaemons();
    } catch (e) {
      throw new CliError(e instanceof Error ? e.message : String(e));
    }
  }
  if (targets.length === 0) {
    if (opts.json) process.stdout.write(jsonText(showJSON([])));
    else process.stderr.write('no WireHub interface is up (start one with: wh up NAME)\n');
    return;
  }
  const results: ShowResult[] = [];
  const errors: string[] = [];
  for (const iface of targets) {
    try {
      const r = (await callDaemon(iface, { cmd: 'show', all })) as ShowResult;
      results.push(peer === undefined ? r : onePeer(r, peer));
    } catch (e) {
      if (e instanceof CliError) throw e;
      // Listing every interface, a socket left by a killed daemon is no interface that is up:
      // it is named (with how to clean it up) and skipped. Named on the command line, it fails.
      if (ifaces.length === 0 && e instanceof ControlError && e.code === 'stale') {
        process.stderr.write(`wh: ${iface}: not running (stale socket ${socketPath(iface)}); wh down ${iface} removes what it left\n`);
        continue;
      }
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  // Nothing on stdout when nothing answered; `wh show` over several daemons prints those that
  // answered, then fails naming the others.
  if (opts.json && (results.length > 0 || errors.length === 0)) process.stdout.write(jsonText(showJSON(results)));
  else if (results.length > 0) process.stdout.write(results.map(formatShow).join('\n\n') + '\n');
  if (errors.length > 0) throw new CliError(errors.join('\n'));
}

export function register(program: Command): void {
  program
    .command('show')
    .usage('[IFACE [PEER]] [all] [--json]')
    .description('show what a running node sees: its peers, their paths, handshakes and traffic')
    .argument('[words...]', 'IFACE, then PEER (hostname, overlay IP, key or key prefix: only that peer), and/or "all" (adds the DHT nodes)')
    .option('--json', 'print JSON for scripts')
    .action(showAction);
}

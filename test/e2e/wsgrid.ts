// The NAT grid's WebSocket rows (docs/NAT.md "The grid"), shared by test/e2e/wsgrid.test.ts and
// bench/connect.ts: ONE micronet world with real wireguard-go, nftables, tinyproxy and nginx.
//
//   boot1  public boot node, UDP 62096 and `listen ws://0.0.0.0:80` (a web port)
//   boot2  public boot node, UDP 62096 and `listen ws://127.0.0.1:8000`, behind a real nginx
//          serving wss:// on its public address, port 443 (TLS terminated there; its throwaway
//          certificate is trusted by the nodes through NODE_EXTRA_CA_CERTS, as a private CA is
//          added to Node's store: docs/NODE.md)
//   p, r, s  public, port-restricted and symmetric nodes, on UDP
//   w      behind micronet's 'web-only' router (all UDP dropped, TCP 80/443 only)
//   x      behind the 'proxy-only' router, with tinyproxy on the router; its daemon has
//          `https_proxy` in its environment, as such networks give it
//   w2     web-only too, with a network file that names boot2 only: its one way in is wss://
//          through nginx
//
// One network file for all (but w2's, which has boot2's lines only): each boot key has its UDP
// line and its ws:// (boot1) or wss:// (boot2) line, the automatic-fallback form; nothing else
// is configured on the blocked side. Every node trusts every other.
import fs from 'node:fs';
import path from 'node:path';
import { until } from './until.js';
import { WhNet } from './whnet.js';
import type { ShowResult } from '../../src/control/show.js';
import { Nginx, nginxMissing } from '../micronet/nginx.js';
import { startRouterProxy, tinyproxyMissing, type Tinyproxy } from '../micronet/tinyproxy.js';

const WS_PORT = 80; // boot1's ws:// listener: a port the web-only router lets out
const BACKEND_PORT = 8000; // boot2's ws:// listener on loopback, nginx's backend
const TLS_PORT = 443; // nginx's wss:// on boot2's public address
/** How long a row may take to ping both ways before it is given up on (the test asks 15 s). */
const PING_GIVE_UP_MS = 30_000;

/** Why the WebSocket grid cannot run here, or false when it can. */
export function wsGridSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return tinyproxyMissing() ?? nginxMissing() ?? false;
}

/** The rows: a node of a network that blocks UDP and its peer on UDP. */
export const WS_ROWS = [
  { blocked: 'w', peer: 'p', label: 'web-only ↔ public' },
  { blocked: 'w', peer: 'r', label: 'web-only ↔ port-restricted' },
  { blocked: 'w', peer: 's', label: 'web-only ↔ symmetric' },
  { blocked: 'x', peer: 'p', label: 'proxy-only (tinyproxy) ↔ public' },
  { blocked: 'w2', peer: 'p', label: 'web-only, wss:// via nginx only ↔ public' },
] as const;

export interface WsRow {
  pair: string;
  /** The blocked side's path to the peer once both pings went through ("relay websocket"). */
  seen: string;
  /** The peer's path to the blocked side. */
  peerSeen: string;
  /** The relay (boot name) and the blocked side's WebSocket links open at that time. */
  via: string;
  /** `wh show IFACE PEER` (text) said "relay over WebSocket". */
  text: boolean;
  /** The blocked side's NAT verdict then (`blocked`: no pong over WebSocket is taken as a UDP mapping). */
  nat: string;
  /** Seconds from the later `wh up` of the two to the first ping blocked -> peer, and until the
   *  peer -> blocked ping went through too; null when it did not within PING_GIVE_UP_MS. */
  seconds: number | null;
  bothSeconds: number | null;
}

export interface WsRecovery {
  pair: string;
  /** UDP unblocked (the web-only rules replaced by port-restricted ones): seconds until the
   *  WebSocket links are closed and a ping goes through on a path not over WebSocket. */
  toUdpSeconds: number;
  udpPath: string;
  /** Blocked again: seconds until a ping goes through relayed over WebSocket. */
  toWsSeconds: number;
}

export interface WsWorld {
  w: WhNet;
  nginx: Nginx;
  proxy: Tinyproxy;
  /** When each node's `wh up` returned (ms since the epoch). */
  upAt: Map<string, number>;
  boot1Url: string;
  boot2Url: string;
}

/** The environment of every daemon: no proxy of this process's (blank is "unset", docs/NODE.md),
 *  the test CA, plus `extra`. */
function daemonEnv(caFile: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NODE_EXTRA_CA_CERTS: caFile };
  for (const k of Object.keys(process.env)) if (/_proxy$/i.test(k)) env[k] = '';
  return { ...env, ...extra };
}

/** Builds the world and brings every node up (boots first, then the six nodes together). The
 *  caller destroys `w` (which ends nginx and tinyproxy with the namespaces). */
export async function buildWsWorld(networkName = `wsg${process.pid % 10000}`): Promise<WsWorld> {
  const w = await WhNet.create(networkName);
  try {
    const boot1 = await w.addNode('boot1', { role: 'boot' });
    const boot2 = await w.addNode('boot2', { role: 'boot' });
    await w.addNode('p');
    await w.addNode('r', { nat: 'port-restricted' });
    await w.addNode('s', { nat: 'symmetric' });
    await w.addNode('w', { nat: 'web-only' });
    const x = await w.addNode('x', { nat: 'proxy-only' });
    await w.addNode('w2', { nat: 'web-only' });
    w.writeConfigs(['p', 'r', 's', 'w', 'x', 'w2']);
    const boot1Url = `ws://${boot1.host.publicIp}:${WS_PORT}/`;
    const boot2Url = `wss://${boot2.host.publicIp}:${TLS_PORT}/`;
    // Each boot key's UDP line followed by its WebSocket line.
    const wsLine = new Map([[boot1.publicKey, boot1Url], [boot2.publicKey, boot2Url]]);
    const shared = fs.readFileSync(w.configFile, 'utf8').split('\n')
      .flatMap((l) => { const k = /^boot (\S+) /.exec(l)?.[1]; return k && wsLine.has(k) ? [l, `boot ${k} ${wsLine.get(k)}`] : [l]; })
      .join('\n');
    if (!shared.includes(boot1Url) || !shared.includes(boot2Url)) throw new Error(`wsgrid: boot lines not found in\n${shared}`);
    fs.writeFileSync(w.configFile, shared);
    const w2Config = path.join(w.dir, 'w2.conf');
    fs.writeFileSync(w2Config, shared.split('\n').filter((l) => !l.startsWith(`boot ${boot1.publicKey} `)).join('\n'));
    const bootConf = fs.readFileSync(w.bootConfigFile, 'utf8');
    const boot1Config = path.join(w.dir, 'boot1.conf');
    const boot2Config = path.join(w.dir, 'boot2.conf');
    fs.writeFileSync(boot1Config, `${bootConf}listen ws://0.0.0.0:${WS_PORT}\n`);
    fs.writeFileSync(boot2Config, `${bootConf}listen ws://127.0.0.1:${BACKEND_PORT}\n`);

    const ndir = path.join(w.net.tmpdir, 'nginx-boot2');
    fs.mkdirSync(ndir);
    const [nginx, proxy] = await Promise.all([
      Nginx.start({ listen: boot2.host.publicIp, port: TLS_PORT, backend: `127.0.0.1:${BACKEND_PORT}`, dir: ndir,
        spawn: (cmd, args) => w.net.spawn(boot2.host, cmd, args, { stdio: 'ignore' }) }),
      startRouterProxy(w.net, x.host.router!, [80, 443]),
    ]);
    const env = daemonEnv(nginx.cert.certFile);
    const upAt = new Map<string, number>();
    const up = async (name: string, opts: { config?: string; env?: Record<string, string> } = {}) => {
      await w.up(name, 30_000, { env: opts.env ?? env, ...(opts.config ? { config: opts.config } : {}) });
      upAt.set(name, Date.now());
    };
    await Promise.all([up('boot1', { config: boot1Config }), up('boot2', { config: boot2Config })]);
    await Promise.all([
      up('p'), up('r'), up('s'), up('w'), up('w2', { config: w2Config }),
      up('x', { env: daemonEnv(nginx.cert.certFile, { https_proxy: proxy.url }) }),
    ]);
    return { w, nginx, proxy, upAt, boot1Url, boot2Url };
  } catch (e) {
    await w.destroy();
    throw e;
  }
}

const pathOf = (s: ShowResult, key: string): string => {
  const p = s.peers.find((x) => x.key === key);
  return p ? `${p.path}${p.relayForwarding ? ` ${p.relayForwarding}` : ''}` : 'none';
};
const wsLinks = (s: ShowResult) => (s.transports ?? []).filter((t) => t.kind === 'ws' && t.role === 'client');

/** Pings `from` -> `to` (overlay) until it works or `end` (ms since the epoch); the time it did. */
async function pingBy(world: WsWorld, from: string, to: string, end: number): Promise<number | null> {
  const ip = world.w.nodes.get(to)!.overlayIp!;
  while (Date.now() < end) {
    if (await world.w.ping(from, ip)) return Date.now();
  }
  return null;
}

async function runRow(world: WsWorld, row: (typeof WS_ROWS)[number]): Promise<WsRow> {
  const { w } = world;
  const b = w.nodes.get(row.blocked)!, p = w.nodes.get(row.peer)!;
  const t0 = Math.max(world.upAt.get(row.blocked)!, world.upAt.get(row.peer)!);
  const first = await pingBy(world, row.blocked, row.peer, t0 + PING_GIVE_UP_MS);
  const back = first === null ? null : await pingBy(world, row.peer, row.blocked, t0 + PING_GIVE_UP_MS);
  const secs = (t: number | null) => (t === null ? null : Math.round((t - t0) / 100) / 10);
  // A relayed path is shown once the peer was heard through it (the next WireGuard sample).
  const shown = await until(`${row.label}: path shown`, 5000, async () => {
    const s = await w.show(row.blocked);
    return pathOf(s, p.publicKey) === 'relay websocket' ? s : undefined;
  }).catch(async () => w.show(row.blocked));
  const relayKey = shown.peers.find((x) => x.key === p.publicKey)?.relay;
  const relay = [...w.nodes.values()].find((n) => n.publicKey === relayKey)?.name ?? relayKey ?? 'no relay';
  const links = wsLinks(shown).filter((t) => t.state === 'open').map((t) => t.address);
  const peerSeen = await until(`${row.label}: peer's path shown`, 5000, async () => {
    const v = pathOf(await w.show(row.peer), b.publicKey);
    return v.startsWith('relay') ? v : undefined;
  }).catch(async () => pathOf(await w.show(row.peer), b.publicKey));
  const text = await w.wh(b, ['show', b.iface, row.peer]);
  return {
    pair: row.label,
    seen: first === null || back === null ? `no ping (${pathOf(shown, p.publicKey)})` : pathOf(shown, p.publicKey),
    peerSeen,
    via: `${relay}; open links: ${links.join(', ') || 'none'}`,
    text: /path: relay via .*relay over WebSocket/.test(text.stdout),
    nat: (await w.show(row.blocked)).nat,
    seconds: secs(first),
    bothSeconds: secs(back),
  };
}

/** Every row at once (they share the world; each is timed from its own pair's later `wh up`). */
export async function runWsRows(world: WsWorld): Promise<WsRow[]> {
  return Promise.all(WS_ROWS.map((r) => runRow(world, r)));
}

/** Unblocks UDP on the blocked node's router, then blocks it again, timing both moves. */
export async function runWsRecovery(world: WsWorld, blocked = 'w', peer = 'p'): Promise<WsRecovery> {
  const { w } = world;
  const b = w.nodes.get(blocked)!, p = w.nodes.get(peer)!;
  const router = b.host.router!;
  const ip = p.overlayIp!;
  // Timed from before the rules change (setNat also flushes the router's conntrack table).
  const t1 = Date.now();
  await w.net.setNat(router, 'port-restricted');
  const udpPath = await until(`${blocked}: back on UDP`, 30_000, async () => {
    const s = await w.show(blocked);
    const v = pathOf(s, p.publicKey);
    const closed = wsLinks(s).every((t) => t.state === 'closed');
    return closed && (v === 'direct' || (v.startsWith('relay') && !v.endsWith('websocket'))) && (await w.ping(blocked, ip)) ? v : undefined;
  });
  const toUdp = Date.now() - t1;
  // Settled on UDP (every boot node answered over it again) before UDP goes away again.
  await until(`${blocked}: boot nodes answer over UDP`, 15_000, async () => {
    const s = await w.show(blocked);
    const udp = (s.boots ?? []).filter((x) => x.address.endsWith(':62096'));
    return udp.length > 0 && udp.every((x) => x.state === 'answered') ? true : undefined;
  });
  const t2 = Date.now();
  await w.net.setNat(router, 'web-only');
  await until(`${blocked}: back on WebSocket`, 30_000, async () => {
    const s = await w.show(blocked);
    return pathOf(s, p.publicKey) === 'relay websocket' && (await w.ping(blocked, ip)) ? true : undefined;
  });
  const toWs = Date.now() - t2;
  const r1 = (ms: number) => Math.round(ms / 100) / 10;
  return { pair: `${blocked} ↔ ${peer}`, toUdpSeconds: r1(toUdp), udpPath, toWsSeconds: r1(toWs) };
}

/** The daemons' logs, for a failure. */
export function wsGridLogs(world: WsWorld, names = ['w', 'x', 'w2', 'p', 'r', 's']): string {
  return names.map((n) => `--- ${n}'s log\n${world.w.nodes.get(n)?.log.slice(-4000) ?? ''}`).join('\n');
}

export function formatWsGrid(rows: WsRow[], rec?: WsRecovery): string {
  const lines = [
    '| pair | expected path | seen path (blocked side / peer) | relay; blocked side\'s open WebSocket links | seconds to first ping | both ways |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) lines.push(`| ${r.pair} | relay over WebSocket | ${r.seen} / ${r.peerSeen} | ${r.via} | ${r.seconds ?? '—'} | ${r.bothSeconds ?? '—'} |`);
  if (rec) {
    lines.push('', '| recovery | UDP unblocked: seconds to a ping not over WebSocket (path) | blocked again: seconds to a ping relayed over WebSocket |', '|---|---|---|');
    lines.push(`| ${rec.pair} | ${rec.toUdpSeconds} (${rec.udpPath}) | ${rec.toWsSeconds} |`);
  }
  return lines.join('\n');
}

/** Builds the world, runs the rows and the recovery, destroys it (bench:connect). */
export async function runWsGrid(): Promise<{ rows: WsRow[]; recovery: WsRecovery | null; error?: string }> {
  const world = await buildWsWorld();
  try {
    const rows = await runWsRows(world);
    let recovery: WsRecovery | null = null;
    let error: string | undefined;
    try {
      recovery = await runWsRecovery(world);
    } catch (e) {
      error = (e as Error).message;
    }
    if (rows.some((r) => r.bothSeconds === null || r.seen !== 'relay websocket') || error || process.env.WH_GRID_LOGS) {
      process.stderr.write(`${wsGridLogs(world)}\n`);
    }
    return { rows, recovery, ...(error ? { error } : {}) };
  } finally {
    await world.w.destroy();
  }
}

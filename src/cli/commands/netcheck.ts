// `wh netcheck [CONFIG] [--json]`: how the config's boot nodes see this host, without starting a
// node (docs/NODE.md "wh netcheck"): an ephemeral key meeting the network's workbit, a UDP
// socket on a random port, a DHT node that is thrown away; a look for a UPnP IGD or NAT-PMP
// gateway (discovery only: nothing is mapped). Like `tailscale netcheck`.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../../config/index.js';
import { searchKey } from '../../crypto/keysearch.js';
import { sodiumReady } from '../../crypto/sodium.js';
import { DhtNode } from '../../dht/node.js';
import { realSeams } from '../../daemon/seams.js';
import { resolveSeeds, seedLabel, seedsOf, systemLookup } from '../../daemon/seeds.js';
import { natKind, probeBoots, type NetcheckProbe } from '../../nat/netcheck.js';
import { discoverGateway, type Found } from '../../nat/portmap-discover.js';
import { NATPMP_PORT } from '../../nat/upnp-proto.js';
import { ANY_HOST, UdpTransport } from '../../net/udp.js';
import { addrKey } from '../../proto/addr.js';
import type { Refusal } from '../../proto/refusal.js';
import { realClock } from '../../util/clock.js';
import { NETCHECK_PORTMAP_TIMEOUT, NETCHECK_SETTLE, NETCHECK_SLOW_WORKBIT, UPNP_REQUEST_TIMEOUT } from '../../params.js';
import { CliError } from '../errors.js';
import { jsonText, SCHEMA_VERSION } from '../json.js';

export const DEFAULT_NETCHECK_CONFIG = '/etc/wirehub/public.conf';

export interface NetcheckReport extends NetcheckProbe {
  config: string;
  localPort: number;
  natType: string;
  portMapper: { method: string; gateway: string; externalIp: string | null } | null;
  /** Boot lines whose host name did not resolve. */
  unresolved: string[];
  keySearchSeconds: number;
}

/** CONFIG as given: a file, else NAME for /etc/wirehub/NAME.conf (wg-quick's convention). */
export function configPath(arg: string | undefined): string {
  if (arg === undefined) return DEFAULT_NETCHECK_CONFIG;
  if (existsSync(arg) || arg.includes('/')) return arg;
  return `/etc/wirehub/${arg}.conf`;
}

export function mapperOf(f: Found | undefined): NetcheckReport['portMapper'] {
  if (f === undefined) return null;
  if (f.kind === 'upnp') return { method: f.igd.method, gateway: new URL(f.igd.controlUrl).hostname, externalIp: f.igd.externalIp ?? f.pmpExternalIp ?? null };
  return { method: 'nat-pmp', gateway: f.pmpGateway, externalIp: f.externalIp || null };
}

const METHOD_TEXT: Record<string, string> = { 'upnp-igd2': 'UPnP IGD v2', 'upnp-igd1': 'UPnP IGD v1', 'nat-pmp': 'NAT-PMP' };

export function formatNetcheck(r: NetcheckReport): string {
  const out = [`Report (${r.config}, from UDP port ${r.localPort}):`];
  out.push(`  * public address: ${r.publicAddress ?? (r.mapping === 'symmetric' ? 'none (a different one per boot node)' : 'unknown')}`);
  out.push(`  * NAT: ${r.natType}`);
  out.push(`  * mapping: ${r.mapping}`);
  out.push(`  * a ping from a port we never sent to: ${r.reachable === null ? 'not checked (no boot node could)' : `${r.reachable ? 'reached us' : 'was dropped'} (checked by ${r.reachCheckedBy ?? '?'})`}`);
  const m = r.portMapper;
  out.push(`  * port mapping gateway: ${m === null ? 'none answered (UPnP IGD, NAT-PMP)' : `${METHOD_TEXT[m.method] ?? m.method} at ${m.gateway}${m.externalIp ? `, external IP ${m.externalIp}` : ''}`}`);
  out.push(`  * boot nodes:`);
  for (const b of r.boots) {
    const addr = b.name === b.address ? b.address : `${b.name} (${b.address})`;
    const what = b.rttMs !== null ? `${b.rttMs}ms, sees us at ${b.seenAs ?? '?'}`
      : b.refusedBelowWorkbit !== null ? `refused: it asks keys of workbit ${b.refusedBelowWorkbit}` : 'no answer';
    out.push(`      - ${addr}: ${what}`);
  }
  for (const u of r.unresolved) out.push(`      - ${u}`);
  return out.join('\n') + '\n';
}

/** docs/JSON.md `wirehub.netcheck`: durations in seconds, like every --json output. */
export function netcheckJSON(r: NetcheckReport) {
  return {
    schema: 'wirehub.netcheck', schemaVersion: SCHEMA_VERSION, config: r.config, localPort: r.localPort,
    publicAddress: r.publicAddress, mapping: r.mapping, reachable: r.reachable, reachCheckedBy: r.reachCheckedBy, natType: r.natType,
    portMapper: r.portMapper,
    boots: r.boots.map((b) => ({ name: b.name, address: b.address, key: b.key, rttSeconds: b.rttMs === null ? null : Number((b.rttMs / 1000).toFixed(4)), seenAs: b.seenAs, refusedBelowWorkbit: b.refusedBelowWorkbit })),
    unresolved: r.unresolved, keySearchSeconds: r.keySearchSeconds,
  };
}

async function netcheck(file: string): Promise<NetcheckReport> {
  let config;
  try {
    config = await loadConfig(file);
  } catch (e) {
    throw new CliError(e instanceof ConfigError ? e.message : `${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const seeds = seedsOf(config, '').filter((s) => s.boot);
  if (seeds.length === 0) throw new CliError(`${file}: no boot lines: nobody to ask`);
  const { nodes, failed } = await resolveSeeds(seeds, systemLookup);
  const sodium = await sodiumReady();
  // The boot nodes refuse keys below the network's workbit: a throwaway key that meets it (a
  // few ms at workbit 8, seconds from 12 on, measured in docs/NODE.md "wh netcheck").
  if (config.workbit >= NETCHECK_SLOW_WORKBIT) process.stderr.write(`wh netcheck: searching a throwaway key of workbit ${config.workbit} (what the boot nodes ask); this takes a while\n`);
  const key = await searchKey({ workbit: config.workbit, namespace: config.namespace });
  // A port of our own, chosen by the kernel: never a running node's.
  const transport = await UdpTransport.bind(ANY_HOST, 0);
  const dht = new DhtNode({ sodium, secret: key.secret, workbit: config.workbit, namespace: config.namespace, transport, clock: realClock, refresh: false });
  const refusals = new Map<string, Refusal>();
  dht.rpc.onRefusal = (r, from) => refusals.set(addrKey(from), r);
  try {
    const [probe, found] = await Promise.all([
      probeBoots(dht, nodes.map((n) => ({ key: n.key, addr: n.addr, keyB64: n.seed.keyB64, name: seedLabel(n.seed) })),
        { localIps: realSeams.localAddresses(), localPort: transport.local.port, refusals, settle: () => new Promise((res) => setTimeout(res, NETCHECK_SETTLE)) }),
      discoverGateway({ timeoutMs: NETCHECK_PORTMAP_TIMEOUT, log: () => undefined, methods: ['upnp-igd2', 'upnp-igd1', 'nat-pmp'], requestTimeoutMs: UPNP_REQUEST_TIMEOUT, gateway: undefined, natPmpPort: NATPMP_PORT, clock: realClock }),
    ]);
    return { config: file, localPort: transport.local.port, ...probe, natType: natKind(probe.boots.every((b) => b.rttMs === null) ? 'blocked' : probe.mapping, probe.reachable), portMapper: mapperOf(found), unresolved: failed, keySearchSeconds: Math.round(key.seconds * 1000) / 1000 };
  } finally {
    dht.close();
    transport.close();
  }
}

export function register(program: Command): void {
  program
    .command('netcheck')
    .description("ask the config's boot nodes how they see this host: public address, NAT, port-mapping gateway, round trips (starts no node)")
    .argument('[config]', `network config file or NAME (/etc/wirehub/NAME.conf); default ${DEFAULT_NETCHECK_CONFIG}`)
    .option('--json', 'print JSON for scripts')
    .action(async (arg: string | undefined, opts: { json?: boolean }) => {
      const r = await netcheck(configPath(arg));
      process.stdout.write(opts.json ? jsonText(netcheckJSON(r)) : formatNetcheck(r));
      if (r.boots.every((b) => b.rttMs === null)) throw new CliError('no boot node answered');
    });
}

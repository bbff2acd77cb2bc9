// The names a node publishes for every program on its host (`hosts yes`, `dns yes`:
// docs/CONFIG.md, "Names for every program"): its block in the hosts file
// (src/daemon/hostsblock.ts, hostsfile.ts) and its DNS responder (dnsserver.ts), both kept in
// step with the config (at the start, at each `wh reload`) and removed when the node stops.
import type { NetworkConfig } from '../config/index.js';
import type { Clock } from '../util/clock.js';
import type { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';
import { DnsServer } from './dnsserver.js';
import { hostsBlock, replaceHostsBlock } from './hostsblock.js';
import { editHostsFile } from './hostsfile.js';
import { namesWanted, zoneOf, type Zone } from './nameszone.js';

export interface HostNamesOptions {
  iface: string;
  /** The hosts file (hostsFilePath(): /etc/hosts unless WH_HOSTS_FILE says otherwise). */
  hostsFile: string;
  /** The DNS responder's port (DNS_PORT; tests use another). */
  dnsPort: number;
  clock: Clock;
  counters: Counters;
  log: Logger;
}

export class HostNames {
  private zone: Zone | undefined;
  /** Who may ask the responder: every trusted peer's overlay address, ours included. */
  private askers: string[] = [];
  private dns: DnsServer | undefined;
  private hosts = false;

  constructor(private readonly opts: HostNamesOptions) {}

  /** Publishes what `config` asks for, on this node's overlay addresses `own` (without
   *  prefix); withdraws what it no longer asks for. Throws what failed (the rest is done). */
  async apply(config: NetworkConfig, own: string[]): Promise<void> {
    const { iface, hostsFile, log } = this.opts;
    const want = namesWanted(config);
    const zone = zoneOf(config);
    this.zone = zone;
    this.askers = config.peers.filter((p) => p.trusted).flatMap((p) => [p.ipv4, p.ipv6].filter((a): a is string => a !== undefined));
    const errors: string[] = [];
    const fail = (what: string) => (e: unknown) => { errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`); };
    if (want.hosts || this.hosts) {
      const block = want.hosts ? hostsBlock(iface, zone) : undefined;
      await editHostsFile(hostsFile, (text) => replaceHostsBlock(text, iface, block)).then(
        (changed) => {
          this.hosts = want.hosts;
          if (changed) log.info(`names: ${want.hosts ? `${zone.entries.length} names in` : 'removed the block from'} ${hostsFile}`);
        },
        fail(hostsFile),
      );
    }
    if (want.dns && this.dns === undefined && own.length > 0) {
      await DnsServer.start({ addresses: own, port: this.opts.dnsPort, zone: () => this.zone!, askers: () => this.askers, clock: this.opts.clock, counters: this.opts.counters }).then(
        (dns) => { this.dns = dns; log.info(`names: DNS for ${zone.network} on ${own.join(', ')} port ${this.opts.dnsPort}/udp`); },
        fail('dns'),
      );
    } else if (!want.dns && this.dns) {
      this.dns.close();
      this.dns = undefined;
      log.info('names: DNS stopped');
    }
    if (errors.length > 0) throw new Error(errors.join('; '));
  }

  /** The DNS responder's ports (tests). */
  dnsPorts(): number[] {
    return this.dns?.ports() ?? [];
  }

  /** Stops the responder and removes the block. Throws when the block could not be removed. */
  async close(): Promise<void> {
    this.dns?.close();
    this.dns = undefined;
    if (!this.hosts) return;
    const { iface, hostsFile } = this.opts;
    await editHostsFile(hostsFile, (text) => replaceHostsBlock(text, iface, undefined));
    this.hosts = false;
  }
}

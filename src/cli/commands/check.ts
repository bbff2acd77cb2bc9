// `wh check FILE`: validates a network config file and prints what it describes, including
// the overlay addresses every node derives from it. `--json` prints the parsed config instead.
import type { Command } from 'commander';
import { ConfigError, configToJSON, formatHostPort, loadConfig, metricsAddress, type NetworkConfig } from '../../config/index.js';
import { proxyText } from '../../config/proxy.js';
import { CliError } from '../errors.js';
import { checkJSON, jsonText } from '../json.js';

const ALLOCATED_MARK = '*';

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** The human-readable report printed by `wh check`. */
export function formatCheckReport(cfg: NetworkConfig): string {
  const out: string[] = [];
  const subnets = [cfg.subnets.v4?.text, cfg.subnets.v6?.text].filter((s): s is string => s !== undefined);
  const trusted = cfg.peers.filter((p) => p.trusted).length;
  out.push(...table([
    ['network:', cfg.name],
    ['namespace:', cfg.namespace],
    ['workbit:', String(cfg.workbit)],
    ['subnets:', subnets.length > 0 ? subnets.join(', ') : '- (none: no trusted peers)'],
    ['boot nodes:', String(cfg.boots.length)],
    ['peers:', `${cfg.peers.length} (${trusted} trusted, ${cfg.peers.length - trusted} untrusted)`],
    ...(cfg.metrics ? [['metrics:', `http://${metricsAddress(cfg.metrics)}/metrics`]] : []),
    ...(cfg.proxy ? [['proxy:', proxyText(cfg.proxy)]] : []),
  ]));
  if (cfg.boots.length > 0) {
    out.push('', 'BOOT NODES');
    out.push(...table([['ADDRESS', 'KEY'], ...cfg.boots.map((b) => [formatHostPort({ host: b.host, kind: b.hostKind, port: b.port }), b.keyB64])]));
  }
  if (cfg.peers.length > 0) {
    const showV4 = cfg.subnets.v4 !== undefined;
    const showV6 = cfg.subnets.v6 !== undefined;
    let allocated = false;
    const ip = (value: string | undefined, explicit: boolean): string => {
      if (value === undefined) return '-';
      if (explicit) return value;
      allocated = true;
      return value + ALLOCATED_MARK;
    };
    const header = ['HOSTNAME', ...(showV4 ? ['IPV4'] : []), ...(showV6 ? ['IPV6'] : []), 'KEY', 'ENDPOINT', 'ROLE'];
    const rows = cfg.peers.map((p) => [
      p.hostname ?? '-',
      ...(showV4 ? [ip(p.ipv4, p.ipv4Explicit)] : []),
      ...(showV6 ? [ip(p.ipv6, p.ipv6Explicit)] : []),
      p.keyB64,
      p.endpoint ? formatHostPort(p.endpoint) : '-',
      p.trusted ? 'trusted' : 'peer',
    ]);
    out.push('', 'PEERS');
    out.push(...table([header, ...rows]));
    if (allocated) out.push('', `${ALLOCATED_MARK} allocated from the peer's key (not written in the file; every node derives the same address)`);
  }
  return out.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('check')
    .description('validate a network config file and print its peers and overlay addresses')
    .argument('<file>', 'network config file')
    .option('--json', 'print the parsed config as JSON (keys in base64)')
    .action(async (file: string, opts: { json?: boolean }) => {
      let cfg: NetworkConfig;
      try {
        cfg = await loadConfig(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // The file could not be read at all: a single message, printed as "wh: FILE: reason".
        if (err.issues.every((i) => i.line === undefined)) throw new CliError(err.message, 1);
        for (const line of err.shown) process.stderr.write(line + '\n');
        const n = err.issues.length;
        throw new CliError(`${file}: ${n} error${n === 1 ? '' : 's'}, config rejected`, 1);
      }
      process.stdout.write(opts.json ? jsonText(checkJSON(configToJSON(cfg))) : formatCheckReport(cfg));
    });
}

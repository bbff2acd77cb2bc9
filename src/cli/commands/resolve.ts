// `wh resolve PEER [--interface IFACE] [--json]`: the peer a hostname, overlay IP, key or key
// prefix names (rules: src/daemon/resolve.ts), with its overlay addresses and its path now, as
// the running daemon knows it (control request `resolve`; src/cli/peerarg.ts picks the daemon).
import type { Command } from 'commander';
import type { ResolvedPeer } from '../../control/resolve.js';
import { jsonText, peerJSON, SCHEMA_VERSION } from '../json.js';
import { resolvePeerArg } from '../peerarg.js';
import { pathText } from './show.js';

export function resolveJSON(p: ResolvedPeer) {
  const state = p.state ? peerJSON(p.state) : null;
  return {
    schema: 'wirehub.resolve', schemaVersion: SCHEMA_VERSION,
    interface: p.interface, network: p.network, key: p.key, hostname: p.hostname, ipv4: p.ipv4, ipv6: p.ipv6,
    self: p.self, matchedBy: p.matchedBy,
    path: state?.path ?? null, pathSeconds: state?.pathSeconds ?? null, endpoint: state?.endpoint ?? null,
    relay: state?.relay ?? null, relayForwarding: state?.relayForwarding ?? null, rttSeconds: state?.rttSeconds ?? null,
    lastHandshake: state?.lastHandshake ?? null,
  };
}

export function formatResolve(p: ResolvedPeer): string {
  const addrs = [p.ipv4, p.ipv6].filter(Boolean).join(', ');
  return [
    `${p.hostname ?? p.key}`,
    `  key: ${p.key}`,
    `  hostname: ${p.hostname ?? '(none)'}`,
    `  overlay: ${addrs || '(none)'}`,
    `  interface: ${p.interface} (network ${p.network})`,
    `  path: ${p.self ? 'this node itself' : p.state ? pathText(p.state) : 'unknown'}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('resolve')
    .usage('PEER [--interface IFACE] [--json]')
    .description('show the peer a hostname, overlay IP, key or key prefix names: key, addresses, path')
    .argument('<peer>', 'hostname (or HOSTNAME.NETWORK), overlay IP, key, or key prefix of 4 characters or more')
    .option('-i, --interface <iface>', 'ask this node (default: every running node; the one that knows the peer answers)')
    .option('--json', 'print JSON for scripts')
    .action(async (peer: string, opts: { interface?: string; json?: boolean }) => {
      const p = await resolvePeerArg(peer, opts.interface);
      process.stdout.write(opts.json ? jsonText(resolveJSON(p)) : formatResolve(p) + '\n');
    });
}

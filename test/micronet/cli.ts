#!/usr/bin/env node
// micronet CLI: `micronet up SPEC.json`, `micronet cleanup`, `micronet --help`.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { NAT_TYPES } from './nat.js';
import { UPNP_MODES } from './upnp.js';
import { cleanupStale, REGISTRY_DIR } from './registry.js';
import { buildNet, parseSpec } from './spec.js';
import type { Host, Micronet, Router } from './micronet.js';

export const USAGE = `Usage: micronet <command>

Test networks of Linux network namespaces: an "internet" bridge (20.0.0.0/16), public hosts,
NAT routers and hosts behind them. Needs root. Nothing is linked to the machine's network.

Commands:
  up SPEC.json   build the network, print its nodes, wait for Ctrl-C (SIGINT/SIGTERM), destroy it
  cleanup        remove what dead runs left behind (namespaces, processes in them, temp dirs),
                 as listed in ${REGISTRY_DIR}/*.json; runs whose process is alive are left alone
  --help, -h     this help

SPEC.json:
  {"name": "demo",                                            (optional run prefix)
   "routers": [{"name": "r1", "nat": "symmetric", "upnp": "igd2"}],
   "hosts": [{"name": "a", "router": "r1"}, {"name": "boot", "public": true}]}
  nat:  ${NAT_TYPES.join(' | ')}   (default port-restricted)
  upnp: ${UPNP_MODES.join(' | ')}   (optional: a miniupnpd on the router)

Enter a node with: ip netns exec <namespace> bash
`;

export function describeNet(net: Micronet): string {
  const rows = [['NODE', 'KIND', 'NAMESPACE', 'IP', 'PUBLIC IP', 'DETAILS']];
  for (const n of net.all) {
    let details = '';
    if (n.kind === 'router') {
      const r = n as Router;
      details = `nat ${r.nat}${r.upnp ? `, upnp ${r.upnp}` : ''}, LAN ${r.lanSubnet} (gateway ${r.lanIp})`;
    } else if (n.kind === 'host') details = `behind ${(n as Host).router?.name}`;
    else if (n.kind === 'internet') details = 'bridge br0';
    rows.push([n.name, n.kind, n.ns, n.ip, n.publicIp, details]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

async function up(file: string): Promise<number> {
  let spec;
  try {
    spec = parseSpec(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    process.stderr.write(`micronet: ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  let net: Micronet | null = null;
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      // A second signal: exit now; the net's 'exit' handler still deletes everything (SIGKILL).
      process.stderr.write('micronet: second signal, exiting at once\n');
      process.exit(130);
    }
    stopping = true;
    process.stderr.write('micronet: stopping\n');
  };
  // Signals during the build are remembered and acted on once it is done (or has failed).
  let wake: () => void = () => {};
  const onSignal = (): void => { stop(); wake(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const t0 = Date.now();
  try {
    net = await buildNet(spec);
  } catch (e) {
    process.stderr.write(`micronet: build failed (everything it made is removed): ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(describeNet(net));
  process.stdout.write(`micronet: run ${net.prefix} up in ${Date.now() - t0} ms; Ctrl-C to destroy it\n`);
  // A signal handler holds no handle of the event loop: without this (ref'd) timer, a net
  // with nothing running inside it would let node exit here and the 'exit' handler destroy it.
  const keepAlive = setInterval(() => {}, 1 << 30);
  if (!stopping) await new Promise<void>((resolve) => { wake = resolve; });
  clearInterval(keepAlive);
  try {
    await net.destroy();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  process.stderr.write(`micronet: run ${net.prefix} destroyed\n`);
  return 0;
}

function cleanup(): number {
  const report = cleanupStale();
  for (const c of report.cleaned) process.stdout.write(`removed run ${c.prefix}: ${c.namespaces.length ? c.namespaces.join(' ') : '(no namespaces left)'}\n`);
  for (const l of report.live) process.stdout.write(`left run ${l.prefix} alone: its process ${l.pid} is alive\n`);
  for (const r of report.refused) process.stderr.write(`micronet: ${r}\n`);
  if (!report.cleaned.length && !report.live.length && !report.refused.length) process.stdout.write('nothing to clean\n');
  return report.refused.length ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const usage = (msg: string): number => {
    process.stderr.write(`micronet: ${msg}\n\n${USAGE}`);
    return 2;
  };
  if (cmd === 'up') {
    if (rest.length !== 1) return usage('up takes one argument: SPEC.json');
    if (process.getuid?.() !== 0) { process.stderr.write('micronet: needs root (network namespaces)\n'); return 1; }
    return up(rest[0]!);
  }
  if (cmd === 'cleanup') {
    if (rest.length) return usage('cleanup takes no argument');
    if (process.getuid?.() !== 0) { process.stderr.write('micronet: needs root (network namespaces)\n'); return 1; }
    return cleanup();
  }
  return usage(cmd === undefined ? 'no command' : `unknown command "${cmd}"`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => { process.stderr.write(`micronet: ${e.stack ?? e.message}\n`); process.exit(1); },
  );
}

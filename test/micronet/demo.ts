// `npm run demo` (as root): a local WireHub network in network namespaces (micronet). A public
// bootstrap node and three public nodes start with `wh up`; we print `wh show` for each, ping
// every node from every other over the overlay, and clean everything up. Nothing leaves the
// machine: the namespaces have no route out.
import { execFileSync } from 'node:child_process';
import { WhNet } from '../e2e/whnet.js';

const REQUIRED: [string, string][] = [
  ['ip', 'iproute2'], ['nft', 'nftables'], ['wireguard-go', 'wireguard-go'], ['wg', 'wireguard-tools'], ['ping', 'iputils-ping'],
];

function missingPackages(): string[] {
  const missing: string[] = [];
  for (const [cmd, pkg] of REQUIRED) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd} || test -x /sbin/${cmd}`], { stdio: 'ignore' });
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('The demo builds network namespaces and WireGuard interfaces: run it as root (sudo npm run demo).');
    return 1;
  }
  const missing = missingPackages();
  if (missing.length > 0) {
    console.error(`Missing system packages. Install them with:\n  apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`);
    return 1;
  }
  const names = ['alice', 'bob', 'carol'];
  const w = await WhNet.create('demo');
  try {
    console.log('Building a micronet: an "internet" bridge with four public hosts (namespaces)...');
    await w.addPublicNode('boot', 'boot');
    for (const n of names) await w.addPublicNode(n);
    w.writeConfigs(names);
    console.log(`\nThe network file every node shares (${w.configFile}):\n`);
    console.log((await import('node:fs')).readFileSync(w.configFile, 'utf8').replace(/^/gm, '    '));
    console.log('wh up on the bootstrap node (a public DHT node), then on alice, bob and carol...');
    const t0 = Date.now();
    await w.up('boot');
    for (const n of names) await w.up(n);
    for (const a of names) {
      for (const b of names) {
        if (a !== b) await w.pingUntil(a, w.nodes.get(b)!.overlayIp!, 10_000);
      }
    }
    console.log(`all tunnels up ${((Date.now() - t0) / 1000).toFixed(1)} s after the first wh up\n`);
    for (const n of names) {
      const r = await w.wh(w.nodes.get(n)!, ['show', w.nodes.get(n)!.iface]);
      console.log(`---- wh show, on ${n} ----`);
      console.log(r.stdout);
    }
    console.log('---- ping over the overlay ----');
    let ok = 0, total = 0;
    for (const a of names) {
      for (const b of names) {
        if (a === b) continue;
        total++;
        const ip = w.nodes.get(b)!.overlayIp!;
        const r = await w.net.exec(w.nodes.get(a)!.host, ['ping', '-c3', '-i0.2', '-W1', '-q', ip]);
        const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
        console.log(`${a.padEnd(6)} -> ${b.padEnd(6)} ${ip.padEnd(11)} ${r.code === 0 ? `ok, rtt ${rtt} ms` : 'FAILED'}`);
        if (r.code === 0) ok++;
      }
    }
    console.log(`\n${ok}/${total} pairs reachable. Cleaning up (wh down on every node, then the namespaces)...`);
    return ok === total ? 0 : 1;
  } finally {
    await w.destroy();
    console.log('done: no namespace, interface, firewall table or process left.');
  }
}

process.exitCode = await main();

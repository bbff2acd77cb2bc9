// `npm run demo` (as root): a local WireHub network in network namespaces (micronet). Two public
// bootstrap nodes, and four nodes: alice on a public address, bob behind a port-restricted cone
// NAT, carol behind a symmetric NAT with UPnP on her router, dave behind a symmetric NAT. They
// start with `wh up`, find each other through the DHT, punch through their NATs (or relay where
// no direct path exists: bob <-> dave), and we print `wh show` for each, ping every node from
// every other over the overlay, and send a line each way through `0nc` between bob and carol
// (both behind NATs). Then everything is cleaned up. Nothing leaves the machine: the namespaces
// have no route out. System packages it lacks are installed by scripts/install-deps.sh first.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../../src/wg/index.js';
import { WhNet } from '../e2e/whnet.js';
import { demoNc } from './demonc.js';

const INSTALL = fileURLToPath(new URL('../../../scripts/install-deps.sh', import.meta.url));

const REQUIRED: [string, string][] = [
  ['ip', 'iproute2'], ['nft', 'nftables'], ['wireguard-go', 'wireguard-go'], ['wg', 'wireguard-tools'], ['ping', 'iputils-ping'],
  ['conntrack', 'conntrack'], ['miniupnpd', 'miniupnpd-nftables'],
];

function missingPackages(): string[] {
  return REQUIRED.filter(([cmd]) => findExecutable(cmd, true) === undefined).map(([, pkg]) => pkg);
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error('The demo builds network namespaces and WireGuard interfaces: run it as root (sudo npm run demo).');
    return 1;
  }
  if (missingPackages().length > 0) {
    console.log(`Missing system packages (${missingPackages().join(' ')}): installing with scripts/install-deps.sh`);
    const r = spawnSync('sh', [INSTALL], { stdio: 'inherit' });
    const still = missingPackages();
    if (r.status !== 0 || still.length > 0) {
      console.error(`scripts/install-deps.sh ${r.status !== 0 ? `failed (exit ${r.status ?? r.signal})` : 'ran'}; still missing: ${still.join(' ') || 'none'}`);
      return 1;
    }
  }
  const names = ['alice', 'bob', 'carol', 'dave'];
  const setup: Record<string, { nat: 'public' | 'port-restricted' | 'symmetric'; upnp?: 'igd2'; text: string }> = {
    alice: { nat: 'public', text: 'public address' },
    bob: { nat: 'port-restricted', text: 'behind a port-restricted cone NAT' },
    carol: { nat: 'symmetric', upnp: 'igd2', text: 'behind a symmetric NAT whose router speaks UPnP IGD' },
    dave: { nat: 'symmetric', text: 'behind a symmetric NAT' },
  };
  const w = await WhNet.create('demo');
  try {
    console.log('Building a micronet: an "internet" bridge, two public boot nodes, and four nodes (namespaces):');
    await w.addNode('boot1', { role: 'boot' });
    await w.addNode('boot2', { role: 'boot' });
    for (const n of names) {
      const o = setup[n]!;
      await w.addNode(n, { nat: o.nat, ...(o.upnp ? { upnp: o.upnp } : {}) });
      console.log(`  ${n.padEnd(6)} ${o.text}`);
    }
    w.writeConfigs(names);
    console.log(`\nThe network file every node shares (${w.configFile}):\n`);
    console.log((await import('node:fs')).readFileSync(w.configFile, 'utf8').replace(/^/gm, '    '));
    console.log('wh up on the boot nodes (public DHT nodes), then on alice, bob, carol and dave...');
    const t0 = Date.now();
    await Promise.all([w.up('boot1'), w.up('boot2')]);
    await Promise.all(names.map((n) => w.up(n)));
    for (const a of names) {
      for (const b of names) {
        if (a !== b) await w.pingUntil(a, w.nodes.get(b)!.overlayIp!, 15_000);
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
        const path = (await w.show(a)).peers.find((p) => p.key === w.nodes.get(b)!.publicKey)?.path ?? '?';
        console.log(`${a.padEnd(6)} -> ${b.padEnd(6)} ${ip.padEnd(11)} ${(r.code === 0 ? `ok, rtt ${rtt} ms` : 'FAILED').padEnd(20)} path: ${path}`);
        if (r.code === 0) ok++;
      }
    }
    console.log(`\n${ok}/${total} pairs reachable.\n`);
    console.log('---- a line each way through 0nc, between bob and carol (a throw-away network of their own) ----');
    const ncOk = await demoNc(w, 'bob', 'carol');
    console.log('Cleaning up (wh down on every node, then the namespaces)...');
    return ok === total && ncOk ? 0 : 1;
  } finally {
    await w.destroy();
    console.log('done: no namespace, interface, firewall table or process left.');
  }
}

process.exitCode = await main();

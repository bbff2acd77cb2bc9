// micronet's pure parts: NAT rule text, miniupnpd config, addressing, build plans, spec parsing,
// registry rules. No root, no namespace (test/e2e/micronet.test.ts runs the real thing).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NAT_TYPES, firewallRules, isNatType, natRules, replaceTableScript, routerRules,
} from '../micronet/nat.js';
import { isUpnpMode, miniupnpdConfig, upnpChains, uuidFor } from '../micronet/upnp.js';
import {
  checkPrefix, checkRole, lanHostIp, nsName, publicHostIp, randomPrefix, routerLanNet, routerWanIp,
} from '../micronet/addressing.js';
import { internetPlan, lanHostPlan, publicHostPlan, routerPlan } from '../micronet/topology.js';
import { parseSpec } from '../micronet/spec.js';
import { creatorAlive, ownsNamespace, ownsTmpdir, parseRegistry, processStart } from '../micronet/registry.js';
import { run, runSync } from '../micronet/exec.js';

const IFS = { wanIf: 'wan0', wanIp: '20.0.2.1' };

/** Rule lines, trimmed, without blank ones. */
function lines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Every brace on its own line or at a line end, as nft 1.0.6 wants; balanced. */
function assertWellFormed(text: string): void {
  let depth = 0;
  for (const l of lines(text)) {
    if (l === '}') depth--;
    else if (l.endsWith('{')) depth++;
    else assert.ok(!l.includes('{') || l.includes('}'), `unbalanced line: ${l}`);
    assert.ok(depth >= 0, 'closing brace without opening');
  }
  assert.equal(depth, 0, 'unbalanced braces');
}

describe('micronet nat rules', () => {
  test('every NAT type yields a well-formed mn_nat table', () => {
    for (const t of NAT_TYPES) {
      const text = natRules(t, IFS);
      assertWellFormed(text);
      assert.equal(lines(text)[0], 'table inet mn_nat {');
    }
  });

  test('port-restricted is a plain masquerade, symmetric a fully-random one', () => {
    const pr = lines(natRules('port-restricted', IFS));
    assert.ok(pr.includes('oifname "wan0" masquerade'));
    assert.ok(!pr.some((l) => l.includes('fully-random') || l.includes('dnat') || l.includes('@cone')));
    const sym = lines(natRules('symmetric', IFS));
    assert.ok(sym.includes('oifname "wan0" masquerade fully-random'));
    assert.ok(!sym.some((l) => l.includes('dnat')));
  });

  test('full-cone learns mappings from LAN-initiated UDP and DNATs inbound through them', () => {
    const fc = lines(natRules('full-cone', IFS));
    assert.ok(fc.includes('type inet_service : ipv4_addr . inet_service'));
    assert.ok(fc.includes('oifname "wan0" ct direction original update @cone { udp sport : ct original ip saddr . ct original proto-src }'));
    assert.ok(fc.includes('iifname "wan0" ip daddr 20.0.2.1 dnat ip to udp dport map @cone'));
    assert.ok(fc.includes('oifname "wan0" masquerade'));
    assert.ok(!fc.some((l) => l.includes('@contacted')));
    // The learning chain runs after the masquerade (it must see the translated port).
    const text = natRules('full-cone', IFS);
    assert.ok(text.indexOf('priority srcnat + 20') > 0 && text.includes('priority srcnat + 10'));
  });

  test('address-restricted also checks the contacted address set', () => {
    const ar = lines(natRules('address-restricted', IFS));
    assert.ok(ar.includes('oifname "wan0" ct direction original update @contacted { udp sport . ip daddr }'));
    assert.ok(ar.includes('iifname "wan0" ip daddr 20.0.2.1 udp dport . ip saddr @contacted dnat ip to udp dport map @cone'));
  });

  test('blocked drops forwarded UDP; none is empty', () => {
    const b = lines(natRules('blocked', IFS));
    assert.ok(b.includes('meta l4proto udp drop'));
    assert.ok(b.includes('oifname "wan0" masquerade'));
    assert.deepEqual(lines(natRules('none', IFS)), ['table inet mn_nat {', '}']);
  });

  test('the firewall drops unsolicited inbound on the WAN; a routed router forwards everything', () => {
    const fw = lines(firewallRules({ wanIf: 'wan0', routed: false }));
    assert.ok(fw.includes('iifname "wan0" ct state established,related accept'));
    assert.ok(fw.includes('iifname "wan0" ct status dnat accept'));
    assert.equal(fw.filter((l) => l === 'iifname "wan0" drop').length, 2); // input and forward
    const open = lines(firewallRules({ wanIf: 'wan0', routed: true }));
    assert.equal(open.filter((l) => l === 'iifname "wan0" drop').length, 1); // input only
    assertWellFormed(routerRules('full-cone', IFS));
    assert.ok(routerRules('none', IFS).includes('table inet mn_fw'));
  });

  test('replaceTableScript makes one transaction that works whether or not the table exists', () => {
    const s = replaceTableScript('mn_nat', natRules('symmetric', IFS));
    assert.deepEqual(s.split('\n').slice(0, 3), ['table inet mn_nat', 'delete table inet mn_nat', 'table inet mn_nat {']);
  });

  test('bad input is refused, not written into rules', () => {
    assert.throws(() => natRules('symmetric', { wanIf: 'wan0"; drop', wanIp: '20.0.2.1' }), /interface/);
    assert.throws(() => natRules('full-cone', { wanIf: 'wan0', wanIp: '20.0.2.300' }), /address/);
    assert.ok(isNatType('full-cone') && !isNatType('cone') && !isNatType(3));
  });
});

describe('micronet miniupnpd config', () => {
  const base = {
    wanIf: 'wan0', lanIf: 'lan0', extIp: '20.0.2.3', lanSubnet: '192.168.3.0/24', leaseFile: '/tmp/x/leases',
    minissdpdSocket: '/tmp/x/ssdp.sock', uuid: uuidFor('a'),
  };

  test('igd2 (default), igd1, natpmp', () => {
    const v2 = lines(miniupnpdConfig({ ...base, mode: 'igd2' }));
    for (const l of ['ext_ifname=wan0', 'ext_ip=20.0.2.3', 'listening_ip=lan0', 'enable_upnp=yes', 'enable_natpmp=yes',
      'upnp_table_name=filter', 'upnp_nat_table_name=filter', 'upnp_forward_chain=miniupnpd', 'upnp_nat_chain=prerouting_miniupnpd',
      'upnp_nat_postrouting_chain=postrouting_miniupnpd', 'lease_file=/tmp/x/leases', 'allow 1024-65535 192.168.3.0/24 1024-65535',
      'deny 0-65535 0.0.0.0/0 0-65535']) assert.ok(v2.includes(l), l);
    assert.ok(!v2.some((l) => l.startsWith('force_igd_desc_v1')));
    // allow before deny: miniupnpd applies the first matching permission rule.
    assert.ok(v2.findIndex((l) => l.startsWith('allow')) < v2.findIndex((l) => l.startsWith('deny')));
    assert.ok(lines(miniupnpdConfig({ ...base, mode: 'igd1' })).includes('force_igd_desc_v1=yes'));
    const pmp = lines(miniupnpdConfig({ ...base, mode: 'natpmp' }));
    assert.ok(pmp.includes('enable_upnp=no') && pmp.includes('enable_natpmp=yes'));
    assert.ok(isUpnpMode('igd1') && !isUpnpMode('igd3'));
  });

  test('the chains miniupnpd fills exist, in table inet filter', () => {
    const c = lines(upnpChains());
    assertWellFormed(upnpChains());
    assert.equal(c[0], 'table inet filter {');
    for (const chain of ['forward', 'miniupnpd', 'prerouting', 'prerouting_miniupnpd', 'postrouting', 'postrouting_miniupnpd']) {
      assert.ok(c.includes(`chain ${chain} {`), chain);
    }
    assert.ok(c.includes('jump miniupnpd') && c.includes('jump prerouting_miniupnpd') && c.includes('jump postrouting_miniupnpd'));
  });

  test('uuids are stable per seed, distinct across seeds, well-formed', () => {
    assert.equal(uuidFor('mnabcd-r1'), uuidFor('mnabcd-r1'));
    assert.notEqual(uuidFor('mnabcd-r1'), uuidFor('mnabcd-r2'));
    assert.match(uuidFor('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('micronet addressing and plans', () => {
  test('the addressing plan', () => {
    assert.equal(publicHostIp(1), '20.0.1.1');
    assert.equal(routerWanIp(7), '20.0.2.7');
    assert.deepEqual(routerLanNet(3, false), { subnet: '192.168.3.0/24', gateway: '192.168.3.1', base: '192.168.3' });
    assert.deepEqual(routerLanNet(3, true), { subnet: '20.0.103.0/24', gateway: '20.0.103.1', base: '20.0.103' });
    assert.equal(lanHostIp(3, 1, false), '192.168.3.2');
    assert.throws(() => publicHostIp(255), RangeError);
    assert.throws(() => routerWanIp(100), RangeError);
    assert.throws(() => lanHostIp(1, 254, false), RangeError);
  });

  test('names', () => {
    for (let i = 0; i < 50; i++) assert.match(randomPrefix(), /^mn[a-z0-9]{4}$/);
    assert.equal(checkPrefix('mn12ab'), 'mn12ab');
    assert.throws(() => checkPrefix('MN'), /bad run name/);
    assert.throws(() => checkPrefix('toolongname'), /bad run name/);
    assert.equal(checkRole('node-a.1'), 'node-a.1');
    assert.throws(() => checkRole('inet'), /reserved/);
    assert.throws(() => checkRole('a/b'), /bad node name/);
    assert.throws(() => checkRole('x'.repeat(17)), /bad node name/);
    assert.equal(nsName('mnab12', 'alice'), 'mnab12-alice');
  });

  test('veth ends are created directly inside namespaces, never in the machine\'s own', () => {
    const plans = [internetPlan('p-inet'), publicHostPlan('p-a', 'p-inet', 1), routerPlan('p-r', 'p-inet', 1, false), lanHostPlan('p-h', 'p-r', 1, 1, false)];
    for (const p of plans) {
      for (const l of p.hostBatch) {
        if (l.startsWith('link add')) assert.match(l, /^link add name \S+ netns \S+ type veth peer name \S+ netns \S+$/);
        else assert.match(l, /^netns add \S+$/);
      }
    }
  });

  test('only hosts get a default route, via their router', () => {
    const all = [internetPlan('p-inet'), publicHostPlan('p-a', 'p-inet', 1), routerPlan('p-r', 'p-inet', 2, false), routerPlan('p-n', 'p-inet', 3, true)]
      .flatMap((p) => p.nsBatches.flatMap((b) => b.lines));
    assert.ok(!all.some((l) => l.includes('route')));
    const h = lanHostPlan('p-h', 'p-r', 2, 1, false);
    assert.ok(h.nsBatches.some((b) => b.ns === 'p-h' && b.lines.includes('route add default via 192.168.2.1 dev eth0')));
    assert.equal(h.ip, '192.168.2.2');
  });

  test('IPv6: the internet has 2001:db8::1/48; a public host is IPv4 (default), dual-stack or IPv6-only, each in a /64 of its own', () => {
    assert.ok(internetPlan('p-inet').nsBatches[0]!.lines.includes('addr add 2001:db8::1/48 dev br0 nodad'));
    const lines = (p: ReturnType<typeof publicHostPlan>) => p.nsBatches.find((b) => b.ns === 'p-a')!.lines.filter((l) => l.startsWith('addr add'));
    const v4 = publicHostPlan('p-a', 'p-inet', 3);
    assert.deepEqual([v4.ip, v4.ip6, lines(v4)], ['20.0.1.3', undefined, ['addr add 20.0.1.3/16 dev eth0']]);
    const dual = publicHostPlan('p-a', 'p-inet', 3, 'dual');
    assert.deepEqual([dual.ip, dual.ip6, lines(dual)], ['20.0.1.3', '2001:db8:0:3::1', ['addr add 20.0.1.3/16 dev eth0', 'addr add 2001:db8:0:3::1/48 dev eth0 nodad']]);
    const six = publicHostPlan('p-a', 'p-inet', 26, 'v6');
    assert.deepEqual([six.ip, six.ip6, lines(six)], ['2001:db8:0:1a::1', '2001:db8:0:1a::1', ['addr add 2001:db8:0:1a::1/48 dev eth0 nodad']]);
  });

  test('routers forward; a routed one answers ARP for its public LAN', () => {
    assert.deepEqual(routerPlan('p-r', 'p-inet', 1, false).sysctls, [{ ns: 'p-r', settings: ['net.ipv4.ip_forward=1'] }]);
    assert.deepEqual(routerPlan('p-r', 'p-inet', 1, true).sysctls[0]!.settings, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.wan0.proxy_arp=1', 'net.ipv4.neigh.wan0.proxy_delay=0']);
  });
});

describe('micronet spec', () => {
  test('a valid spec', () => {
    const s = parseSpec({ routers: [{ name: 'r1', nat: 'symmetric', upnp: 'igd2' }], hosts: [{ name: 'a', router: 'r1' }, { name: 'boot', public: true }] });
    assert.deepEqual(s, { routers: [{ name: 'r1', nat: 'symmetric', upnp: 'igd2' }], hosts: [{ name: 'a', router: 'r1' }, { name: 'boot', public: true }] });
  });

  test('a public host may be dual-stack or IPv6-only; a host behind a router may not', () => {
    const s = parseSpec({ hosts: [{ name: 'a', public: true, ip: 'v6' }, { name: 'b', public: true, ip: 'dual' }, { name: 'c', public: true }] });
    assert.deepEqual(s.hosts, [{ name: 'a', public: true, ip: 'v6' }, { name: 'b', public: true, ip: 'dual' }, { name: 'c', public: true }]);
    assert.throws(() => parseSpec({ hosts: [{ name: 'a', public: true, ip: 'v5' }] }), /ip: expected one of v4, dual, v6/);
    assert.throws(() => parseSpec({ routers: [{ name: 'r' }], hosts: [{ name: 'a', router: 'r', ip: 'v6' }] }), /only public hosts have IPv6/);
  });

  test('every error is reported at once', () => {
    let msg = '';
    try {
      parseSpec({ routers: [{ name: 'r1', nat: 'cone' }, { name: 'r1', upnp: 'x' }], hosts: [{ name: 'a', router: 'r9' }, { name: 'b' }], extra: 1 });
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const part of ['unknown key "extra"', 'spec.routers[0].nat', 'duplicate name "r1"', 'spec.routers[1].upnp', 'no router named "r9"', 'spec.hosts[1]']) {
      assert.ok(msg.includes(part), `${part} in: ${msg}`);
    }
    assert.throws(() => parseSpec([]), /expected an object/);
  });
});

describe('micronet registry rules', () => {
  test('a registry file must be consistent to be acted on', () => {
    const ok = parseRegistry(JSON.stringify({ prefix: 'mnab12', pid: 42, pidStart: '7', namespaces: ['mnab12-a'], tmpdir: null }), '/run/micronet/mnab12.json');
    assert.equal(ok.pid, 42);
    assert.throws(() => parseRegistry(JSON.stringify({ prefix: 'mnab12', pid: 42, namespaces: [] }), 'other.json'), /does not match/);
    assert.throws(() => parseRegistry(JSON.stringify({ prefix: '../x', pid: 42, namespaces: [] }), '../x.json'), /prefix/);
    assert.throws(() => parseRegistry(JSON.stringify({ prefix: 'mnab12', pid: -1, namespaces: [] }), 'mnab12.json'), /pid/);
  });

  test('only names with the run\'s prefix, only micronet temp dirs', () => {
    assert.ok(ownsNamespace('mnab12', 'mnab12-alice'));
    assert.ok(!ownsNamespace('mnab12', 'mnab123-alice'));
    assert.ok(!ownsNamespace('mnab12', 'docker0'));
    assert.ok(!ownsNamespace('mnab12', 'mnab12-../x'));
    assert.ok(ownsTmpdir(join(tmpdir(), 'micronet-mnab12-x1')));
    assert.ok(!ownsTmpdir('/etc'));
    assert.ok(!ownsTmpdir(join(tmpdir(), 'micronet-a', '..', 'other')));
    assert.ok(!ownsTmpdir(join(tmpdir(), 'x', 'micronet-a')));
  });

  test('a creator is alive only with the same pid and start time', () => {
    const start = processStart(process.pid);
    assert.ok(start !== null);
    assert.ok(creatorAlive({ pid: process.pid, pidStart: start }));
    assert.ok(!creatorAlive({ pid: process.pid, pidStart: `${start}9` }));
    const done = runSync(['true']);
    assert.equal(done.code, 0);
  });
});

describe('micronet exec', () => {
  test('exit status, output, no throw unless asked, timeout', async () => {
    const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([r.code, r.stdout, r.stderr, r.timedOut], [3, 'out\n', 'err\n', false]);
    await assert.rejects(run(['sh', '-c', 'exit 4'], { check: true }), /exit status 4/);
    const t = await run(['sleep', '5'], { timeoutMs: 100 });
    assert.equal(t.timedOut, true);
    assert.equal(t.code, 128 + 9);
    assert.equal((await run(['cat'], { input: 'abc' })).stdout, 'abc');
    assert.equal(runSync(['sh', '-c', 'exit 5']).code, 5);
  });
});

// PortMapper (src/nat/upnp.ts) against a real miniupnpd in micronet routers: IGD v2, IGD v1 and
// NAT-PMP only. Needs root. Each host runs this same file as a driver inside its namespace
// (WH_UPNP_DRIVER=1: JSON commands on stdin, answers on stdout), since a mapping is asked from
// the host behind the router. Mappings are checked with real packets from a public host and
// with the router's own rules (nft chains miniupnpd fills). Every wait is bounded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PortMapper, type MapResult } from '../../src/nat/upnp.js';
import { Micronet, type Host, type Router } from '../micronet/index.js';
import { UdpAgent } from '../micronet/agent.js';
import { cleanupStale } from '../micronet/registry.js';

const SELF = fileURLToPath(import.meta.url);

if (process.env.WH_UPNP_DRIVER === '1') {
  await driver();
} else {
  await tests();
}

// ---------------------------------------------------------------- the driver (in a host's namespace)

async function driver(): Promise<void> {
  let pm: PortMapper | undefined;
  const out = (o: unknown): void => { process.stdout.write(JSON.stringify(o) + '\n'); };
  const log = (line: string): void => out({ ev: 'log', line });
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { id: number; op: string; [k: string]: unknown };
    const t0 = Date.now();
    try {
      let value: unknown;
      switch (cmd.op) {
        case 'discover':
          pm = await PortMapper.discover({ timeoutMs: Number(cmd.timeoutMs), log, ...(cmd.methods ? { methods: cmd.methods as never } : {}) });
          value = pm ? { method: pm.method, gateway: pm.gateway, externalIp: pm.externalIp } : null;
          break;
        case 'map':
          value = await pm!.map(cmd.req as never);
          break;
        case 'renew':
          value = await pm!.renew();
          break;
        case 'keep':
          pm!.keepMapped({
            onRenew: (port, r) => out({ ev: 'renew', port, result: r }),
            onError: (e, port) => out({ ev: 'renew-error', port, error: e.message }),
          });
          break;
        case 'stop':
          pm!.stop();
          break;
        case 'unmap':
          await pm!.unmap();
          value = pm!.mappings.size;
          break;
        case 'close':
          await pm?.close();
          break;
        default:
          throw new Error(`unknown op ${cmd.op}`);
      }
      out({ id: cmd.id, ok: true, ms: Date.now() - t0, value });
    } catch (e) {
      out({ id: cmd.id, ok: false, ms: Date.now() - t0, error: (e as Error).message });
    }
  }
  await pm?.close();
}

/** The test side of a driver. */
class Driver {
  readonly events: Record<string, unknown>[] = [];
  readonly logs: string[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (a: Record<string, unknown>) => void>();

  constructor(private readonly child: ChildProcess, readonly name: string) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      let m: Record<string, unknown>;
      try { m = JSON.parse(l) as Record<string, unknown>; } catch { return; }
      if (m.ev === 'log') this.logs.push(String(m.line));
      else if (m.ev) this.events.push(m);
      else if (typeof m.id === 'number') { this.waiting.get(m.id)?.(m); this.waiting.delete(m.id); }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (this.logs.length < 200) this.logs.push(`stderr: ${d.trim()}`); });
  }

  /** Runs one command; rejects with the driver's error, or after timeoutMs. */
  async call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 8000): Promise<{ value: T; ms: number }> {
    const id = this.nextId++;
    const a = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => { this.waiting.delete(id); reject(new Error(`${this.name}: no answer to ${op} in ${timeoutMs} ms\n${this.logs.join('\n')}`)); }, timeoutMs);
      this.waiting.set(id, (m) => { clearTimeout(t); resolve(m); });
      this.child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
    if (!a.ok) throw new Error(`${this.name}: ${op}: ${String(a.error)}\n${this.logs.join('\n')}`);
    return { value: a.value as T, ms: Number(a.ms) };
  }
}

// ---------------------------------------------------------------- the tests

async function tests(): Promise<void> {
  const TOOLS = ['ip', 'nft', 'miniupnpd'];
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  const skip = process.getuid?.() !== 0
    ? 'needs root: network namespaces and a real miniupnpd (run as root, e.g. sudo npm test)'
    : missing.length ? `missing tools: ${missing.join(' ')} (apt-get install miniupnpd-nftables nftables iproute2)` : false;

  const PORT = 6000;
  const QUIET_MS = 500; // how long "nothing arrives" is watched
  const MODES = [
    { mode: 'igd2', method: 'upnp-igd2', soap: 'WANIPConnection:2#AddPortMapping' },
    { mode: 'igd1', method: 'upnp-igd1', soap: 'WANIPConnection:1#AddPortMapping' },
    { mode: 'natpmp', method: 'nat-pmp', soap: 'NAT-PMP port mapping request' },
  ] as const;

  describe('PortMapper against a real miniupnpd', { skip }, () => {
    let net: Micronet;
    let pub: Host;
    let pubAgent: UdpAgent;
    const routers: Record<string, Router> = {};
    const hosts: Record<string, Host> = {};
    const agents: Record<string, UdpAgent> = {};
    const drivers: Record<string, Driver> = {};
    const startDriver = (h: Host): Driver => {
      const env: NodeJS.ProcessEnv = { ...process.env, WH_UPNP_DRIVER: '1' };
      delete env.NODE_TEST_CONTEXT; // the driver is not a test file: keep its stdout ours
      const child = net.spawn(h, process.execPath, [SELF], { env });
      return new Driver(child, h.name);
    };
    /** Sends from a fresh public port (a new flow: no conntrack entry from earlier packets). */
    const probe = async (r: Router, port: number, host: string, tag: string, waitMs = 2000): Promise<boolean> => {
      const src = await pubAgent.bind(0);
      await pubAgent.send(src, `${r.ip}:${port}`, tag);
      return (await agents[host]!.waitFor((d) => d.port === PORT && d.data === tag, waitMs)) !== null;
    };
    /** The rules miniupnpd put in the router (its DNAT and forward chains). */
    const routerRules = async (r: Router): Promise<string[]> => {
      const rules: string[] = [];
      for (const chain of ['prerouting_miniupnpd', 'miniupnpd']) {
        const res = await net.exec(r, ['nft', 'list', 'chain', 'inet', 'filter', chain], { check: true });
        rules.push(...res.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/^(table|chain|\})/.test(l) && !/^\}/.test(l)));
      }
      return rules;
    };

    before(async () => {
      cleanupStale();
      const t0 = Date.now();
      net = await Micronet.create();
      const [p, rs] = await Promise.all([
        net.addPublicHost('pub'),
        Promise.all([
          ...MODES.map((m) => net.addRouter(`r-${m.mode}`, { nat: 'port-restricted', upnp: m.mode })),
          net.addRouter('r-none', { nat: 'port-restricted' }),
        ]),
      ]);
      pub = p;
      for (const r of rs) routers[r.name.slice(2)] = r;
      for (const h of await Promise.all(Object.entries(routers).map(([k, r]) => net.addHost(`h-${k}`, r)))) hosts[h.name.slice(2)] = h;
      pubAgent = await UdpAgent.start(net, pub);
      await Promise.all(Object.keys(hosts).map(async (k) => {
        agents[k] = await UdpAgent.start(net, hosts[k]!);
        await agents[k]!.bind(PORT);
        drivers[k] = startDriver(hosts[k]!);
      }));
      console.log(`# net and agents up in ${Date.now() - t0} ms`);
    });

    after(async () => {
      for (const d of Object.values(drivers)) await d.call('close', {}, 5000).catch(() => {});
      await net?.destroy();
    });

    for (const { mode, method, soap } of MODES) {
      test(`${mode}: map the host's UDP port, a public packet gets in; after unmap() it does not, and the router lists nothing`, async () => {
        const r = routers[mode]!;
        const d = drivers[mode]!;
        assert.equal(await probe(r, PORT, mode, `before-${mode}`, QUIET_MS), false, 'port-restricted: closed before the mapping');

        const found = await d.call<{ method: string; gateway: string; externalIp?: string } | null>('discover', { timeoutMs: 3000 });
        assert.ok(found.value, `no gateway found\n${d.logs.join('\n')}`);
        assert.equal(found.value.method, method);
        assert.equal(found.value.gateway, r.lanIp);
        assert.equal(found.value.externalIp, r.ip);

        const m = await d.call<MapResult>('map', { req: { internalPort: PORT, protocol: 'udp', leaseSeconds: 120, description: `wh-test ${mode}` } });
        assert.deepEqual(m.value, { externalIp: r.ip, externalPort: PORT, lease: 120, method });
        assert.equal((await routerRules(r)).filter((l) => l.includes(`dport ${PORT}`)).length, 2, 'a DNAT and a forward rule');
        assert.ok(await probe(r, m.value.externalPort, mode, `mapped-${mode}`), 'the mapping lets the public host in');

        const rn = await d.call<MapResult[]>('renew');
        assert.deepEqual(rn.value, [m.value]);
        assert.ok(await probe(r, PORT, mode, `renewed-${mode}`), 'still mapped after renew()');

        const um = await d.call<number>('unmap');
        assert.equal(um.value, 0, 'the mapper holds nothing');
        assert.deepEqual(await routerRules(r), [], 'the router has no mapping left');
        assert.equal(await probe(r, PORT, mode, `unmapped-${mode}`, QUIET_MS), false, 'closed again after unmap()');
        assert.match(net.miniupnpdLog(r), new RegExp(soap));
        console.log(`# ${mode}: discover ${found.ms} ms, map ${m.ms} ms, renew ${rn.ms} ms, unmap ${um.ms} ms`);
      });
    }

    test('keepMapped() renews a short lease past its end; after stop() the gateway lets it expire', async () => {
      const LEASE = 3;
      await Promise.all(MODES.map(async ({ mode }) => {
        const r = routers[mode]!;
        const d = drivers[mode]!;
        const m = await d.call<MapResult>('map', { req: { internalPort: PORT, protocol: 'udp', leaseSeconds: LEASE, description: 'wh-test keep' } });
        assert.equal(m.value.lease, LEASE);
        await d.call('keep');
        await new Promise((res) => setTimeout(res, LEASE * 1000 + 1500)); // past the first lease
        assert.ok(await probe(r, PORT, mode, `kept-${mode}`), `${mode}: still mapped after ${LEASE + 1.5} s`);
        const renewals = d.events.filter((e) => e.ev === 'renew');
        assert.ok(renewals.length >= 2, `${mode}: renewed at 1.5 s and 3 s (${JSON.stringify(d.events)})`);
        assert.deepEqual(d.events.filter((e) => e.ev === 'renew-error'), []);
        await d.call('stop');
        // miniupnpd removes an expired mapping on its own: wait for it (at most the lease + 6 s)
        const deadline = Date.now() + LEASE * 1000 + 6000;
        let rules = await routerRules(r);
        while (rules.length && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, 250));
          rules = await routerRules(r);
        }
        assert.deepEqual(rules, [], `${mode}: expired after stop()`);
        assert.equal(await probe(r, PORT, mode, `expired-${mode}`, QUIET_MS), false, `${mode}: closed once expired`);
        await d.call('unmap'); // the gateway no longer has it: still a success
      }));
    });

    test('restricted to NAT-PMP, an IGD v2 router (miniupnpd serves both) is used through NAT-PMP', async () => {
      const d = startDriver(hosts.igd2!);
      const f = await d.call<{ method: string } | null>('discover', { timeoutMs: 2000, methods: ['nat-pmp'] });
      assert.equal(f.value?.method, 'nat-pmp');
      assert.ok(f.ms < 500, `no SSDP wait when UPnP is not wanted (${f.ms} ms)`);
      const m = await d.call<MapResult>('map', { req: { internalPort: PORT, protocol: 'udp', leaseSeconds: 60, description: 'x' } });
      assert.equal(m.value.method, 'nat-pmp');
      assert.ok(await probe(routers.igd2!, PORT, 'igd2', 'pmp-on-igd2'));
      await d.call('close');
      assert.deepEqual(await routerRules(routers.igd2!), [], 'close() removed it');
    });

    test('restricted to UPnP, an IGD v1 router gives its external address through SOAP alone', async () => {
      const d = startDriver(hosts.igd1!);
      const f = await d.call<{ method: string; externalIp?: string } | null>('discover', { timeoutMs: 2000, methods: ['upnp-igd2', 'upnp-igd1'] });
      assert.deepEqual(f.value, { method: 'upnp-igd1', gateway: routers.igd1!.lanIp, externalIp: routers.igd1!.ip });
      await d.call('close');
    });

    test('a NAT-PMP answer is taken at the deadline even when it is shorter than the SSDP wait', async () => {
      const d = startDriver(hosts.natpmp!);
      const f = await d.call<{ method: string } | null>('discover', { timeoutMs: 800 });
      assert.equal(f.value?.method, 'nat-pmp');
      assert.ok(f.ms >= 750 && f.ms < 1300, `${f.ms} ms`);
      await d.call('close');
    });

    test('no UPnP nor NAT-PMP on the router: discover() resolves undefined at its timeout', async () => {
      const f = await drivers.none!.call<unknown>('discover', { timeoutMs: 1000 });
      assert.equal(f.value, null);
      assert.ok(f.ms >= 950 && f.ms < 1600, `${f.ms} ms`);
    });
  });
}

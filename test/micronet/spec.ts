// A network described in JSON (what `micronet up SPEC.json` reads):
//   {"name":"demo",                                   optional run prefix
//    "routers":[{"name":"r1","nat":"symmetric","upnp":"igd2"}],
//    "hosts":[{"name":"a","router":"r1"},{"name":"boot","public":true},
//             {"name":"six","public":true,"ip":"v6"}]}      "ip": v4 (default), dual, v6
// parseSpec() checks it all and reports every error at once; buildNet() builds it and, if any
// step fails, destroys what was built before rethrowing.
import { IP_FAMILIES, ROLE_RE, type IpFamilies } from './addressing.js';
import { Micronet, type CreateOptions } from './micronet.js';
import { NAT_TYPES, isNatType, type NatType } from './nat.js';
import { UPNP_MODES, isUpnpMode, type UpnpMode } from './upnp.js';

export interface RouterSpec { name: string; nat?: NatType; upnp?: UpnpMode }
export type HostSpec = { name: string; router: string } | { name: string; public: true; ip?: IpFamilies };
export interface NetSpec { name?: string; routers: RouterSpec[]; hosts: HostSpec[] }

export function parseSpec(value: unknown): NetSpec {
  const errors: string[] = [];
  const obj = (v: unknown, where: string): Record<string, unknown> | null => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    errors.push(`${where}: expected an object`);
    return null;
  };
  const top = obj(value, 'spec');
  if (!top) throw new Error(errors.join('\n'));
  const known = (o: Record<string, unknown>, keys: string[], where: string): void => {
    for (const k of Object.keys(o)) if (!keys.includes(k)) errors.push(`${where}: unknown key "${k}"`);
  };
  known(top, ['name', 'routers', 'hosts'], 'spec');
  const spec: NetSpec = { routers: [], hosts: [] };
  if (top.name !== undefined) {
    if (typeof top.name === 'string') spec.name = top.name; else errors.push('spec.name: expected a string');
  }
  const names = new Set<string>();
  const name = (v: unknown, where: string): string => {
    if (typeof v !== 'string' || !ROLE_RE.test(v) || v === 'inet') {
      errors.push(`${where}.name: expected a node name (letters, digits, '_', '.', '-'; 16 characters at most; not "inet")`);
      return '';
    }
    if (names.has(v)) errors.push(`${where}.name: duplicate name "${v}"`);
    names.add(v);
    return v;
  };
  const list = (v: unknown, where: string): unknown[] => {
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    errors.push(`${where}: expected an array`);
    return [];
  };
  list(top.routers, 'spec.routers').forEach((v, i) => {
    const where = `spec.routers[${i}]`;
    const o = obj(v, where);
    if (!o) return;
    known(o, ['name', 'nat', 'upnp'], where);
    const r: RouterSpec = { name: name(o.name, where) };
    if (o.nat !== undefined) {
      if (isNatType(o.nat)) r.nat = o.nat; else errors.push(`${where}.nat: expected one of ${NAT_TYPES.join(', ')}`);
    }
    if (o.upnp !== undefined) {
      if (isUpnpMode(o.upnp)) r.upnp = o.upnp; else errors.push(`${where}.upnp: expected one of ${UPNP_MODES.join(', ')}`);
    }
    spec.routers.push(r);
  });
  const routerNames = new Set(spec.routers.map((r) => r.name));
  list(top.hosts, 'spec.hosts').forEach((v, i) => {
    const where = `spec.hosts[${i}]`;
    const o = obj(v, where);
    if (!o) return;
    known(o, ['name', 'router', 'public', 'ip'], where);
    const n = name(o.name, where);
    const ip = o.ip === undefined || IP_FAMILIES.includes(o.ip as IpFamilies) ? o.ip as IpFamilies | undefined : errors.push(`${where}.ip: expected one of ${IP_FAMILIES.join(', ')}`) && undefined;
    if (ip !== undefined && o.public !== true) errors.push(`${where}.ip: only public hosts have IPv6`);
    if (o.public === true && o.router === undefined) spec.hosts.push({ name: n, public: true, ...(ip ? { ip } : {}) });
    else if (typeof o.router === 'string' && o.public === undefined) {
      if (!routerNames.has(o.router)) errors.push(`${where}.router: no router named "${o.router}"`);
      spec.hosts.push({ name: n, router: o.router });
    } else errors.push(`${where}: expected either "router": NAME or "public": true`);
  });
  if (errors.length) throw new Error(`bad network spec:\n  ${errors.join('\n  ')}`);
  return spec;
}

/**
 * Builds the network: routers and public hosts in parallel, then the hosts behind routers in
 * parallel. On any failure it destroys the net (after every step in flight has ended) and
 * rethrows the first error. Numbering follows the order in the spec.
 */
export async function buildNet(spec: NetSpec, opts: CreateOptions = {}): Promise<Micronet> {
  const net = await Micronet.create({ ...(spec.name !== undefined ? { name: spec.name } : {}), ...opts });
  try {
    await settleAll([
      ...spec.hosts.filter((h): h is { name: string; public: true; ip?: IpFamilies } => 'public' in h).map((h) => net.addPublicHost(h.name, h.ip ? { ip: h.ip } : {})),
      ...spec.routers.map((r) => net.addRouter(r.name, { ...(r.nat ? { nat: r.nat } : {}), ...(r.upnp ? { upnp: r.upnp } : {}) })),
    ]);
    await settleAll(spec.hosts.filter((h): h is { name: string; router: string } => 'router' in h).map((h) => net.addHost(h.name, h.router)));
  } catch (e) {
    await net.destroy().catch(() => {});
    throw e;
  }
  return net;
}

/** Waits for every promise, then throws the first rejection (Promise.all would not wait). */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(ps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// The addressing plan and the names: pure functions, no I/O.
//
//   "internet" segment   20.0.0.0/16 on bridge br0 in namespace <prefix>-inet (20.0.0.1)
//   public host k        20.0.1.k      (k = 1..254), interface eth0; its bridge port is p<k>
//   router j, WAN        20.0.2.j      (j = 1..MAX_ROUTERS), interface wan0; bridge port r<j>
//   router j, NAT LAN    192.168.j.0/24 on bridge lan0: router .1, host i at .(i+1) (i = 1..253)
//   router j, nat 'none' 20.0.(100+j).0/24 on lan0 (public, reached through proxy ARP on wan0)
//
//   IPv6 "internet"     2001:db8::/48 on the same bridge (the internet namespace has 2001:db8::1);
//   public host k        2001:db8:0:k::1 (k in hex; dual-stack and IPv6-only hosts), each in a
//                        /64 of its own (per-source limits key on the /64), all on-link (/48)
// 2001:db8::/32 is the documentation prefix (RFC 3849): never routed anywhere.
//
// 20.0.0.0/16 is not a reserved range (miniupnpd refuses to map on a reserved or private
// external address), and it exists only inside the run's namespaces: none of them has a
// route out, and no interface is ever linked to the machine's own network.

export const PUBLIC_NET = '20.0.0.0/16';
export const PUBLIC_PREFIX_LEN = 16;
export const INTERNET_IP = '20.0.0.1';
export const MAX_PUBLIC_HOSTS = 254;
export const MAX_ROUTERS = 99;
export const MAX_HOSTS_PER_ROUTER = 253;

export function publicHostIp(k: number): string {
  checkIndex('public host', k, MAX_PUBLIC_HOSTS);
  return `20.0.1.${k}`;
}

export const PUBLIC_NET6 = '2001:db8::/48';
export const PUBLIC_PREFIX_LEN6 = 48;
export const INTERNET_IP6 = '2001:db8::1';

/** What a public host is numbered in: IPv4 only (the default), both, or IPv6 only. */
export type IpFamilies = 'v4' | 'dual' | 'v6';
export const IP_FAMILIES: readonly IpFamilies[] = ['v4', 'dual', 'v6'];

export function publicHostIp6(k: number): string {
  checkIndex('public host', k, MAX_PUBLIC_HOSTS);
  return `2001:db8:0:${k.toString(16)}::1`;
}

export function routerWanIp(j: number): string {
  checkIndex('router', j, MAX_ROUTERS);
  return `20.0.2.${j}`;
}

/** The third octet's network of router j's LAN: private for NAT routers, public for 'none'. */
export function routerLanNet(j: number, routed: boolean): { subnet: string; gateway: string; base: string } {
  checkIndex('router', j, MAX_ROUTERS);
  const base = routed ? `20.0.${100 + j}` : `192.168.${j}`;
  return { subnet: `${base}.0/24`, gateway: `${base}.1`, base };
}

/** Host i (1-based, in the order added) behind router j. */
export function lanHostIp(j: number, i: number, routed: boolean): string {
  checkIndex('host behind a router', i, MAX_HOSTS_PER_ROUTER);
  return `${routerLanNet(j, routed).base}.${i + 1}`;
}

function checkIndex(what: string, n: number, max: number): void {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new RangeError(`micronet: ${what} number ${n} is out of range 1..${max}`);
}

// ---- names ----

/** A run prefix: a letter, then letters/digits, 8 characters at most (e.g. 'mn3k9z'). */
export const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;
/** A node's role name (the part after the prefix). */
export const ROLE_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,15}$/;

export function randomPrefix(random: () => number = Math.random): string {
  let s = 'mn';
  for (let i = 0; i < 4; i++) s += Math.floor(random() * 36).toString(36);
  return s;
}

export function checkPrefix(prefix: string): string {
  if (!PREFIX_RE.test(prefix)) throw new Error(`micronet: bad run name "${prefix}" (a lowercase letter, then up to 7 lowercase letters or digits)`);
  return prefix;
}

export function checkRole(role: string): string {
  if (!ROLE_RE.test(role)) throw new Error(`micronet: bad node name "${role}" (letters, digits, '_', '.' and '-', 16 characters at most)`);
  if (role === 'inet') throw new Error('micronet: node name "inet" is reserved for the internet namespace');
  return role;
}

export function nsName(prefix: string, role: string): string {
  return `${prefix}-${role}`;
}

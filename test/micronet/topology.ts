// What to create for each building block (the internet, a public host, a router, a host behind
// a router), as `ip -b` batch lines and sysctls: pure functions, no I/O. micronet.ts applies a
// plan with one `ip -b -` in the machine's namespace (namespaces and veth pairs, each end
// created directly inside its namespace, so nothing ever appears in the machine's own network)
// and then, in parallel, one `ip -n NS -b -` per namespace (addresses, routes, links up).
import {
  INTERNET_IP, INTERNET_IP6, PUBLIC_PREFIX_LEN, PUBLIC_PREFIX_LEN6, lanHostIp, publicHostIp, publicHostIp6, routerLanNet, routerWanIp,
  type IpFamilies,
} from './addressing.js';

export const BRIDGE = 'br0';
export const HOST_IF = 'eth0';
export const WAN_IF = 'wan0';
export const LAN_IF = 'lan0';

export interface NsBatch {
  ns: string;
  lines: string[];
}

export interface UnitPlan {
  /** Namespaces this unit creates (recorded in the registry before they are created). */
  namespaces: string[];
  /** `ip -b -` lines run in the machine's namespace: `netns add`, veth pairs. */
  hostBatch: string[];
  /** `ip -n NS -b -` per namespace, run in parallel after hostBatch. */
  nsBatches: NsBatch[];
  /** sysctls to set inside a namespace (`ip netns exec NS sysctl -w`), key=value. */
  sysctls: { ns: string; settings: string[] }[];
}

function vethPair(nsA: string, ifA: string, nsB: string, ifB: string): string {
  return `link add name ${ifA} netns ${nsA} type veth peer name ${ifB} netns ${nsB}`;
}

/** The "internet": a namespace with a bridge numbered 20.0.0.1/16 and 2001:db8::1/48, and no
 *  default route. IPv6 addresses are added `nodad` (usable at once, no duplicate detection:
 *  the plan numbers every host uniquely). */
export function internetPlan(inetNs: string): UnitPlan {
  return {
    namespaces: [inetNs],
    hostBatch: [`netns add ${inetNs}`],
    nsBatches: [{
      ns: inetNs,
      lines: [
        'link set lo up',
        // No multicast snooping: SSDP and friends flood like on a dumb switch.
        `link add ${BRIDGE} type bridge mcast_snooping 0`,
        `addr add ${INTERNET_IP}/${PUBLIC_PREFIX_LEN} dev ${BRIDGE}`,
        `addr add ${INTERNET_IP6}/${PUBLIC_PREFIX_LEN6} dev ${BRIDGE} nodad`,
        `link set ${BRIDGE} up`,
      ],
    }],
    sysctls: [],
  };
}

/** Public host k: eth0 = 20.0.1.k/16 and/or 2001:db8:0:k::1/48 on the internet bridge (bridge
 *  port p<k>). `ip` is its IPv4 address, or its IPv6 one when it has no IPv4. */
export function publicHostPlan(ns: string, inetNs: string, k: number, families: IpFamilies = 'v4'): UnitPlan & { ip: string; ip6?: string } {
  const ip4 = families === 'v6' ? undefined : publicHostIp(k);
  const ip6 = families === 'v4' ? undefined : publicHostIp6(k);
  const port = `p${k}`;
  const addrs = [
    ...(ip4 ? [`addr add ${ip4}/${PUBLIC_PREFIX_LEN} dev ${HOST_IF}`] : []),
    ...(ip6 ? [`addr add ${ip6}/${PUBLIC_PREFIX_LEN6} dev ${HOST_IF} nodad`] : []),
  ];
  return {
    ip: ip4 ?? ip6!,
    ...(ip6 ? { ip6 } : {}),
    namespaces: [ns],
    hostBatch: [`netns add ${ns}`, vethPair(ns, HOST_IF, inetNs, port)],
    nsBatches: [
      { ns: inetNs, lines: [`link set ${port} master ${BRIDGE} up`] },
      { ns, lines: ['link set lo up', ...addrs, `link set ${HOST_IF} up`] },
    ],
    sysctls: [],
  };
}

/**
 * Router j: wan0 = 20.0.2.j/16 on the internet bridge (bridge port r<j>), a LAN bridge lan0 with
 * the LAN's .1, IP forwarding on, no default route. A routed ('none') router also answers ARP on
 * its WAN for its public LAN (proxy ARP), so the rest of the internet reaches that LAN without
 * any route of its own.
 */
export function routerPlan(ns: string, inetNs: string, j: number, routed: boolean): UnitPlan & { wanIp: string; lanIp: string; lanSubnet: string } {
  const wanIp = routerWanIp(j);
  const lan = routerLanNet(j, routed);
  const port = `r${j}`;
  const settings = ['net.ipv4.ip_forward=1'];
  // proxy_delay 0: Linux otherwise delays each proxy ARP answer by up to 0.8 s.
  if (routed) settings.push(`net.ipv4.conf.${WAN_IF}.proxy_arp=1`, `net.ipv4.neigh.${WAN_IF}.proxy_delay=0`);
  return {
    wanIp,
    lanIp: lan.gateway,
    lanSubnet: lan.subnet,
    namespaces: [ns],
    hostBatch: [`netns add ${ns}`, vethPair(ns, WAN_IF, inetNs, port)],
    nsBatches: [
      { ns: inetNs, lines: [`link set ${port} master ${BRIDGE} up`] },
      {
        ns,
        lines: [
          'link set lo up',
          `addr add ${wanIp}/${PUBLIC_PREFIX_LEN} dev ${WAN_IF}`,
          `link set ${WAN_IF} up`,
          `link add ${LAN_IF} type bridge mcast_snooping 0`,
          `addr add ${lan.gateway}/24 dev ${LAN_IF}`,
          `link set ${LAN_IF} up`,
        ],
      },
    ],
    sysctls: [{ ns, settings }],
  };
}

/** Host i behind router j: eth0 = LAN .(i+1)/24, default route via the router's LAN address. */
export function lanHostPlan(ns: string, routerNs: string, j: number, i: number, routed: boolean): UnitPlan & { ip: string } {
  const ip = lanHostIp(j, i, routed);
  const lan = routerLanNet(j, routed);
  const port = `h${i}`;
  return {
    ip,
    namespaces: [ns],
    hostBatch: [`netns add ${ns}`, vethPair(ns, HOST_IF, routerNs, port)],
    nsBatches: [
      { ns: routerNs, lines: [`link set ${port} master ${LAN_IF} up`] },
      {
        ns,
        lines: [
          'link set lo up',
          `addr add ${ip}/24 dev ${HOST_IF}`,
          `link set ${HOST_IF} up`,
          `route add default via ${lan.gateway} dev ${HOST_IF}`,
        ],
      },
    ],
    sysctls: [],
  };
}

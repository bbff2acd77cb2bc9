// The nftables rule text of a router: pure functions, no I/O (loaded with `nft -f -` inside
// the router's namespace). nft 1.0.6 wants each rule and each closing brace on its own line,
// which is how everything here is laid out.
//
// A router has two tables:
//   inet mn_fw   its firewall, fixed for the router's life: drop unsolicited inbound on the WAN
//                (to the router itself and, for NAT routers, through it)
//   inet mn_nat  its NAT type, replaced as a whole by setNat()
// and, with UPnP, the `inet filter` table whose chains miniupnpd fills (see upnp.ts).

export const NAT_TYPES = ['none', 'full-cone', 'address-restricted', 'port-restricted', 'symmetric', 'blocked', 'web-only', 'proxy-only'] as const;
export type NatType = (typeof NAT_TYPES)[number];

export function isNatType(s: unknown): s is NatType {
  return typeof s === 'string' && (NAT_TYPES as readonly string[]).includes(s);
}

export interface RouterIfaces {
  /** WAN interface name (on the internet bridge). */
  wanIf: string;
  /** The router's WAN address. */
  wanIp: string;
}

export const FW_TABLE = 'mn_fw';
export const NAT_TABLE = 'mn_nat';
/** The port of the HTTP proxy a 'proxy-only' router runs for its LAN (tinyproxy.ts). */
export const ROUTER_PROXY_PORT = 3128;
/** The only TCP ports a 'web-only' router forwards out. */
export const WEB_PORTS = [80, 443] as const;
/** How long a full-cone / address-restricted mapping lives without outbound traffic. */
export const CONE_TIMEOUT = '2m';

function q(name: string): string {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) throw new Error(`micronet: bad interface name "${name}"`);
  return `"${name}"`;
}

function checkIp(ip: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new Error(`micronet: bad IPv4 address "${ip}"`);
  return ip;
}

/**
 * The router's firewall. Inbound on the WAN is accepted only for established/related flows
 * (and, when forwarded, for flows a DNAT set up: cone mappings and UPnP/NAT-PMP mappings).
 * Dropping unsolicited packets to the router itself matters: an unconfirmed conntrack entry
 * made by a stray punch packet would otherwise make the NAT renumber its own next mapping.
 * `routed` (nat 'none'): the router forwards everything both ways (its LAN holds public hosts).
 */
export function firewallRules(opts: { wanIf: string; routed: boolean }): string {
  const wan = q(opts.wanIf);
  const forward = opts.routed
    ? []
    : [
        `    iifname ${wan} ct state established,related accept`,
        `    iifname ${wan} ct status dnat accept`,
        `    iifname ${wan} drop`,
      ];
  return [
    `table inet ${FW_TABLE} {`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname ${wan} ct state established,related accept`,
    `    iifname ${wan} drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...forward,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * The table `inet mn_nat` for one NAT type. Only UDP gets the cone behaviour: TCP and ICMP are
 * masqueraded like port-restricted on the cone types and 'blocked' (fully-random on 'symmetric').
 *
 * - none: empty (plain routing; the LAN is a public subnet).
 * - port-restricted: masquerade. Linux keeps the source port whenever it is free, for every
 *   destination (endpoint-independent mapping); inbound only from the exact address:port
 *   contacted (conntrack).
 * - symmetric: masquerade fully-random: a new random port for each new destination.
 * - full-cone: masquerade, and a dynamic map learns `mapped port -> LAN address . port` from
 *   outbound UDP (original direction only); inbound UDP to a mapped port from anyone is
 *   DNATed to the LAN host.
 * - address-restricted: full-cone, but inbound is DNATed only from an address the mapping has
 *   sent to (a second dynamic set of `mapped port . remote address`), from any port.
 * - blocked: UDP is dropped in both directions when forwarded; other traffic as port-restricted.
 * - web-only: a network that lets only the web out: UDP dropped both ways when forwarded; from
 *   the LAN only new TCP flows to ports 80 and 443 are forwarded (ICMP and every other port
 *   dropped); masqueraded as port-restricted.
 * - proxy-only: a network whose only way out is an HTTP proxy: nothing from the LAN is
 *   forwarded, and the LAN may reach only TCP ROUTER_PROXY_PORT on the router itself, where a
 *   proxy runs (tinyproxy.ts: startRouterProxy); the proxy reaches out from the WAN address.
 */
export function natRules(type: NatType, ifs: RouterIfaces): string {
  const wan = q(ifs.wanIf);
  const wanIp = checkIp(ifs.wanIp);
  const lines: string[] = [`table inet ${NAT_TABLE} {`];
  if (type !== 'none') {
    const cone = type === 'full-cone' || type === 'address-restricted';
    const restricted = type === 'address-restricted';
    if (cone) {
      lines.push(
        '  map cone {',
        '    type inet_service : ipv4_addr . inet_service',
        '    flags dynamic,timeout',
        `    timeout ${CONE_TIMEOUT}`,
        '  }',
      );
    }
    if (restricted) {
      lines.push(
        '  set contacted {',
        '    type inet_service . ipv4_addr',
        '    flags dynamic,timeout',
        `    timeout ${CONE_TIMEOUT}`,
        '  }',
      );
    }
    // After miniupnpd's nat chains (priority srcnat/dstnat), so its explicit mappings win.
    lines.push(
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat + 10; policy accept;',
      `    oifname ${wan} masquerade${type === 'symmetric' ? ' fully-random' : ''}`,
      '  }',
    );
    if (cone) {
      // A filter chain after the NAT one sees the translated source port; `ct original`
      // still has the LAN address and port. Only LAN-initiated flows teach the map.
      lines.push(
        '  chain learn {',
        '    type filter hook postrouting priority srcnat + 20; policy accept;',
        `    oifname ${wan} ct direction original update @cone { udp sport : ct original ip saddr . ct original proto-src }`,
        ...(restricted ? [`    oifname ${wan} ct direction original update @contacted { udp sport . ip daddr }`] : []),
        '  }',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat + 10; policy accept;',
        restricted
          ? `    iifname ${wan} ip daddr ${wanIp} udp dport . ip saddr @contacted dnat ip to udp dport map @cone`
          : `    iifname ${wan} ip daddr ${wanIp} dnat ip to udp dport map @cone`,
        '  }',
      );
    }
    if (type === 'web-only') {
      lines.push(
        '  chain forward {',
        '    type filter hook forward priority filter - 10; policy accept;',
        '    meta l4proto udp drop',
        `    iifname != ${wan} ct state established,related accept`,
        `    iifname != ${wan} tcp dport { ${WEB_PORTS.join(', ')} } ct state new accept`,
        `    iifname != ${wan} drop`,
        '  }',
      );
    }
    if (type === 'proxy-only') {
      lines.push(
        '  chain forward {',
        '    type filter hook forward priority filter - 10; policy accept;',
        '    meta l4proto udp drop',
        `    iifname != ${wan} drop`,
        '  }',
        '  chain input {',
        '    type filter hook input priority filter - 10; policy accept;',
        `    iifname { ${wan}, "lo" } accept`,
        '    ct state established,related accept',
        `    tcp dport ${ROUTER_PROXY_PORT} accept`,
        '    drop',
        '  }',
      );
    }
    if (type === 'blocked') {
      lines.push(
        '  chain forward {',
        '    type filter hook forward priority filter - 10; policy accept;',
        '    meta l4proto udp drop',
        '  }',
      );
    }
  }
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * An `nft -f` script that replaces table `inet NAME` atomically with `body` (one transaction:
 * `table` creates it if missing, so the `delete` never fails).
 */
export function replaceTableScript(name: string, body: string): string {
  return `table inet ${name}\ndelete table inet ${name}\n${body}`;
}

/** The whole ruleset of a new router: its firewall and its NAT type. */
export function routerRules(type: NatType, ifs: RouterIfaces): string {
  return firewallRules({ wanIf: ifs.wanIf, routed: type === 'none' }) + natRules(type, ifs);
}

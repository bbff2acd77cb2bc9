// A real miniupnpd (package miniupnpd-nftables) inside a router namespace: its config file and
// the nftables chains it fills (pure functions), and starting it.
//
// The package's /etc/miniupnpd/nft_init.sh is broken (it sources a file the package does not
// ship), so the chains are created here: table `inet filter` with a `forward` chain that jumps
// to `miniupnpd`, and nat chains `prerouting`/`postrouting` that jump to
// `prerouting_miniupnpd`/`postrouting_miniupnpd`. The masquerade itself is not there: it is
// the router's NAT type (table mn_nat, nat.ts), at a later priority, so explicit mappings win.
import type { ChildProcess } from 'node:child_process';

export const UPNP_MODES = ['igd2', 'igd1', 'natpmp'] as const;
/**
 * igd2: UPnP IGD v2 (miniupnpd's default) and NAT-PMP/PCP.
 * igd1: UPnP IGD v1 (`force_igd_desc_v1=yes`) and NAT-PMP/PCP.
 * natpmp: NAT-PMP/PCP only (`enable_upnp=no`).
 */
export type UpnpMode = (typeof UPNP_MODES)[number];

export function isUpnpMode(s: unknown): s is UpnpMode {
  return typeof s === 'string' && (UPNP_MODES as readonly string[]).includes(s);
}

export const UPNP_HTTP_PORT = 5000;
export const NATPMP_PORT = 5351;

export interface MiniupnpdOptions {
  mode: UpnpMode;
  wanIf: string;
  lanIf: string;
  /** The router's WAN address (must not be a reserved/private one, or miniupnpd refuses to map). */
  extIp: string;
  /** The LAN, e.g. 192.168.1.0/24: the only clients allowed to map. */
  lanSubnet: string;
  leaseFile: string;
  /** A path where no minissdpd listens: /run is shared by every namespace on the machine. */
  minissdpdSocket: string;
  /** Unique per router (miniupnpd's default uuid is the same for every instance). */
  uuid: string;
}

/** The miniupnpd.conf text. */
export function miniupnpdConfig(o: MiniupnpdOptions): string {
  return [
    `ext_ifname=${o.wanIf}`,
    `ext_ip=${o.extIp}`,
    `listening_ip=${o.lanIf}`,
    `http_port=${UPNP_HTTP_PORT}`,
    `enable_upnp=${o.mode === 'natpmp' ? 'no' : 'yes'}`,
    'enable_natpmp=yes',
    ...(o.mode === 'igd1' ? ['force_igd_desc_v1=yes'] : []),
    'secure_mode=yes',
    'system_uptime=yes',
    'notify_interval=60',
    'clean_ruleset_interval=600',
    `uuid=${o.uuid}`,
    'upnp_table_name=filter',
    'upnp_nat_table_name=filter',
    'upnp_forward_chain=miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    `lease_file=${o.leaseFile}`,
    `minissdpdsocket=${o.minissdpdSocket}`,
    `allow 1024-65535 ${o.lanSubnet} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/** The `inet filter` table miniupnpd adds its rules to (its nft_init.sh, fixed). */
export function upnpChains(): string {
  return [
    'table inet filter {',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    jump miniupnpd',
    '  }',
    '  chain miniupnpd {',
    '  }',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    '    jump prerouting_miniupnpd',
    '  }',
    '  chain prerouting_miniupnpd {',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    '    jump postrouting_miniupnpd',
    '  }',
    '  chain postrouting_miniupnpd {',
    '  }',
    '}',
    '',
  ].join('\n');
}

/** A UUID derived from a run-unique string (miniupnpd wants one; it need not be random). */
export function uuidFor(seed: string): string {
  let h = 0x811c9dc5;
  const words: number[] = [];
  for (let round = 0; round < 4; round++) {
    for (const ch of `${round}:${seed}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    words.push(h);
  }
  const hex = words.map((w) => w.toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Resolves once miniupnpd has said it listens (HTTP for UPnP, and NAT-PMP), rejects if it exits
 * first or says nothing within timeoutMs (it runs with -d: it logs to stderr, which must be a pipe).
 */
export function waitMiniupnpdReady(child: ChildProcess, mode: UpnpMode, timeoutMs: number): Promise<void> {
  const needed = [/Listening for NAT-PMP\/PCP traffic on port/];
  if (mode !== 'natpmp') needed.push(/HTTP listening on port/);
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err); else resolve();
    };
    const onData = (d: Buffer | string): void => {
      buf += d.toString();
      if (needed.every((re) => re.test(buf))) done();
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done(new Error(`miniupnpd exited (${code ?? signal}) before it was ready: ${buf.trim().slice(-2000)}`));
    };
    const timer = setTimeout(() => done(new Error(`miniupnpd not ready after ${timeoutMs} ms: ${buf.trim().slice(-2000)}`)), timeoutMs);
    child.stderr?.on('data', onData);
    child.on('exit', onExit);
  });
}

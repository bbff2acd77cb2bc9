// Configuring and reading an interface with the `wg` tool (wireguard-tools): the kernel
// backend's control path (the kernel speaks netlink, which `wg` implements). `wg` also works
// on userspace interfaces (it finds them by their socket), which is how the tests exercise this
// code on a machine without the kernel module.
//
// The private key is passed as `private-key /dev/stdin` with the key on stdin, never on the
// command line. `wg show NAME dump` prints one tab-separated line for the interface
// (private-key public-key listen-port fwmark) and one per peer (public-key preshared-key
// endpoint allowed-ips latest-handshake transfer-rx transfer-tx persistent-keepalive), with
// "(none)" for an empty field and "off" for no keepalive.
import { runTool, WG, WgError } from '../util/exec.js';
import { wgCidr, parseEndpoint, validateKey, validateKeepalive, validatePort } from './names.js';
import type { WgControl, WgDump, WgPeerDump } from './types.js';
import type { WgPeerConfig } from './types.js';

/** Parses `wg show NAME dump` (one interface). Pure. */
export function parseWgDump(text: string): WgDump {
  const lines = text.split('\n').filter((l) => l !== '');
  const head = lines[0]?.split('\t');
  // Errors count fields, never quote them: the first line holds the private key, peer lines
  // their preshared keys.
  if (head === undefined || head.length < 4) throw new WgError(`unexpected \`wg show dump\` output: ${head === undefined ? 'nothing' : `${head.length} fields on the interface line, expected 4`}`);
  const dump: WgDump = { publicKey: head[1] === '(none)' ? '' : head[1]!, listenPort: Number(head[2]), peers: [] };
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    if (f.length < 8) throw new WgError(`unexpected \`wg show dump\` peer line: ${f.length} fields, expected 8`);
    const peer: WgPeerDump = {
      publicKey: f[0]!,
      allowedIps: f[3] === '(none)' || f[3] === '' ? [] : f[3]!.split(','),
      latestHandshake: Number(f[4]),
      rxBytes: Number(f[5]),
      txBytes: Number(f[6]),
      keepalive: f[7] === 'off' ? 0 : Number(f[7]),
    };
    if (f[2] !== '(none)') peer.endpoint = f[2]!;
    dump.peers.push(peer);
  }
  return dump;
}

/** The `wg set` arguments for one peer. Pure. */
export function wgPeerArgs(name: string, peer: WgPeerConfig): string[] {
  const args = ['set', name, 'peer', validateKey(peer.publicKey, 'peer public key')];
  if (peer.endpoint !== undefined) {
    parseEndpoint(peer.endpoint);
    args.push('endpoint', peer.endpoint.trim());
  }
  args.push('persistent-keepalive', String(validateKeepalive(peer.keepalive ?? 0)));
  const ips = peer.allowedIps.map((a) => {
    const c = wgCidr(a, 'allowed IP');
    return `${c.ip}/${c.prefix}`;
  });
  args.push('allowed-ips', ips.join(','));
  return args;
}

export class WgToolControl implements WgControl {
  constructor(readonly name: string, readonly netns?: string) {}

  private opts(input?: string): { netns?: string; input?: string } {
    return { ...(this.netns !== undefined ? { netns: this.netns } : {}), ...(input !== undefined ? { input } : {}) };
  }

  async setDevice(privateKey: string, listenPort: number): Promise<void> {
    const key = validateKey(privateKey, 'private key');
    const port = String(validatePort(listenPort, 'listen port', true));
    await runTool(WG, ['set', this.name, 'private-key', '/dev/stdin', 'listen-port', port], this.opts(key + '\n'));
  }

  async setPeer(peer: WgPeerConfig): Promise<void> {
    await runTool(WG, wgPeerArgs(this.name, peer), this.opts());
  }

  async removePeer(publicKey: string): Promise<void> {
    await runTool(WG, ['set', this.name, 'peer', validateKey(publicKey, 'peer public key'), 'remove'], this.opts());
  }

  async dump(): Promise<WgDump> {
    return parseWgDump(await runTool(WG, ['show', this.name, 'dump'], { ...this.opts(), secretOutput: true }));
  }
}

// A small client for the WireGuard cross-platform userspace API (UAPI), spoken by
// wireguard-go (and boringtun) on the unix socket /var/run/wireguard/NAME.sock.
//
// Protocol (https://www.wireguard.com/xplatform/): one request per connection, lines
// "key=value", ended by an empty line. `get=1` answers private_key (hex), listen_port, then per
// peer public_key (hex, starts a peer), endpoint, last_handshake_time_sec/_nsec, rx_bytes,
// tx_bytes, persistent_keepalive_interval, allowed_ip (repeated); every answer ends with
// "errno=N" and an empty line (N = 0 on success, a negative errno otherwise, e.g. -22 for a
// bad value, -98 for a listen port in use). `set=1` takes the same keys, plus
// replace_allowed_ips=true and remove=true (which must follow public_key).
//
// Why UAPI for userspace rather than spawning `wg`: a `get=1` round trip takes about 0.3 ms
// here, against several ms for spawning `wg show NAME dump` (numbers in the e2e test output),
// the private key never leaves this process except on the root-only socket, and `wg` is not
// needed at all for the userspace backend. Keys are hex here, base64 everywhere else.
import { connect } from 'node:net';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { WgError } from '../util/exec.js';
import { hexToKey, keyToHex, wgCidr, resolveEndpoint, validateKey, validateKeepalive, validatePort } from './names.js';
import type { WgControl, WgDump, WgPeerConfig, WgPeerDump } from './types.js';

export const SOCKET_DIR = '/var/run/wireguard';

export function socketPath(name: string): string {
  return `${SOCKET_DIR}/${name}.sock`;
}

const ERRNO_TEXT: Record<number, string> = {
  22: 'invalid value (EINVAL)',
  71: 'protocol error (EPROTO)',
  98: 'address in use (EADDRINUSE): the listen port is taken',
  5: 'I/O error (EIO)',
};

/** Sends one UAPI request ("get=1\n\n" or "set=1\n…\n\n") and returns the answer's lines
 *  before "errno=". Throws a WgError when errno is not 0 or the socket fails. */
export function uapiRequest(path: string, request: string, timeoutMs = 5000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let done = false;
    const finish = (err: Error | null, lines?: string[]) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(lines!);
    };
    const timer = setTimeout(() => finish(new WgError(`UAPI ${path}: no answer after ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(request));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const m = /(?:^|\n)errno=(-?\d+)\n\n/.exec(buf);
      if (!m) return;
      const errno = Number(m[1]);
      const lines = buf.slice(0, m.index).split('\n').filter((l) => l !== '');
      if (errno !== 0) {
        const what = request.startsWith('get=') ? 'get' : 'set';
        finish(new WgError(`WireGuard (UAPI ${path}) refused the ${what}: errno ${errno}${ERRNO_TEXT[-errno] ? ' ' + ERRNO_TEXT[-errno] : ''}`));
      } else finish(null, lines);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is the interface up? its wireguard-go is not running)' : '';
      finish(new WgError(`cannot talk to ${path}: ${e.code ?? e.message}${hint}`));
    });
    // Not quoted: a `get` answer begins with the private key.
    sock.on('close', () => finish(new WgError(`UAPI ${path}: connection closed before the answer ended (after ${buf.length} characters)`)));
  });
}

// PKCS#8 DER header of a raw X25519 private key (RFC 8410); the 32 key bytes follow.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Public key (base64) of a private key given in hex, with Node's X25519 (clamps as wg does). */
export function publicKeyOfPrivateHex(hex: string): string {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(hex, 'hex')]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  const x = pub.export({ format: 'jwk' }).x;
  return Buffer.from(x!, 'base64url').toString('base64');
}

const pubCache = new Map<string, string>();

/** Parses the lines of a `get=1` answer. Pure. */
export function parseUapiGet(lines: readonly string[]): WgDump {
  const dump: WgDump = { publicKey: '', listenPort: 0, peers: [] };
  let peer: WgPeerDump | undefined;
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = { publicKey: hexToKey(value), allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, keepalive: 0 };
      dump.peers.push(peer);
      continue;
    }
    if (peer === undefined) {
      if (key === 'private_key' && /^[0-9a-f]{64}$/.test(value) && !/^0{64}$/.test(value)) {
        let pub = pubCache.get(value);
        if (pub === undefined) {
          pub = publicKeyOfPrivateHex(value);
          if (pubCache.size > 64) pubCache.clear();
          pubCache.set(value, pub);
        }
        dump.publicKey = pub;
      } else if (key === 'listen_port') dump.listenPort = Number(value);
      continue;
    }
    switch (key) {
      case 'endpoint':
        peer.endpoint = value;
        break;
      case 'allowed_ip':
        peer.allowedIps.push(value);
        break;
      case 'last_handshake_time_sec':
        peer.latestHandshake = Number(value);
        break;
      case 'rx_bytes':
        peer.rxBytes = Number(value);
        break;
      case 'tx_bytes':
        peer.txBytes = Number(value);
        break;
      case 'persistent_keepalive_interval':
        peer.keepalive = Number(value);
        break;
    }
  }
  return dump;
}

/** The `set=1` request for one peer (endpoint already resolved to IP:port). Pure. */
export function peerSetRequest(peer: { publicKey: string; endpoint?: string; allowedIps: readonly string[]; keepalive?: number }): string {
  const lines = ['set=1', `public_key=${keyToHex(peer.publicKey)}`];
  if (peer.endpoint !== undefined) lines.push(`endpoint=${peer.endpoint}`);
  lines.push(`persistent_keepalive_interval=${peer.keepalive ?? 0}`);
  lines.push('replace_allowed_ips=true');
  for (const a of peer.allowedIps) lines.push(`allowed_ip=${a}`);
  return lines.join('\n') + '\n\n';
}

export class UapiControl implements WgControl {
  constructor(readonly path: string) {}

  async setDevice(privateKey: string, listenPort: number): Promise<void> {
    const hex = keyToHex(validateKey(privateKey, 'private key'));
    await uapiRequest(this.path, `set=1\nprivate_key=${hex}\nlisten_port=${validatePort(listenPort, 'listen port', true)}\n\n`);
  }

  async setPeer(peer: WgPeerConfig): Promise<void> {
    const publicKey = validateKey(peer.publicKey, 'peer public key');
    const allowedIps = peer.allowedIps.map((a) => {
      const c = wgCidr(a, 'allowed IP');
      return `${c.ip}/${c.prefix}`;
    });
    const keepalive = validateKeepalive(peer.keepalive ?? 0);
    const endpoint = peer.endpoint === undefined ? undefined : await resolveEndpoint(peer.endpoint);
    await uapiRequest(this.path, peerSetRequest({ publicKey, allowedIps, keepalive, ...(endpoint !== undefined ? { endpoint } : {}) }));
  }

  async removePeer(publicKey: string): Promise<void> {
    const hex = keyToHex(validateKey(publicKey, 'peer public key'));
    await uapiRequest(this.path, `set=1\npublic_key=${hex}\nremove=true\n\n`);
  }

  async dump(): Promise<WgDump> {
    return parseUapiGet(await uapiRequest(this.path, 'get=1\n\n'));
  }
}

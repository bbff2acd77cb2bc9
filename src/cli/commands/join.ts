// `wh join INVITATION [--dir DIR] [--no-up]`: joins a network with an invitation from
// `wh invite` (docs/PROTOCOL.md section 7.6 "Joining with an invitation"): makes a key meeting
// the network's workbit, proves the invitation to the inviter over the DHT (src/daemon/invitejoin.ts),
// writes the network file it sends (with this node's new trust line) and the key, both mode 0600,
// as DIR/NETWORK.conf and DIR/NETWORK.sk (wg-quick's layout; DIR defaults to /etc/wirehub), then
// starts the node with `wh up`. INVITATION `-` reads it from standard input (kept out of `ps`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ConfigError, parseConfig, writeFileAtomic } from '../../config/index.js';
import { keyToBase64 } from '../../crypto/keys.js';
import { searchKey } from '../../crypto/keysearch.js';
import { sodiumReady } from '../../crypto/sodium.js';
import { JoinError, joinWithInvitation } from '../../daemon/invitejoin.js';
import { ANY_HOST, UdpTransport } from '../../net/udp.js';
import { decodeInvitation } from '../../proto/alias.js';
import { realClock } from '../../util/clock.js';
import { CliError, USAGE_EXIT } from '../errors.js';
import { readStdin } from '../io.js';

export const DEFAULT_DIR = '/etc/wirehub';

/** The network file with every `hosts yes` / `dns yes` line commented out (docs/CONFIG.md). */
export function namesOff(text: string): string {
  return text.replace(/^([ \t]*(?:hosts|dns)[ \t]+yes\b.*)$/gm, '# $1   # turned off by wh join: turn it on once you trust the names this file publishes');
}

async function join(text: string, opts: { dir?: string; up?: boolean }): Promise<void> {
  const decoded = decodeInvitation(text === '-' ? await readStdin(8192) : text);
  if (!decoded.ok) throw new CliError(`invitation: ${decoded.error}`, USAGE_EXIT);
  const inv = decoded.invitation;
  const dir = opts.dir ?? DEFAULT_DIR;
  const confPath = path.join(dir, `${inv.network}.conf`), keyPath = path.join(dir, `${inv.network}.sk`);
  // Checked before the invitation is spent: nothing is overwritten.
  for (const f of [confPath, keyPath]) if (fs.existsSync(f)) throw new CliError(`${f} exists already: remove it, or join into another --dir`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const sodium = await sodiumReady();
  const t0 = Date.now();
  const say = (line: string) => process.stderr.write(`wh: ${line} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  say(`joining ${inv.network}: making a key with workbit ${inv.workbit}`);
  const key = await searchKey({ workbit: inv.workbit, namespace: inv.namespace });
  const transport = await UdpTransport.bind(ANY_HOST, 0);
  let bytes: Uint8Array;
  try {
    bytes = await joinWithInvitation({ sodium, clock: realClock, invitation: inv, secret: key.secret, transport, say });
  } catch (e) {
    throw new CliError(e instanceof JoinError ? e.message : `join failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await transport.close();
  }
  // The inviter is trusted with this network, not with this host's name lookups: a file that
  // turns `hosts` or `dns` on (and could then name github.com, say, with one of its hostnames)
  // is written with them turned off; the user turns them on after reading the names.
  const sent = Buffer.from(bytes).toString('utf8');
  const fileText = namesOff(sent);
  if (fileText !== sent) say('the network file asks to publish its names in /etc/hosts or DNS: written turned off (docs/CONFIG.md)');
  let cfg;
  try {
    cfg = parseConfig(fileText, confPath, sodium);
  } catch (e) {
    throw new CliError(`the inviter sent a network file that does not parse: ${e instanceof ConfigError ? e.message : String(e)}`);
  }
  const self = cfg.peers.find((p) => p.keyB64 === keyToBase64(key.public));
  if (cfg.name !== inv.network || self === undefined || !self.trusted) throw new CliError('the inviter sent a network file without this node\'s trust line');
  if (cfg.names?.hosts === true || cfg.names?.dns === true) throw new CliError('the inviter sent a network file whose hosts/dns lines could not be turned off; nothing written');
  await writeFileAtomic(keyPath, `${keyToBase64(key.secret)}\n`, 0o600);
  await writeFileAtomic(confPath, fileText, 0o600);
  const addrs = [self.ipv4, self.ipv6].filter((a) => a !== undefined).join(' ');
  process.stdout.write(`joined ${cfg.name} as ${self.hostname ?? keyToBase64(key.public)}${addrs ? ` (${addrs})` : ''}; wrote ${confPath} and ${keyPath}\n`);
  if (opts.up === false) return;
  const wh = fileURLToPath(new URL('../../../../bin/wh.js', import.meta.url));
  const r = spawnSync(process.execPath, [wh, 'up', confPath, 'private-key', keyPath], { stdio: 'inherit' });
  if (r.status !== 0) throw new CliError(`the files are written, but wh up ${confPath} failed; fix the cause and run: wh up ${confPath} private-key ${keyPath}`);
}

export function register(program: Command): void {
  program
    .command('join')
    .description('join a network with an invitation from `wh invite`, and start the node')
    .argument('<invitation>', 'the invitation line, or - to read it from standard input')
    .option('--dir <DIR>', `where to write NETWORK.conf and NETWORK.sk (default ${DEFAULT_DIR})`)
    .option('--no-up', 'write the files, do not start the node')
    .action(async (text: string, opts: { dir?: string; up?: boolean }) => join(text, opts));
}

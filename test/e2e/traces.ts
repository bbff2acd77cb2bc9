// What a node may leave behind on this machine, for tests that check that nothing is.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { WhNet } from './whnet.js';

/** Command lines of the machine's processes that match (PID namespaces are not used here),
 *  as "PID CMDLINE". */
export function processesMatching(match: (cmdline: string) => boolean): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd: string;
    try { cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '); } catch { continue; }
    if (Number(pid) !== process.pid && match(cmd)) out.push(`${pid} ${cmd}`);
  }
  return out;
}

/** No interface, nftables table, control or WireGuard socket, wireguard-go or daemon of node `name`. */
export async function assertNoTraces(w: WhNet, name: string, iface: string): Promise<void> {
  const n = w.nodes.get(name)!;
  const links = await w.net.exec(n.host, ['ip', '-o', 'link']);
  assert.ok(!links.stdout.includes(iface), `${name}: no interface ${iface} left:\n${links.stdout}`);
  const tables = await w.net.exec(n.host, ['nft', 'list', 'tables']);
  assert.equal(tables.stdout.trim(), '', `${name}: no nftables table left`);
  assert.ok(!fs.existsSync(`/var/run/wirehub/${iface}.sock`), `${name}: no control socket left`);
  assert.ok(!fs.existsSync(`/var/run/wireguard/${iface}.sock`), `${name}: no WireGuard socket left`);
  const left = processesMatching((cmd) => (cmd.includes('wireguard-go') && cmd.includes(iface)) || (cmd.includes(' up ') && cmd.includes(n.keyFile)));
  assert.deepEqual(left, [], `${name}: no process left`);
}

/** Polls `cond` every `everyMs` until it holds or `ms` pass; returns its last answer. */
export async function waitFor(cond: () => Promise<boolean> | boolean, ms: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}

/** Ends a child process: SIGTERM, then SIGKILL after 3 s; resolves once it exited. */
export async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((res) => p.once('exit', () => res()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

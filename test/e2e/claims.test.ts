// Verifying direct claims (docs/NAT.md, src/nat/reach.ts): a node behind a port-restricted NAT
// that declares itself directly reachable (test/e2e/liar.ts, the bare DHT library with
// `direct: true`) is refuted by a boot node's ping from a fresh port, an honest public node is
// confirmed. Real namespaces, real NATs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { loadConfig } from '../../src/config/index.js';
import type { ShowResult } from '../../src/control/show.js';
import { WhNet } from './whnet.js';
import { stopProcess } from './traces.js';

const LIAR = fileURLToPath(new URL('./liar.js', import.meta.url));

const hexOf = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');

/** Starts the liar in a host's namespace; resolves with its public key (its first stdout line). */
function startLiar(w: WhNet, hostName: string, args: string[]): { proc: ChildProcess; key: Promise<string>; output: () => string } {
  const proc = w.net.spawn(w.nodes.get(hostName)!.host, process.execPath, [LIAR, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const append = (d: Buffer): void => { if (out.length < 100_000) out += d.toString(); };
  proc.stderr?.on('data', append);
  const key = new Promise<string>((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`liar: no key within 10 s: ${out}`)), 10_000);
    proc.stdout?.on('data', (d: Buffer) => {
      append(d);
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) { clearTimeout(t); resolve(buf.slice(0, nl).trim()); }
    });
    proc.once('exit', (code, sig) => { clearTimeout(t); reject(new Error(`liar exited ${code ?? sig}: ${out}`)); });
  });
  key.catch(() => undefined);
  return { proc, key, output: () => out };
}


test('direct claims: a liar behind a port-restricted NAT is refuted, an honest public node confirmed', { timeout: 120_000 }, async () => {
  const w = await WhNet.create('claims');
  let liar: ReturnType<typeof startLiar> | undefined;
  const t0 = Date.now();
  const secs = (ms: number): string => (ms / 1000).toFixed(1);
  try {
    const boot1 = await w.addNode('boot1', { role: 'boot' });
    const pub = await w.addNode('pub', { nat: 'public' });
    // Only for its NATed host: no daemon runs there (its generated key is unused).
    await w.addNode('liar', { nat: 'port-restricted' });
    await w.addNode('a', { nat: 'port-restricted' });
    await w.addNode('b', { nat: 'symmetric' });
    w.writeConfigs(['a', 'b']);
    // pub is no boot node (not on the configs' boot lines), but runs as a public DHT node: with
    // the config without trust lines, which WhNet.up() hands to the nodes of role 'boot'.
    pub.role = 'boot';

    await w.up('boot1');
    await w.up('pub');
    const cfg = await loadConfig(w.bootConfigFile);
    liar = startLiar(w, 'liar', [
      '--port', '62096', '--workbit', String(cfg.workbit), '--namespace', cfg.namespace,
      '--boot', `${boot1.publicKey}@${boot1.host.publicIp}:62096`,
    ]);
    const liarKey = await liar.key;
    const liarHex = hexOf(liarKey), pubHex = hexOf(pub.publicKey);
    await w.up('a');
    await w.up('b');
    const tUp = Date.now();

    const b = w.nodes.get('b')!;
    const pingMs = await w.pingUntil('a', b.overlayIp!, 30_000);
    assert.ok(pingMs >= 0, 'a -> b (over a relay)');

    // Both verdicts are in after a's NAT check rounds (one after bootstrap, then every 20 s).
    const a = w.nodes.get('a')!;
    const showAll = async (): Promise<ShowResult> => {
      const r = await w.wh(a, ['show', a.iface, 'all', '--json']);
      if (r.code !== 0) throw new Error(`wh show a all: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { interfaces: ShowResult[] }).interfaces[0]!;
    };
    let s = await showAll();
    let refutedAt: number | undefined, confirmedAt: number | undefined;
    while (Date.now() - tUp < 45_000) {
      const reach = s.dht!.reach;
      if (refutedAt === undefined && reach.refuted.includes(liarHex)) refutedAt = Date.now();
      if (confirmedAt === undefined && reach.confirmed.includes(pubHex)) confirmedAt = Date.now();
      if (refutedAt !== undefined && confirmedAt !== undefined) break;
      await new Promise((r) => setTimeout(r, 500));
      s = await showAll();
    }
    const reach = s.dht!.reach;
    const peer = s.peers[0]!;
    process.stdout.write(`claims: a->b ping after ${secs(pingMs)} s (${peer.path}, relay ${peer.relay}); `
      + `liar refuted ${refutedAt !== undefined ? `${secs(refutedAt - tUp)} s` : 'never'}, `
      + `pub confirmed ${confirmedAt !== undefined ? `${secs(confirmedAt - tUp)} s` : 'never'} after a and b were up; total ${secs(Date.now() - t0)} s\n`);
    if (refutedAt === undefined || confirmedAt === undefined) {
      process.stderr.write(`--- a's show all\n${JSON.stringify(s, null, 1)}\n--- a's log\n${a.log}\n--- boot1's log\n${boot1.log}\n--- pub's log\n${pub.log}\n--- liar\n${liar.output()}\n`);
    }
    assert.ok(reach.refuted.includes(liarHex), `the liar's claim is refuted (refuted: ${reach.refuted.join(' ')})`);
    assert.ok(!reach.confirmed.includes(liarHex), 'the liar is not confirmed');
    // (Which relay a and b use says little: boot nodes come first among the candidates.)
    assert.equal(peer.path, 'relay', 'a reaches b (port-restricted <-> symmetric) through a relay');
    assert.ok(reach.confirmed.includes(pubHex), `pub's claim is confirmed (confirmed: ${reach.confirmed.join(' ')})`);
  } finally {
    await stopProcess(liar?.proc);
    await w.destroy();
  }
});

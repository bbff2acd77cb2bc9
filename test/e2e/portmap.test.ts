// wh and a real miniupnpd: a node behind a NAT maps its UDP port on the gateway (UPnP IGD v2,
// IGD v1, NAT-PMP), `wh show` reports the mapping, and `wh down` removes it from the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WhNet } from './whnet.js';
import type { Router, UpnpMode } from '../micronet/index.js';

async function routerRules(w: WhNet, r: Router): Promise<string[]> {
  const rules: string[] = [];
  for (const chain of ['prerouting_miniupnpd', 'miniupnpd']) {
    const res = await w.net.exec(r, ['nft', 'list', 'chain', 'inet', 'filter', chain]);
    rules.push(...res.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !/^(table|chain|\})/.test(l)));
  }
  return rules;
}

for (const mode of ['igd2', 'igd1', 'natpmp'] as UpnpMode[]) {
  test(`port mapping through ${mode}: wh up maps the node's port, wh show tells, wh down removes it`, { timeout: 60_000 }, async () => {
    const w = await WhNet.create(`pm${mode}`);
    try {
      await w.addNode('boot1', { role: 'boot' });
      await w.addNode('boot2', { role: 'boot' });
      const n = await w.addNode('a', { nat: 'symmetric', upnp: mode });
      w.writeConfigs(['a']);
      await Promise.all([w.up('boot1'), w.up('boot2')]);
      await w.up('a');
      let mapping = null;
      const t0 = Date.now();
      while (Date.now() - t0 < 15_000 && mapping === null) {
        mapping = (await w.show('a')).portMapping;
        if (mapping === null) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(mapping, 'wh show reports a port mapping');
      const expected = mode === 'natpmp' ? 'nat-pmp' : `upnp-${mode}`;
      assert.equal(mapping.method, expected);
      assert.equal(mapping.external, `${n.host.router!.ip}:62096`);
      assert.ok((await routerRules(w, n.host.router!)).some((l) => l.includes('62096')), 'the router has the mapping');
      const down = await w.down('a');
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual((await routerRules(w, n.host.router!)).filter((l) => l.includes('62096')), [], 'wh down removed the mapping');
    } finally {
      await w.destroy();
    }
  });
}

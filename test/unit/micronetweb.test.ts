// micronet's restrictive router types, as rule text (test/micronet/nat.ts): 'web-only' and
// 'proxy-only'. test/e2e/webonly.test.ts loads them in real namespaces and probes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NAT_TYPES, ROUTER_PROXY_PORT, natRules, routerRules } from '../micronet/nat.js';
import { parseSpec } from '../micronet/spec.js';

const IFS = { wanIf: 'wan0', wanIp: '20.0.2.1' };
const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** The rules of one chain of a table's text. */
function chain(text: string, name: string): string[] {
  const all = lines(text);
  const start = all.indexOf(`chain ${name} {`);
  assert.ok(start >= 0, `no chain ${name}`);
  return all.slice(start + 1, all.indexOf('}', start));
}

test('web-only: UDP dropped both ways, from the LAN only new TCP to 80 and 443, masqueraded', () => {
  const t = natRules('web-only', IFS);
  assert.deepEqual(chain(t, 'forward'), [
    'type filter hook forward priority filter - 10; policy accept;',
    'meta l4proto udp drop',
    'iifname != "wan0" ct state established,related accept',
    'iifname != "wan0" tcp dport { 80, 443 } ct state new accept',
    'iifname != "wan0" drop',
  ]);
  assert.ok(lines(t).includes('oifname "wan0" masquerade'));
  assert.ok(!t.includes('chain input'), 'the router itself stays reachable from its LAN');
});

test('proxy-only: nothing forwarded from the LAN, which reaches only the proxy port on the router', () => {
  const t = natRules('proxy-only', IFS);
  assert.deepEqual(chain(t, 'forward').slice(1), ['meta l4proto udp drop', 'iifname != "wan0" drop']);
  assert.deepEqual(chain(t, 'input').slice(1), [
    'iifname { "wan0", "lo" } accept',
    'ct state established,related accept',
    `tcp dport ${ROUTER_PROXY_PORT} accept`,
    'drop',
  ]);
  // The WAN side keeps the firewall every NAT router has.
  assert.match(routerRules('proxy-only', IFS), /iifname "wan0" ct status dnat accept/);
});

test('both are NAT types a spec file may name', () => {
  for (const t of ['web-only', 'proxy-only'] as const) {
    assert.ok(NAT_TYPES.includes(t));
    assert.equal(parseSpec({ routers: [{ name: 'r', nat: t }], hosts: [{ name: 'h', router: 'r' }] }).routers[0]!.nat, t);
  }
});

// src/firewall without root: the nft script of the port sharing, and the table names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError, portShareRules, portShareTableName, validateTableName } from '../../src/firewall/index.js';
import { MAGIC } from '../../src/proto/packet.js';

test('portShareRules: the exact script for both families', () => {
  const table = (family: string) => [
    `table ${family} wirehub-wh-abc {`,
    '  chain pre {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    udp dport 62096 @th,64,8 0xf7 fib daddr type local notrack udp dport set 62097',
    '  }',
    '  chain out {',
    '    type filter hook output priority raw; policy accept;',
    '    udp sport 62097 notrack udp sport set 62096',
    '  }',
    '}',
  ];
  assert.equal(
    portShareRules({ table: 'wirehub-wh-abc', wgPort: 62096, daemonPort: 62097, marker: MAGIC }),
    [...table('ip'), ...table('ip6')].join('\n') + '\n',
  );
});

test('portShareRules: structure (nft 1.0.6 wants every rule and closing brace on its own line)', () => {
  const s = portShareRules({ table: 'wirehub-wh-a_b-c', wgPort: 1, daemonPort: 65535, marker: 0x0a });
  const lines = s.trimEnd().split('\n');
  assert.equal(lines.filter((l) => /^table (ip|ip6) wirehub-wh-a_b-c \{$/.test(l)).length, 2);
  assert.deepEqual(lines.filter((l) => l.startsWith('table')).map((l) => l.split(' ')[1]), ['ip', 'ip6']);
  for (const l of lines) {
    if (l.includes('}')) assert.match(l, /^\s*\}$/, 'a closing brace shares its line');
    assert.ok(!l.includes(';') || /^\s+type filter hook (prerouting|output) priority raw; policy accept;$/.test(l), l);
  }
  // Braces balance, and each table has exactly one steering and one rewriting rule.
  assert.equal(s.split('{').length, s.split('}').length);
  assert.equal(lines.filter((l) => l.trim() === 'udp dport 1 @th,64,8 0x0a fib daddr type local notrack udp dport set 65535').length, 2);
  assert.equal(lines.filter((l) => l.trim() === 'udp sport 65535 notrack udp sport set 1').length, 2);
  assert.equal(lines.filter((l) => l.includes('hook prerouting priority raw')).length, 2);
  assert.equal(lines.filter((l) => l.includes('hook output priority raw')).length, 2);
  // The marker defaults to the protocol's magic byte.
  assert.match(portShareRules({ table: 't', wgPort: 5, daemonPort: 6 }), /@th,64,8 0xf7 /);
});

test('portShareRules refuses bad input with a reason', () => {
  const base = { table: 'wirehub-x', wgPort: 62096, daemonPort: 62097 };
  const cases: [object, RegExp][] = [
    [{ wgPort: 0 }, /WireGuard port 0 is not an integer in 1..65535/],
    [{ daemonPort: 65536 }, /daemon port 65536/],
    [{ daemonPort: 1.5 }, /daemon port 1.5/],
    [{ daemonPort: 62096 }, /must differ/],
    [{ marker: 2 }, /would steer WireGuard messages/],
    [{ marker: 256 }, /not a byte/],
    [{ table: '1abc' }, /not a valid nftables table name/],
    [{ table: 'a b' }, /not a valid nftables table name/],
    [{ table: 'a+b' }, /not a valid nftables table name/],
    [{ table: '"x"' }, /not a valid nftables table name/],
    [{ table: '' }, /not a valid nftables table name/],
  ];
  for (const [patch, why] of cases) {
    assert.throws(() => portShareRules({ ...base, ...patch }), (e: unknown) => e instanceof FirewallError && why.test(e.message), JSON.stringify(patch));
  }
});

test('portShareTableName: "wirehub-" + interface name, one-to-one, always a valid nft name', () => {
  assert.equal(portShareTableName('wh-hSDwCYkw'), 'wirehub-wh-hSDwCYkw');
  assert.equal(portShareTableName('wh-a-b_c-d_'), 'wirehub-wh-a-b_c-d_');
  assert.equal(portShareTableName('wg+0=x.y'), 'wirehub-wg/p0/ex.y');
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_=+.-';
  const seen = new Set<string>();
  for (const a of chars) {
    for (const b of chars) {
      const t = portShareTableName(`w${a}${b}`);
      assert.equal(validateTableName(t), t);
      seen.add(t);
    }
  }
  assert.equal(seen.size, chars.length * chars.length);
  assert.throws(() => portShareTableName('x'.repeat(16)), FirewallError);
  assert.throws(() => portShareTableName('a/b'), FirewallError);
});

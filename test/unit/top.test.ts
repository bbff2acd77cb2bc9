// `wh top`'s pure parts: rates from counters on an injected clock, rows sorted and filtered,
// cells as text, keys. (The screen: test/unit/topscreen.test.ts; the terminal, in tmux:
// test/e2e/top.test.ts.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShowPeer } from '../../src/control/show.js';
import { INITIAL, press, type Key, type TopState } from '../../src/cli/top/keys.js';
import { RateMeter } from '../../src/cli/top/rates.js';
import { buildRows, cells, filterRows, rateText, rttText, shortAge, sortRows, type TopRow } from '../../src/cli/top/rows.js';

const KEY = (c: string) => c.repeat(43) + '=';
export function peer(name: string | null, key: string, over: Partial<ShowPeer> = {}): ShowPeer {
  return { name, key, ipv4: null, ipv6: null, path: 'direct', endpoint: null, relay: null, relayForwarding: null, since: 0, rttMs: null, wgEndpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0, ...over };
}

describe('RateMeter', () => {
  test('bytes per second between two samples, by the times given', () => {
    const m = new RateMeter();
    m.sample([{ key: 'a', rx: 1000, tx: 0 }], 10_000);
    assert.deepEqual(m.rates('a'), { rx: null, tx: null }, 'one sample: no rate yet');
    m.sample([{ key: 'a', rx: 3000, tx: 512 }], 12_000);
    assert.deepEqual(m.rates('a'), { rx: 1000, tx: 256 });
    m.sample([{ key: 'a', rx: 3000, tx: 512 }], 12_500);
    assert.deepEqual(m.rates('a'), { rx: 0, tx: 0 }, 'idle is 0, not missing');
  });
  test('a counter that goes back starts over; a sample at the same time changes nothing', () => {
    const m = new RateMeter();
    m.sample([{ key: 'a', rx: 5000, tx: 5000 }], 0);
    m.sample([{ key: 'a', rx: 6000, tx: 6000 }], 1000);
    m.sample([{ key: 'a', rx: 9999, tx: 9999 }], 1000);
    assert.deepEqual(m.rates('a'), { rx: 1000, tx: 1000 });
    m.sample([{ key: 'a', rx: 100, tx: 6000 }], 2000);
    assert.deepEqual(m.rates('a'), { rx: null, tx: null }, 'data plane recreated: counters reset');
    m.sample([{ key: 'a', rx: 300, tx: 6100 }], 3000);
    assert.deepEqual(m.rates('a'), { rx: 200, tx: 100 });
  });
  test('a peer that disappears is forgotten', () => {
    const m = new RateMeter();
    m.sample([{ key: 'a', rx: 0, tx: 0 }, { key: 'b', rx: 0, tx: 0 }], 0);
    m.sample([{ key: 'a', rx: 10, tx: 10 }, { key: 'b', rx: 10, tx: 10 }], 1000);
    m.sample([{ key: 'a', rx: 20, tx: 20 }], 2000);
    assert.deepEqual(m.rates('b'), { rx: null, tx: null });
    m.sample([{ key: 'a', rx: 30, tx: 30 }, { key: 'b', rx: 50, tx: 50 }], 3000);
    assert.deepEqual(m.rates('b'), { rx: null, tx: null }, 'back: a first sample again, not a rate over its absence');
  });
});

function rows(): TopRow[] {
  const m = new RateMeter();
  const ps = [
    peer('carol', KEY('C'), { ipv4: '10.0.0.10', path: 'relay', since: 50, rttMs: 40, rxBytes: 0, txBytes: 0, lastHandshake: 990 }),
    peer('alice', KEY('A'), { ipv4: '10.0.0.9', path: 'direct', since: 300, rttMs: 2.5, rxBytes: 0, txBytes: 0, lastHandshake: 995 }),
    peer(null, KEY('Z'), { ipv4: '10.0.0.100', path: 'offline', since: 7, rttMs: null, lastHandshake: null }),
    peer('bob', KEY('B'), { ipv4: '10.0.0.2', path: 'searching', since: 3, rttMs: 12 }),
  ];
  m.sample(ps.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), 999_000);
  const later = ps.map((p, i) => ({ ...p, rxBytes: (i + 1) * 2048, txBytes: (4 - i) * 100 }));
  m.sample(later.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), 1_000_000);
  return buildRows(later, m, 1_000_000);
}

describe('rows', () => {
  test('built from the show answer: name (or key prefix), IPv4, rates, handshake age by the clock given', () => {
    const r = rows();
    assert.deepEqual(r.map((x) => x.name), ['carol', 'alice', 'ZZZZZZZZ', 'bob']);
    const alice = r[1]!;
    assert.equal(alice.ip, '10.0.0.9');
    assert.equal(alice.rxRate, 4096);
    assert.equal(alice.txRate, 300);
    assert.equal(alice.handshakeAgo, 5);
    assert.equal(r[2]!.handshakeAgo, null);
    assert.deepEqual(cells(alice), ['alice', '10.0.0.9', 'direct', '5m', '2.5ms', '4.0K/s', '300B/s', '5s']);
    assert.equal(cells(r[0]!)[2], 'relay', 'relayed over UDP');
  });
  test('a peer relayed over our WebSocket link shows relay/ws', () => {
    const r = buildRows([peer('dave', KEY('D'), { path: 'relay', relayForwarding: 'websocket' })], new RateMeter(), 0);
    assert.equal(cells(r[0]!)[2], 'relay/ws');
  });
  test('sorted by each column; missing values last either way; ties by name', () => {
    const r = rows();
    const names = (c: Parameters<typeof sortRows>[1], desc: boolean) => sortRows(r, c, desc).map((x) => x.name);
    assert.deepEqual(names('name', false), ['alice', 'bob', 'carol', 'ZZZZZZZZ'].sort((a, b) => a.localeCompare(b)));
    assert.deepEqual(names('name', true), [...names('name', false)].reverse());
    assert.deepEqual(names('ip', false), ['bob', 'alice', 'carol', 'ZZZZZZZZ'], 'IPv4 by number, not as text');
    assert.deepEqual(names('path', false), ['alice', 'carol', 'bob', 'ZZZZZZZZ'], 'direct, relay, searching, offline');
    assert.deepEqual(names('rtt', false), ['alice', 'bob', 'carol', 'ZZZZZZZZ']);
    assert.deepEqual(names('rtt', true), ['carol', 'bob', 'alice', 'ZZZZZZZZ'], 'no RTT stays last');
    assert.deepEqual(names('rx', true), ['bob', 'ZZZZZZZZ', 'alice', 'carol']);
    assert.deepEqual(names('since', false), ['bob', 'ZZZZZZZZ', 'carol', 'alice']);
    assert.deepEqual(names('handshake', false), ['alice', 'carol', 'bob', 'ZZZZZZZZ'], 'no handshake last');
    assert.deepEqual(names('handshake', true), ['carol', 'alice', 'bob', 'ZZZZZZZZ']);
  });
  test('filtered by name (any case) or key prefix', () => {
    const r = rows();
    assert.deepEqual(filterRows(r, 'AR').map((x) => x.name), ['carol']);
    assert.deepEqual(filterRows(r, 'o').map((x) => x.name), ['carol', 'bob']);
    assert.deepEqual(filterRows(r, 'ZZZ').map((x) => x.name), ['ZZZZZZZZ']);
    assert.equal(filterRows(r, '').length, 4);
    assert.equal(filterRows(r, 'nobody').length, 0);
  });
  test('cells as short text', () => {
    assert.equal(shortAge(null), '-');
    assert.equal(shortAge(119.4), '119s');
    assert.equal(shortAge(600), '10m');
    assert.equal(shortAge(3 * 3600), '3h');
    assert.equal(shortAge(3 * 86_400), '3d');
    assert.equal(rateText(null), '-');
    assert.equal(rateText(0), '0B/s');
    assert.equal(rateText(1023), '1023B/s');
    assert.equal(rateText(1536), '1.5K/s');
    assert.equal(rateText(50 * 1024 * 1024), '50M/s');
    assert.equal(rttText(null), '-');
    assert.equal(rttText(0.42), '0.4ms');
    assert.equal(rttText(123.6), '124ms');
  });
});

describe('keys', () => {
  const run = (keys: Key[], ifaces = 3, page = 10): TopState => keys.reduce((s, k) => press(s, k, ifaces, page), INITIAL);
  test('q and Ctrl-C quit; other keys do not', () => {
    assert.equal(run(['q']).quit, true);
    assert.equal(run(['ctrl-c']).quit, true);
    assert.equal(run(['x', 'down', 'tab']).quit, false);
  });
  test('a column by its number; the same again reverses; s moves to the next; r reverses', () => {
    assert.deepEqual([run(['3']).sort, run(['3']).desc], ['path', false]);
    assert.deepEqual([run(['3', '3']).sort, run(['3', '3']).desc], ['path', true]);
    assert.deepEqual([run(['6']).sort, run(['6']).desc], ['rx', true], 'rates: largest first');
    assert.equal(run(['s']).sort, 'ip');
    assert.equal(run(['s', 's', 's', 's', 's', 's', 's', 's']).sort, 'name', 'wraps around');
    assert.equal(run(['r']).desc, true);
    assert.equal(run(['9']).sort, 'name', 'no ninth column');
  });
  test('/ types a filter, Enter applies it, Esc cancels or clears; q is text while typing', () => {
    const typed = run(['/', 'b', 'q', 'x', 'backspace']);
    assert.equal(typed.editing, 'bq');
    assert.equal(typed.quit, false);
    const applied = run(['/', 'b', 'o', 'enter']);
    assert.deepEqual([applied.filter, applied.editing], ['bo', null]);
    assert.equal(run(['/', 'b', 'o', 'enter', '/', 'x', 'escape']).filter, 'bo', 'Esc while typing keeps the filter in force');
    assert.equal(run(['/', 'b', 'o', 'enter', 'escape']).filter, '', 'Esc clears it');
  });
  test('i / Tab next interface, I / Shift-Tab previous, wrapping; with one interface nothing moves', () => {
    assert.equal(run(['i']).iface, 1);
    assert.equal(run(['tab', 'tab', 'tab']).iface, 0);
    assert.equal(run(['backtab']).iface, 2);
    assert.equal(run(['I', 'I']).iface, 1);
    assert.equal(run(['i', 'i'], 1).iface, 0);
  });
  test('scrolling by line and page, never above the top', () => {
    assert.equal(run(['down', 'j', 'down']).scroll, 3);
    assert.equal(run(['up']).scroll, 0);
    assert.equal(run(['pagedown', 'pagedown', 'pageup'], 1, 18).scroll, 18);
    assert.equal(run(['pagedown', 'home']).scroll, 0);
    assert.equal(run(['3', 'down']).scroll, 1);
    assert.equal(run(['down', 'down', '3']).scroll, 0, 'a new sort starts at the top');
  });
});

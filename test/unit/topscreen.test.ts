// `wh top`'s screen (src/cli/top/screen.ts) for terminals of several sizes, from a fake node of
// 50 peers (bench/topfake.ts): what the header says, that every line fits, scrolling, the
// filter and the daemon-gone line; and the view's key names and markup (src/cli/top/view.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL, press, type TopState } from '../../src/cli/top/keys.js';
import { RateMeter } from '../../src/cli/top/rates.js';
import { buildRows } from '../../src/cli/top/rows.js';
import { CHROME_LINES, render, type Snapshot } from '../../src/cli/top/screen.js';
import { keyOf, markup } from '../../src/cli/top/view.js';
import { fakeShow } from '../../bench/topfake.js';

const NOW = 1_800_000_000_000;
function snapshot(n = 50, over: Partial<Snapshot> = {}): Snapshot {
  const meter = new RateMeter();
  const first = fakeShow(n, 0, NOW / 1000);
  meter.sample(first.peers.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), NOW - 1000);
  const show = fakeShow(n, 1, NOW / 1000);
  meter.sample(show.peers.map((p) => ({ key: p.key, rx: p.rxBytes, tx: p.txBytes })), NOW);
  return { ifaces: ['wh0', 'wh1'], show, rows: buildRows(show.peers, meter, NOW), error: null, at: '08:00:00 UTC', ...over };
}
const text = (s: TopState, snap: Snapshot, w: number, h: number) => render(s, snap, w, h).lines.map((l) => l.text);

describe('wh top screen', () => {
  for (const [w, h] of [[80, 24], [50, 12], [132, 43], [20, 5], [1, 1]] as const) {
    test(`${w}x${h}: never wider or taller than the terminal`, () => {
      const lines = text(INITIAL, snapshot(), w, h);
      assert.ok(lines.length <= h, `${lines.length} lines`);
      for (const l of lines) assert.ok(l.length <= w, `${l.length}: ${l}`);
    });
  }
  test('80x24: the node, NAT and mapping, DHT and bucket fill, relay sessions, then 18 peers and the keys', () => {
    const lines = text(INITIAL, snapshot(), 80, 24);
    assert.equal(lines.length, 24);
    assert.equal(lines[0], 'wh top: wh0 (bench), 10.0.42.1, port 51820, up 10m  [1/2, i: next]');
    assert.equal(lines[1], 'NAT endpoint-independent as 198.51.100.1:51820; port map: upnp-igd2, lease 60m');
    const elsewhere = snapshot(50);
    elsewhere.show = { ...elsewhere.show!, portMapping: { method: 'nat-pmp', external: '203.0.113.9:4000', lease: 30 }, publicAddress: null };
    assert.equal(text(INITIAL, elsewhere, 80, 24)[1], 'NAT endpoint-independent; port map: nat-pmp 203.0.113.9:4000, lease 30s');
    assert.equal(lines[2], 'DHT 57 nodes, relaying 3 sessions (2 in kernel); buckets 0-4: 20 15 10 5 1 of 20');
    const gaps = snapshot(50);
    gaps.show = { ...gaps.show!, dht: { ...gaps.show!.dht!, buckets: [{ index: 0, size: 20, replacements: 3 }, { index: 2, size: 4, replacements: 0 }, { index: 1, size: 0, replacements: 0 }] } };
    assert.equal(text(INITIAL, gaps, 80, 24)[2], 'DHT 57 nodes, relaying 3 sessions (2 in kernel); buckets: 0:20 2:4 of 20');
    assert.equal(lines[3], '50 peers, as of 08:00:00 UTC');
    assert.match(lines[4]!, /^name\^ +overlay ip +path +since +rtt +rx +tx +handshake$/);
    assert.equal(lines.length - CHROME_LINES, 18);
    const styles = render(INITIAL, snapshot(), 80, 24).lines.slice(5, 11).map((l) => l.style);
    assert.deepEqual(styles, ['direct', 'direct', 'direct', 'relay', 'searching', 'offline'], 'rows coloured by path');
    assert.equal(lines[5], 'peer-000 10.0.42.2  direct      31s 2.0ms 1001B/s  34K/s        1s', 'rx 1001 B in 1 s, tx 35000 B');
    assert.equal(lines[23], 'q quit  1-8 s sort  r reverse  / filter  i interface  j/k rows 1-18 of 50');
  });
  test('narrow: less useful columns go first, the sorted one stays', () => {
    const lines = text(INITIAL, snapshot(), 50, 12);
    assert.match(lines[4]!, /^name\^ +overlay ip +path +rtt +rx +tx$/);
    const bySince = text({ ...INITIAL, sort: 'since' }, snapshot(), 50, 12);
    assert.match(bySince[4]!, /since\^/);
  });
  test('scrolling is clamped to the rows there are', () => {
    let s = INITIAL;
    for (let i = 0; i < 5; i++) s = press(s, 'pagedown', 1, 18);
    const r = render(s, snapshot(), 80, 24);
    assert.equal(r.scroll, 32, '50 rows, 18 shown: the last page starts at row 33');
    assert.match(r.lines[5]!.text, /^peer-032 /);
    assert.match(r.lines[22]!.text, /^peer-049 /);
    assert.equal(render(press(s, 'end', 1, 18), snapshot(), 80, 24).scroll, 32);
    assert.equal(render(INITIAL, snapshot(3), 80, 24).scroll, 0);
  });
  test('the filter while typed and applied', () => {
    const typing = text({ ...INITIAL, editing: 'peer-01' }, snapshot(), 80, 24);
    assert.equal(typing[3], 'filter: peer-01_  (Enter applies, Esc cancels)');
    assert.equal(typing.filter((l) => l.startsWith('peer-')).length, 18, 'not applied yet');
    const applied = text({ ...INITIAL, filter: 'peer-01' }, snapshot(), 80, 24);
    assert.equal(applied[3], 'filter "peer-01": 10 of 50 peers (Esc clears)');
    assert.deepEqual(applied.filter((l) => l.startsWith('peer-')).map((l) => l.split(' ')[0]), [...Array(10)].map((_, i) => `peer-01${i}`));
  });
  test('the daemon gone: said in red, the last answer kept (dimmed) with its time', () => {
    const r = render(INITIAL, snapshot(50, { error: 'daemon gone (trying again every 1 s): no daemon is running for wh0 (no /x/wh0.sock)' }), 80, 24);
    assert.deepEqual(r.lines[3], { text: 'daemon gone (trying again every 1 s): no daemon is running for wh0 (no /x/wh0.s~', style: 'alert' });
    assert.equal(r.lines[5]!.style, 'dim');
    assert.match(text(INITIAL, snapshot(50, { error: 'x' }), 200, 24)[3]!, /^x \(shown: as of 08:00:00 UTC\)$/);
  });
  test('before the first answer', () => {
    const lines = text(INITIAL, { ifaces: ['wh7'], show: null, rows: [], error: null, at: null }, 80, 24);
    assert.equal(lines[0], 'wh top: wh7');
    assert.equal(lines[3], 'waiting for the daemon');
    assert.equal(lines.length, 24);
  });
});

describe('wh top view (blessed)', () => {
  test('key names from blessed\'s key events', () => {
    assert.equal(keyOf('q', { name: 'q' }), 'q');
    assert.equal(keyOf('/', { name: undefined }), '/');
    assert.equal(keyOf('\x03', { name: 'c', ctrl: true }), 'ctrl-c');
    assert.equal(keyOf(undefined, { name: 'up' }), 'up');
    assert.equal(keyOf('\t', { name: 'tab' }), 'tab');
    assert.equal(keyOf(undefined, { name: 'tab', shift: true }), 'backtab');
    assert.equal(keyOf('\r', { name: 'return' }), 'enter');
    assert.equal(keyOf('\x1b', { name: 'escape' }), 'escape');
    assert.equal(keyOf('\x7f', { name: 'backspace' }), 'backspace');
    assert.equal(keyOf('\x01', { name: 'a', ctrl: true }), undefined);
    assert.equal(keyOf(undefined, { name: 'f1' }), undefined);
  });
  test('markup escapes the text: a peer named with braces is not a style', () => {
    assert.equal(markup({ text: '{red-fg}x{/red-fg}', style: 'plain' }).includes('{red-fg}x'), false);
    assert.equal(markup({ text: 'h', style: 'header' }), '{inverse}h{/inverse}');
  });
});

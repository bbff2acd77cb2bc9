// `wh metrics` and the `metrics HOST:PORT` endpoint: the Prometheus text (src/daemon/metrics.ts)
// read back by the real parser (Debian's python3-prometheus-client: test/unit/promparse.ts), the
// directive's parsing and errors (src/config/metrics.ts), and the HTTP server on loopback
// (src/daemon/metricsserver.ts): answers, refusals, moving, stopping, a port in use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runWh } from './runwh.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { sodiumReady } from '../../src/crypto/sodium.js';
import type { ShowPeer, ShowResult } from '../../src/control/show.js';
import { escapeLabel, formatMetrics, METRICS_CONTENT_TYPE } from '../../src/daemon/metrics.js';
import { MetricsServer } from '../../src/daemon/metricsserver.js';
import { METRICS_CACHE } from '../../src/params.js';
import type { Logger } from '../../src/util/log.js';
import { parseProm, parserSkip, type PromFamily } from './promparse.js';
import { freePort } from './freeport.js';

const sodium = await sodiumReady();
const skip = parserSkip();
const KEY = (c: string) => `${c.repeat(42)}A=`;
const quiet: Logger & { lines: string[] } = { lines: [], debug() {}, info(m) { quiet.lines.push(m); }, warn(m) { quiet.lines.push(m); }, error(m) { quiet.lines.push(m); } };

function peer(name: string | null, path: ShowPeer['path'], extra: Partial<ShowPeer> = {}): ShowPeer {
  return { name, key: KEY(name?.[0]?.toUpperCase() ?? 'Z'), ipv4: '10.1.0.9', ipv6: null, path, endpoint: null, relay: null, relayForwarding: null,
    since: 12, rttMs: null, wgEndpoint: null, lastHandshake: null, rxBytes: 0, txBytes: 0, ...extra };
}

const NOW = 1_800_000_000;
function node(iface: string, peers: ShowPeer[], counters: Record<string, number>, rpc: Record<string, number>): ShowResult {
  return {
    interface: iface, network: 'lab', config: '/etc/wirehub/lab.conf', publicKey: KEY('Q'), role: 'node', backend: 'wireguard-go', dataPlane: 'up',
    dataPlaneRestarts: 2, dataPlaneError: null, ipv4: '10.1.0.1', ipv6: null, listenPort: 62096, nat: 'port-restricted', publicAddress: null,
    portMapping: null, uptime: 3600, dhtNodes: 7, relaying: { sessions: 3, kernel: 1 }, peers,
    dht: { buckets: [{ index: 0, size: 4, replacements: 0 }, { index: 3, size: 3, replacements: 1 }], counters, rpc, reach: { confirmed: [], refuted: [] } },
  };
}

const fam = (families: PromFamily[], name: string) => {
  const f = families.find((x) => x.name === name);
  assert.ok(f, `family ${name} in ${families.map((x) => x.name).join(', ')}`);
  return f;
};
const value = (f: PromFamily, labels: Record<string, string>) => {
  const s = f.samples.filter((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.equal(s.length, 1, `${f.name} ${JSON.stringify(labels)}: ${JSON.stringify(f.samples)}`);
  return s[0]!.value;
};

test('the text of two nodes parses with the real parser, every sample as the show answers say', { skip }, () => {
  const a = node('wh-a', [
    peer('alpha', 'direct', { rxBytes: 123_456_789_012, txBytes: 42, lastHandshake: NOW - 17, rttMs: 3 }),
    peer('bravo', 'relay', { lastHandshake: NOW - 100, rttMs: 250 }),
    peer(null, 'searching'),
  ], { 'dns.foreign': 2, 'reach-answered': 5, 'drop:body': 1 }, { 'drop:rate-limited': 9, 'drop:body': 4, 'drop-out:amplification': 6, 'rx-refusal': 1, 'relay-link-foreign': 3 });
  const b: ShowResult = { ...node('wh-b', [], {}, {}), role: 'public', dataPlane: null, backend: null };
  delete b.dht;
  const text = formatMetrics([a, b], NOW);
  const fams = parseProm(text);
  const names = fams.map((f) => f.name);
  assert.equal(new Set(names).size, names.length, 'each family once');
  // Counters: the parser names the family without _total and the samples with it.
  assert.equal(fam(fams, 'wirehub_peer_receive_bytes').type, 'counter');
  assert.equal(value(fam(fams, 'wirehub_peer_receive_bytes'), { interface: 'wh-a', peer: 'alpha' }), 123_456_789_012);
  assert.equal(value(fam(fams, 'wirehub_peer_transmit_bytes'), { interface: 'wh-a', peer: 'alpha' }), 42);
  assert.equal(value(fam(fams, 'wirehub_peer_receive_bytes'), { peer: KEY('Z') }), 0, 'a peer without a name is labelled by its key');
  const hs = fam(fams, 'wirehub_peer_last_handshake_age_seconds');
  assert.equal(value(hs, { peer: 'alpha' }), 17);
  assert.equal(value(hs, { peer: 'bravo' }), 100);
  assert.equal(hs.samples.length, 2, 'no sample for a peer without a handshake');
  assert.equal(value(fam(fams, 'wirehub_peer_rtt_seconds'), { peer: 'bravo' }), 0.25);
  const paths = fam(fams, 'wirehub_peers');
  for (const [p, n] of [['direct', 1], ['relay', 1], ['searching', 1], ['offline', 0], ['down', 0]] as const) assert.equal(value(paths, { interface: 'wh-a', path: p }), n, p);
  assert.ok(!paths.samples.some((s) => s.labels.interface === 'wh-b'), 'a public node has no peers by path');
  assert.equal(value(fam(fams, 'wirehub_peer_info'), { peer: 'bravo' }), 1);
  assert.equal(fam(fams, 'wirehub_peer_info').samples.find((s) => s.labels.peer === 'bravo')!.labels.path, 'relay');
  assert.equal(value(fam(fams, 'wirehub_dht_nodes'), { interface: 'wh-b' }), 7);
  assert.equal(value(fam(fams, 'wirehub_dht_bucket_nodes'), { interface: 'wh-a', bucket: '3' }), 3);
  const drops = fam(fams, 'wirehub_dropped_packets');
  assert.equal(value(drops, { direction: 'in', reason: 'rate-limited' }), 9);
  assert.equal(value(drops, { direction: 'in', reason: 'body' }), 5, 'the two layers summed');
  assert.equal(value(drops, { direction: 'out', reason: 'amplification' }), 6);
  assert.equal(value(drops, { direction: 'in', reason: 'dns-foreign' }), 2);
  assert.equal(value(drops, { direction: 'in', reason: 'relay-link-foreign' }), 3);
  assert.equal(value(fam(fams, 'wirehub_events'), { source: 'dht', event: 'reach-answered' }), 5);
  assert.equal(value(fam(fams, 'wirehub_events'), { source: 'rpc', event: 'rx-refusal' }), 1);
  assert.equal(value(fam(fams, 'wirehub_relay_sessions'), { interface: 'wh-a' }), 3);
  assert.equal(value(fam(fams, 'wirehub_relay_sessions_kernel'), { interface: 'wh-a' }), 1);
  assert.equal(value(fam(fams, 'wirehub_data_plane_up'), { interface: 'wh-a' }), 1);
  assert.ok(!fam(fams, 'wirehub_data_plane_up').samples.some((s) => s.labels.interface === 'wh-b'));
  assert.equal(value(fam(fams, 'wirehub_data_plane_restarts'), { interface: 'wh-a' }), 2);
  assert.equal(value(fam(fams, 'wirehub_uptime_seconds'), { interface: 'wh-a' }), 3600);
  assert.deepEqual(fam(fams, 'wirehub_node_info').samples.find((s) => s.labels.interface === 'wh-b')!.labels,
    { interface: 'wh-b', network: 'lab', public_key: KEY('Q'), role: 'public', nat: 'port-restricted' });
  for (const f of fams) assert.ok(f.help.length > 0, `${f.name} has help`);
  assert.equal(formatMetrics([], NOW), '', 'no node: an empty text (valid)');
});

test('label values are escaped: quotes, backslashes and newlines come back unchanged', { skip }, () => {
  const odd = 'a"b\\c\nd} e="f"';
  const text = formatMetrics([{ ...node('wh-a', [], {}, {}), network: odd }], NOW);
  const info = fam(parseProm(text), 'wirehub_node_info');
  assert.equal(info.samples[0]!.labels.network, odd);
  // The parser does refuse a text written without the escapes (so the check above can fail).
  const raw = text.replace(escapeLabel(odd), odd);
  assert.notEqual(raw, text);
  assert.throws(() => parseProm(raw), /refused/);
});

test('metrics HOST:PORT: an IP and a port, once; errors name the file, the line and the reason', () => {
  const head = 'name lab\n';
  assert.deepEqual(parseConfig(`${head}metrics 127.0.0.1:9586\n`, 'lab.conf', sodium).metrics, { host: '127.0.0.1', port: 9586, line: 2 });
  assert.deepEqual(parseConfig(`${head}metrics [::1]:9586\n`, 'lab.conf', sodium).metrics, { host: '::1', port: 9586, line: 2 });
  assert.equal(parseConfig(head, 'lab.conf', sodium).metrics, undefined, 'off unless asked');
  const err = (text: string): string => {
    try { parseConfig(text, 'lab.conf', sodium); } catch (e) { assert.ok(e instanceof ConfigError); return e.message; }
    assert.fail('no error');
  };
  assert.match(err(`${head}metrics localhost:9586\n`), /lab\.conf:2: "metrics" takes an IP address, not a hostname \("localhost"\)/);
  assert.match(err(`${head}metrics 127.0.0.1\n`), /lab\.conf:2: invalid metrics address: "127\.0\.0\.1" has no port/);
  assert.match(err(`${head}metrics 127.0.0.1:0\n`), /lab\.conf:2: invalid metrics address: bad port "0"/);
  assert.match(err(`${head}metrics\n`), /lab\.conf:2: "metrics" takes exactly one argument, got none/);
  assert.match(err(`${head}metrics 127.0.0.1:1 127.0.0.1:2\n`), /lab\.conf:2: "metrics" takes exactly one argument, got 2/);
  assert.match(err(`${head}metrics 127.0.0.1:1\nmetrics 127.0.0.1:2\n`), /lab\.conf:3: duplicate "metrics" directive \(already given on line 2/);
  assert.match(err(`${head}metric 127.0.0.1:1\n`), /did you mean "metrics"\?/);
});

test('wh check says where the metrics are served', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whmetrics-'));
  try {
    fs.writeFileSync(path.join(dir, 'lab.conf'), 'name lab\nmetrics [::1]:9586\n');
    const r = await runWh(['check', path.join(dir, 'lab.conf')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^metrics: +http:\/\/\[::1\]:9586\/metrics$/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});


function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('the HTTP endpoint: GET /metrics parses, other paths and methods are refused, it moves and stops', { skip }, async () => {
  let scrapes = 0;
  let clock = 0; // advanced by hand: each request below but the cache check comes METRICS_CACHE later
  const m = new MetricsServer(async () => { scrapes++; return formatMetrics([node('wh-a', [peer('alpha', 'direct')], {}, {})], NOW); }, quiet, () => clock);
  const tick = () => { clock += METRICS_CACHE; };
  const p1 = await freePort();
  try {
    await m.apply({ host: '127.0.0.1', port: p1, line: 4 }, 'lab.conf');
    const r = await get(p1, '/metrics');
    tick();
    assert.equal(r.status, 200);
    assert.equal(r.type, METRICS_CONTENT_TYPE);
    assert.equal(value(fam(parseProm(r.body), 'wirehub_peers'), { path: 'direct' }), 1);
    assert.equal((await get(p1, '/metrics?x=1')).status, 200);
    tick();
    assert.equal((await get(p1, '/')).status, 404);
    assert.equal((await get(p1, '/metrics', 'POST')).status, 405);
    const head = await get(p1, '/metrics', 'HEAD');
    tick();
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(scrapes, 3, 'GET, GET with a query and HEAD gathered; the refused requests did not');
    // Within METRICS_CACHE: one gather for any number of scrapes, the same text.
    const burst = await Promise.all([1, 2, 3, 4, 5].map(() => get(p1, '/metrics')));
    assert.equal(scrapes, 4, 'five scrapes in one cache period gather once');
    assert.ok(burst.every((b) => b.status === 200 && b.body === burst[0]!.body));
    clock += METRICS_CACHE - 1;
    await get(p1, '/metrics');
    assert.equal(scrapes, 4, 'still cached 1 ms before METRICS_CACHE');
    clock += 1;
    await get(p1, '/metrics');
    assert.equal(scrapes, 5, 'gathered again after METRICS_CACHE');
    // The same address again: nothing changes; another: the old one is closed.
    await m.apply({ host: '127.0.0.1', port: p1, line: 5 }, 'lab.conf');
    assert.equal(m.port(), p1);
    const p2 = await freePort();
    await m.apply({ host: '127.0.0.1', port: p2, line: 5 }, 'lab.conf');
    assert.equal((await get(p2, '/metrics')).status, 200);
    await assert.rejects(get(p1, '/metrics'), /ECONNREFUSED/);
    await m.apply(undefined, 'lab.conf');
    await assert.rejects(get(p2, '/metrics'), /ECONNREFUSED/);
    assert.equal(m.port(), undefined);
    // A port in use: the error names the file, the line and the reason.
    const busy = net.createServer();
    await new Promise<void>((res) => busy.listen(p2, '127.0.0.1', () => res()));
    try {
      await assert.rejects(m.apply({ host: '127.0.0.1', port: p2, line: 9 }, 'lab.conf'), { message: `lab.conf:9: metrics: cannot listen on 127.0.0.1:${p2}: the port is in use` });
    } finally {
      await new Promise<void>((res) => busy.close(() => res()));
    }
    await assert.rejects(m.apply({ host: '192.0.2.1', port: p2, line: 9 }, 'lab.conf'), /lab\.conf:9: metrics: cannot listen on 192\.0\.2\.1:\d+: no interface of this host has that address/);
  } finally {
    await m.close();
  }
});

test('a failing gather answers 500 and logs why, and the server keeps serving', async () => {
  let fail = true;
  const m = new MetricsServer(async () => { if (fail) throw new Error('show failed'); return '# ok\n'; }, quiet, () => 0);
  const p = await freePort();
  try {
    await m.apply({ host: '127.0.0.1', port: p, line: 2 }, 'lab.conf');
    assert.equal((await get(p, '/metrics')).status, 500);
    assert.ok(quiet.lines.some((l) => l.includes('show failed')));
    fail = false;
    assert.equal((await get(p, '/metrics')).status, 200, 'a failure is not cached (the clock has not moved)');
  } finally {
    await m.close();
  }
});

// src/nat/upnp-proto.ts (pure wire formats) and src/nat/upnp.ts's PortMapper on its NAT-PMP path
// (src/nat/portmap-discover.ts, src/nat/natpmp.ts) against a fake gateway on loopback (no root):
// bounded timeouts, renewals that never throw, unmap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import {
  IGD1_DEVICE, MAX_LEASE, WANIP1, WANIP2, WANPPP1, addPortMappingArgs, buildMSearch, clampLease, decodeNatPmp,
  defaultGatewayFromProcRoute, deletePortMappingArgs, encodeNatPmpExternal, encodeNatPmpMap, natPmpSchedule,
  parseDescription, parseSoapResponse, parseSsdpResponse, renewDelayMs, retryDelayMs, soapEnvelope, xmlElements,
  xmlEscape, xmlText, xmlUnescape,
} from '../../src/nat/upnp-proto.js';
import { PortMapper, PortMapError } from '../../src/nat/upnp.js';

// miniupnpd 2.3.1's own answers, captured in a micronet router (test/micronet, upnp: 'igd2').
const IGD2_DESC = "<?xml version=\"1.0\"?>\n<root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1337\"><specVersion><major>1</major><minor>1</minor></specVersion><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2</deviceType><friendlyName>Debian router</friendlyName><manufacturer>Debian</manufacturer><manufacturerURL>http://www.debian.org/</manufacturerURL><modelDescription>Debian router</modelDescription><modelName>Debian router</modelName><modelNumber>1</modelNumber><modelURL>http://www.debian.org/</modelURL><serialNumber>00000000</serialNumber><UDN>uuid:860ddd0d-3073-40b0-8b39-e6221a1ba381</UDN><serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><serviceId>urn:upnp-org:serviceId:L3Forwarding1</serviceId><SCPDURL>/L3F.xml</SCPDURL><controlURL>/ctl/L3F</controlURL><eventSubURL>/evt/L3F</eventSubURL></service><service><serviceType>urn:schemas-upnp-org:service:DeviceProtection:1</serviceType><serviceId>urn:upnp-org:serviceId:DeviceProtection1</serviceId><SCPDURL>/DP.xml</SCPDURL><controlURL>/ctl/DP</controlURL><eventSubURL>/evt/DP</eventSubURL></service></serviceList><deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:2</deviceType><friendlyName>WANDevice</friendlyName><manufacturer>MiniUPnP</manufacturer><manufacturerURL>http://miniupnp.free.fr/</manufacturerURL><modelDescription>WAN Device</modelDescription><modelName>WAN Device</modelName><modelNumber>20221221</modelNumber><modelURL>http://miniupnp.free.fr/</modelURL><serialNumber>00000000</serialNumber><UDN>uuid:860ddd0d-3073-40b0-8b39-e6221a1ba382</UDN><UPC>000000000000</UPC><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType><serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId><SCPDURL>/WANCfg.xml</SCPDURL><controlURL>/ctl/CmnIfCfg</controlURL><eventSubURL>/evt/CmnIfCfg</eventSubURL></service></serviceList><deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType><friendlyName>WANConnectionDevice</friendlyName><manufacturer>MiniUPnP</manufacturer><manufacturerURL>http://miniupnp.free.fr/</manufacturerURL><modelDescription>MiniUPnP daemon</modelDescription><modelName>MiniUPnPd</modelName><modelNumber>20221221</modelNumber><modelURL>http://miniupnp.free.fr/</modelURL><serialNumber>00000000</serialNumber><UDN>uuid:860ddd0d-3073-40b0-8b39-e6221a1ba383</UDN><UPC>000000000000</UPC><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><SCPDURL>/WANIPCn.xml</SCPDURL><controlURL>/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL></service><service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType><serviceId>urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId><SCPDURL>/WANIP6FC.xml</SCPDURL><controlURL>/ctl/IP6FCtl</controlURL><eventSubURL>/evt/IP6FCtl</eventSubURL></service></serviceList></device></deviceList></device></deviceList><presentationURL>http://192.168.1.1/</presentationURL></device></root>";
const IGD1_DESC = IGD2_DESC.replace(/(Device|WANIPConnection|WANDevice|WANConnectionDevice):2</g, '$1:1<');
const SSDP_ANSWER = 'HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n'
  + 'USN: uuid:7d9368a5-dd92-455c-81ad-2b6e7680904d::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\n'
  + 'SERVER: Debian/6.18.44-fc-v769 UPnP/1.1 MiniUPnPd/2.3.1\r\nLOCATION: http://192.168.2.1:5000/rootDesc.xml\r\n'
  + 'OPT: "http://schemas.upnp.org/upnp/1/0/"; ns=01\r\n01-NLS: 1795361083\r\nBOOTID.UPNP.ORG: 1795361083\r\nCONFIGID.UPNP.ORG: 1337\r\n\r\n';
const SOAP_EXTIP = '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2"><NewExternalIPAddress>20.0.2.1</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>';
const SOAP_ADD = '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2"/></s:Body></s:Envelope>';
const SOAP_ANY = '<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:AddAnyPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2"><NewReservedPort>6000</NewReservedPort></u:AddAnyPortMappingResponse></s:Body></s:Envelope>';
const SOAP_718 = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>';

test('SSDP: M-SEARCH text, and a real answer parsed', () => {
  assert.equal(buildMSearch(IGD1_DEVICE, 1),
    'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n');
  const r = parseSsdpResponse(SSDP_ANSWER);
  assert.ok(r);
  assert.equal(r.location, 'http://192.168.2.1:5000/rootDesc.xml');
  assert.equal(r.st, IGD1_DEVICE);
  assert.equal(r.headers['cache-control'], 'max-age=120');
  assert.equal(r.headers.ext, '');
  assert.equal(parseSsdpResponse(SSDP_ANSWER.replace('200 OK', '404 Not Found')), undefined);
  assert.equal(parseSsdpResponse('NOTIFY * HTTP/1.1\r\nLOCATION: http://x/\r\n\r\n'), undefined, 'not an answer');
  assert.equal(parseSsdpResponse('HTTP/1.1 200 OK\r\nST: x\r\n\r\n'), undefined, 'no LOCATION');
  assert.equal(parseSsdpResponse('http/1.0 200 OK\nlocation: http://10.0.0.1/d.xml\n\n')?.location, 'http://10.0.0.1/d.xml', 'lenient on case and bare LF');
});

test('description: IGD v2 picks WANIPConnection:2, IGD v1 WANIPConnection:1 (real miniupnpd descriptions)', () => {
  assert.deepEqual(parseDescription(IGD2_DESC, 'http://192.168.1.1:5000/rootDesc.xml'),
    { method: 'upnp-igd2', serviceType: WANIP2, controlUrl: 'http://192.168.1.1:5000/ctl/IPConn' });
  assert.deepEqual(parseDescription(IGD1_DESC, 'http://192.168.2.1:5000/rootDesc.xml'),
    { method: 'upnp-igd1', serviceType: WANIP1, controlUrl: 'http://192.168.2.1:5000/ctl/IPConn' });
  // Only v1 allowed: an IGD v2 description has no v1 service (miniupnpd lists one version).
  assert.equal(parseDescription(IGD2_DESC, 'http://192.168.1.1:5000/rootDesc.xml', ['upnp-igd1']), undefined);
  assert.equal(parseDescription(IGD2_DESC, 'http://192.168.1.1:5000/rootDesc.xml', ['nat-pmp']), undefined);
});

test('description: URLBase, namespace prefixes, entities, PPP, absolute and unusable URLs', () => {
  const desc = (services: string, extra = '') => `<?xml version="1.0"?><d:root xmlns:d="urn:schemas-upnp-org:device-1-0">${extra}`
    + `<d:device><d:serviceList>${services}</d:serviceList></d:device></d:root>`;
  const svc = (type: string, ctl: string) => `<d:service>\n  <d:serviceType> ${type} </d:serviceType><d:controlURL>${ctl}</d:controlURL></d:service>`;
  assert.deepEqual(parseDescription(desc(svc(WANPPP1, 'ctl?a=1&amp;b=2'), '<d:URLBase>http://10.0.0.138:49152/</d:URLBase>'), 'http://10.0.0.138:1780/x/desc.xml'),
    { method: 'upnp-igd1', serviceType: WANPPP1, controlUrl: 'http://10.0.0.138:49152/ctl?a=1&b=2' });
  // IP before PPP, v2 before v1, whatever the order in the document
  const both = desc(svc(WANPPP1, '/ppp') + svc(WANIP1, '/ip1') + svc(WANIP2, '/ip2'));
  assert.equal(parseDescription(both, 'http://10.0.0.1/d.xml')?.controlUrl, 'http://10.0.0.1/ip2');
  assert.equal(parseDescription(both, 'http://10.0.0.1/d.xml', ['upnp-igd1'])?.controlUrl, 'http://10.0.0.1/ip1');
  assert.equal(parseDescription(desc(svc(WANIP1, 'https://10.0.0.1/c')), 'http://10.0.0.1/d.xml'), undefined, 'https control URL');
  assert.equal(parseDescription(desc(svc(WANIP1, '')), 'http://10.0.0.1/d.xml'), undefined, 'no control URL');
  assert.equal(parseDescription(desc(svc('urn:schemas-upnp-org:service:Layer3Forwarding:1', '/l3f')), 'http://10.0.0.1/d.xml'), undefined, 'not a gateway');
  assert.equal(parseDescription('garbage <<', 'http://10.0.0.1/d.xml'), undefined);
});

test('XML helpers', () => {
  assert.equal(xmlUnescape('a&amp;b &lt;c&gt; &quot;&apos; &#65;&#x42; &bogus; <![CDATA[<raw>]]>'), 'a&b <c> "\' AB &bogus; <raw>');
  assert.equal(xmlEscape(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  assert.deepEqual(xmlElements('<a>1</a><x:a attr="2">2</x:a><a/><ab>no</ab>', 'a'), ['1', '2', '']);
  assert.equal(xmlText('<r><v> x &amp; y </v></r>', 'v'), 'x & y');
  assert.equal(xmlText('<r/>', 'v'), undefined);
});

test('SOAP: request bodies write every value (0 included) and escape text', () => {
  const env = soapEnvelope(WANIP2, 'AddPortMapping', addPortMappingArgs({ externalPort: 6000, internalPort: 6001, internalClient: '192.168.1.2', description: 'wh <&>', lease: 0 }));
  assert.match(env, /<u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:2">/);
  assert.match(env, /<NewRemoteHost><\/NewRemoteHost><NewExternalPort>6000<\/NewExternalPort><NewProtocol>UDP<\/NewProtocol><NewInternalPort>6001<\/NewInternalPort><NewInternalClient>192\.168\.1\.2<\/NewInternalClient><NewEnabled>1<\/NewEnabled><NewPortMappingDescription>wh &lt;&amp;&gt;<\/NewPortMappingDescription><NewLeaseDuration>0<\/NewLeaseDuration>/);
  assert.match(soapEnvelope(WANIP1, 'GetGenericPortMappingEntry', [['NewPortMappingIndex', 0]]), /<NewPortMappingIndex>0<\/NewPortMappingIndex>/);
  assert.deepEqual(deletePortMappingArgs(7), [['NewRemoteHost', ''], ['NewExternalPort', 7], ['NewProtocol', 'UDP']]);
});

test('SOAP: real miniupnpd answers and faults', () => {
  assert.deepEqual(parseSoapResponse(200, SOAP_EXTIP, 'GetExternalIPAddress'), { ok: true, values: { NewExternalIPAddress: '20.0.2.1' } });
  assert.deepEqual(parseSoapResponse(200, SOAP_ADD, 'AddPortMapping'), { ok: true, values: {} });
  assert.deepEqual(parseSoapResponse(200, SOAP_ANY, 'AddAnyPortMapping'), { ok: true, values: { NewReservedPort: '6000' } });
  assert.deepEqual(parseSoapResponse(500, SOAP_718, 'AddPortMapping'), { ok: false, errorCode: 718, errorDescription: 'ConflictInMappingEntry' });
  assert.deepEqual(parseSoapResponse(500, '<html>oops</html>', 'AddPortMapping'), { ok: false, errorCode: -500, errorDescription: 'HTTP 500' });
  assert.equal(parseSoapResponse(200, SOAP_EXTIP, 'AddPortMapping').ok, false, 'the answer to another action');
});

test('NAT-PMP: request bytes and answers (RFC 6886)', () => {
  assert.deepEqual([...encodeNatPmpExternal()], [0, 0]);
  assert.deepEqual([...encodeNatPmpMap(6000, 6001, 3600)], [0, 1, 0, 0, 0x17, 0x70, 0x17, 0x71, 0, 0, 0x0e, 0x10]);
  assert.deepEqual([...encodeNatPmpMap(6000, 0, 0)], [0, 1, 0, 0, 0x17, 0x70, 0, 0, 0, 0, 0, 0]);
  // miniupnpd's answer to a map request (captured): epoch 2970, 6000 -> 6000, lifetime 5
  assert.deepEqual(decodeNatPmp(Buffer.from([0, 129, 0, 0, 0, 0, 11, 154, 23, 112, 23, 112, 0, 0, 0, 5])),
    { op: 1, result: 0, epoch: 2970, internalPort: 6000, externalPort: 6000, lifetime: 5 });
  assert.deepEqual(decodeNatPmp(Buffer.from([0, 128, 0, 0, 0, 0, 0, 9, 20, 0, 2, 3])), { op: 0, result: 0, epoch: 9, externalIp: '20.0.2.3' });
  assert.deepEqual(decodeNatPmp(Buffer.from([0, 129, 0, 2, 0, 0, 0, 1])), { op: 1, result: 2, epoch: 1, internalPort: 0, externalPort: 0, lifetime: 0 }, 'a short error answer');
  assert.equal(decodeNatPmp(Buffer.from([0, 129, 0, 0, 0, 0, 0, 1])), undefined, 'a short success answer');
  assert.equal(decodeNatPmp(Buffer.from([1, 129, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), undefined, 'version 1 (PCP)');
  assert.equal(decodeNatPmp(Buffer.from([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])), undefined, 'a request');
  assert.deepEqual(natPmpSchedule(3000), [0, 250, 750, 1750]);
  assert.deepEqual(natPmpSchedule(100), [0]);
  assert.equal(natPmpSchedule(1e9).length, 9, 'RFC 6886: at most 9 tries');
});

test('default gateway from /proc/net/route', () => {
  const route = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
    + 'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n'
    + 'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n'
    + 'eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n';
  assert.equal(defaultGatewayFromProcRoute(route), '192.0.2.1', 'the lowest metric');
  assert.equal(defaultGatewayFromProcRoute(route.split('\n').slice(0, 2).join('\n')), undefined, 'no default route');
  assert.equal(defaultGatewayFromProcRoute('Iface\n' + 'tun0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n'), undefined, 'default via a device, no gateway');
});

test('leases: clamping and renewal times', () => {
  assert.equal(clampLease(0.2), 1);
  assert.equal(clampLease(3600.4), 3600);
  assert.equal(clampLease(1e9), MAX_LEASE);
  assert.equal(clampLease(NaN), MAX_LEASE);
  assert.equal(renewDelayMs(3600), 1_800_000);
  assert.equal(renewDelayMs(1), 1000);
  assert.equal(renewDelayMs(0), 1_200_000, 'a permanent mapping is refreshed every 20 min');
  assert.equal(retryDelayMs(3600), 60_000);
  assert.equal(retryDelayMs(16), 2000);
  assert.equal(retryDelayMs(2), 1000);
});

// ---------------------------------------------------------------- a fake NAT-PMP gateway on loopback

interface FakeGateway {
  port: number;
  /** Stops answering (requests are still counted). */
  silent: boolean;
  /** When set, a map request (lifetime > 0) is applied and answered this many ms after it arrived; removals at once. */
  mapDelayMs?: number;
  requests: Buffer[];
  mappings: Map<number, { external: number; lifetime: number }>;
  close(): Promise<void>;
}

async function fakeNatPmp(opts: { takenExternal?: number } = {}): Promise<FakeGateway> {
  const sock = dgram.createSocket('udp4');
  const gw: FakeGateway = {
    port: 0, silent: false, requests: [], mappings: new Map(),
    close: () => new Promise((r) => sock.close(() => r())),
  };
  const delayed = new Set<string>();
  sock.on('message', (msg, rinfo) => {
    gw.requests.push(msg);
    if (gw.silent) return;
    if (msg[1] === 1 && msg.length >= 12 && msg.readUInt32BE(8) > 0 && gw.mapDelayMs !== undefined) {
      // A slow gateway: this mapping takes effect later than a removal sent after it. A
      // retransmission of a request still in progress is ignored (the first one's answer serves).
      const key = msg.toString('hex');
      if (delayed.has(key)) return;
      delayed.add(key);
      setTimeout(() => { delayed.delete(key); answer(msg, rinfo); }, gw.mapDelayMs);
      return;
    }
    answer(msg, rinfo);
  });
  const answer = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const op = msg[1];
    const head = (o: number, result = 0) => { const b = Buffer.alloc(o === 0 ? 12 : 16); b[1] = 128 + o; b.writeUInt16BE(result, 2); b.writeUInt32BE(42, 4); return b; };
    let out: Buffer;
    if (op === 0) {
      out = head(0);
      out.set([203, 0, 113, 7], 8);
    } else if (op === 1 && msg.length >= 12) {
      const internal = msg.readUInt16BE(4);
      let external = msg.readUInt16BE(6);
      const lifetime = msg.readUInt32BE(8);
      out = head(1);
      if (lifetime === 0) gw.mappings.delete(internal);
      else {
        if (external === opts.takenExternal) external = 40000;
        gw.mappings.set(internal, { external, lifetime });
      }
      out.writeUInt16BE(internal, 8);
      out.writeUInt16BE(lifetime === 0 ? 0 : external, 10);
      out.writeUInt32BE(lifetime, 12);
    } else {
      out = head(op ?? 0, 5);
    }
    sock.send(out, rinfo.port, rinfo.address);
  };
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  gw.port = sock.address().port;
  return gw;
}

const pmpOpts = (gw: FakeGateway, extra: Partial<Parameters<typeof PortMapper.discover>[0]> = {}) =>
  ({ timeoutMs: 1000, requestTimeoutMs: 600, methods: ['nat-pmp'] as const, gateway: '127.0.0.1', natPmpPort: gw.port, ...extra });

test('PortMapper over NAT-PMP (fake gateway): discover, map, renew, unmap, close', async () => {
  const gw = await fakeNatPmp({ takenExternal: 6001 });
  try {
    const lines: string[] = [];
    const pm = await PortMapper.discover(pmpOpts(gw, { log: (l) => lines.push(l) }));
    assert.ok(pm, 'found');
    assert.equal(pm.method, 'nat-pmp');
    assert.equal(pm.gateway, '127.0.0.1');
    assert.equal(pm.externalIp, '203.0.113.7');
    const m = await pm.map({ internalPort: 6000, protocol: 'udp', leaseSeconds: 120, description: 'wh' });
    assert.deepEqual(m, { externalIp: '203.0.113.7', externalPort: 6000, lease: 120, method: 'nat-pmp' });
    const m2 = await pm.map({ internalPort: 6002, externalPort: 6001, protocol: 'udp', leaseSeconds: 1e9, description: 'wh' });
    assert.equal(m2.externalPort, 40000, 'the gateway picked another port');
    assert.equal(m2.lease, MAX_LEASE, 'lease clamped to 7 days');
    assert.deepEqual([...gw.mappings.keys()].sort(), [6000, 6002]);
    const renewed = await pm.renew();
    assert.deepEqual(renewed.map((r) => r.externalPort).sort(), [40000, 6000].sort());
    const last = gw.requests.at(-1)!;
    assert.deepEqual([last.readUInt16BE(4), last.readUInt16BE(6)], [6002, 40000], 'a renewal asks for the external port it holds');
    await pm.unmap(6000);
    assert.deepEqual([...gw.mappings.keys()], [6002]);
    assert.deepEqual([...pm.mappings.keys()], [6002]);
    await pm.close();
    assert.equal(gw.mappings.size, 0, 'close() removed the rest');
    await assert.rejects(pm.map({ internalPort: 6000, protocol: 'udp', leaseSeconds: 60, description: 'x' }), /closed/);
    assert.ok(lines.some((l) => /nat-pmp gateway 127\.0\.0\.1/.test(l)), lines.join('\n'));
  } finally {
    await gw.close();
  }
});

test('PortMapper: bad requests are refused before anything is sent', async () => {
  const gw = await fakeNatPmp();
  try {
    const pm = (await PortMapper.discover(pmpOpts(gw)))!;
    const n = gw.requests.length;
    const base = { internalPort: 6000, protocol: 'udp' as const, leaseSeconds: 60, description: 'x' };
    await assert.rejects(pm.map({ ...base, internalPort: 0 }), PortMapError);
    await assert.rejects(pm.map({ ...base, internalPort: 70000 }), /internal port/);
    await assert.rejects(pm.map({ ...base, externalPort: 1.5 }), /external port/);
    await assert.rejects(pm.map({ ...base, leaseSeconds: 0 }), /lease/);
    await assert.rejects(pm.map({ ...base, protocol: 'tcp' as unknown as 'udp' }), /udp only/);
    assert.equal(gw.requests.length, n);
    await pm.close();
  } finally {
    await gw.close();
  }
});

test('PortMapper: nothing answers -> discover resolves undefined within its timeout', async () => {
  const gw = await fakeNatPmp();
  gw.silent = true;
  try {
    const t0 = Date.now();
    const pm = await PortMapper.discover(pmpOpts(gw, { timeoutMs: 700 }));
    const ms = Date.now() - t0;
    assert.equal(pm, undefined);
    assert.ok(ms >= 650 && ms < 1200, `${ms} ms`);
    assert.deepEqual(gw.requests.map((r) => r.length), [2, 2], 'sent at 0 and 250 ms (the next, at 750 ms, is past 700 ms)');
  } finally {
    await gw.close();
  }
});

test('PortMapper.keepMapped: renews at half the lease; a silent gateway gives onError, never an exception', async () => {
  const gw = await fakeNatPmp();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  try {
    const pm = (await PortMapper.discover(pmpOpts(gw, { requestTimeoutMs: 300 })))!;
    await pm.map({ internalPort: 6000, protocol: 'udp', leaseSeconds: 2, description: 'x' });
    const renewals: number[] = [];
    const errors: string[] = [];
    pm.keepMapped({
      onRenew: (port) => { renewals.push(port); throw new Error('a throwing callback is ignored'); },
      onError: (e) => { errors.push(e.message); throw new Error('this one too'); },
    });
    await new Promise((r) => setTimeout(r, 1300)); // renewal due at 1 s
    assert.deepEqual(renewals, [6000]);
    gw.silent = true;
    await new Promise((r) => setTimeout(r, 1500)); // due at ~2.1 s, fails after 300 ms
    assert.ok(errors.length >= 1 && /no answer/.test(errors[0]!), JSON.stringify(errors));
    gw.silent = false;
    await new Promise((r) => setTimeout(r, 1200)); // retried 1 s later: works again
    assert.ok(renewals.length >= 2, `renewed again after the gateway came back: ${renewals.length}`);
    pm.stop();
    const count = gw.requests.length;
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(gw.requests.length, count, 'stop() ends the renewals');
    gw.silent = true;
    const t0 = Date.now();
    await assert.rejects(pm.unmap(), /unmap failed.*no answer/);
    assert.ok(Date.now() - t0 < 1000, 'bounded by requestTimeoutMs');
    assert.equal(pm.mappings.size, 1, 'kept for a later retry');
    gw.silent = false;
    await pm.unmap();
    assert.equal(gw.mappings.size, 0);
    await pm.close();
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    await gw.close();
  }
});

test('PortMapper: a renewal never re-creates a mapping that unmap() removed', async () => {
  const gw = await fakeNatPmp();
  try {
    const pm = (await PortMapper.discover(pmpOpts(gw)))!;
    await pm.map({ internalPort: 6000, protocol: 'udp', leaseSeconds: 1, description: 'x' });
    const isMap = (r: Buffer) => r[1] === 1 && r.length >= 12 && r.readUInt32BE(8) > 0;
    const maps = gw.requests.filter(isMap).length;
    // The renewal (due 1 s after the mapping) reaches a slow gateway, which applies it 200 ms
    // later; unmap() is called while that renewal is in flight.
    gw.mapDelayMs = 200;
    pm.keepMapped();
    for (let i = 0; i < 300 && gw.requests.filter(isMap).length === maps; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(gw.requests.filter(isMap).length, maps + 1, 'the renewal was sent');
    await pm.unmap();
    await new Promise((r) => setTimeout(r, 400)); // the slow gateway has applied everything it got
    assert.equal(gw.mappings.size, 0, 'the renewal re-created the mapping after unmap()');
    assert.equal(pm.mappings.size, 0);
    await pm.close();
  } finally {
    await gw.close();
  }
});

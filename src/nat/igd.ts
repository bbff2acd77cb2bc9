// The UPnP IGD client: SOAP calls to the gateway's WAN connection service over one bounded
// HTTP/1.1 request each (also used to fetch the device description during discovery).
import http from 'node:http';
import { parseSoapResponse, soapEnvelope, type IgdService, type SoapArgs, type SoapResult } from './upnp-proto.js';
import type { Clock } from '../util/clock.js';
import { UPNP_MAX_SOAP_BYTES } from '../params.js';

/** One SOAP action on the IGD's control URL. */
export async function soapCall(igd: IgdService, action: string, args: SoapArgs, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<SoapResult> {
  const res = await httpRequest(igd.controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${igd.serviceType}#${action}"` },
    body: soapEnvelope(igd.serviceType, action, args),
    timeoutMs,
    maxBytes: UPNP_MAX_SOAP_BYTES,
    ...(signal ? { signal } : {}),
  }, clock);
  return parseSoapResponse(res.status, res.body, action);
}

export interface HttpOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

/** One HTTP/1.1 request, no keep-alive; the whole exchange is bounded by timeoutMs and maxBytes. */
export function httpRequest(url: string, o: HttpOptions, clock: Clock): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      reject(e);
    };
    const body = o.body === undefined ? undefined : Buffer.from(o.body, 'utf8');
    const req = http.request(url, {
      method: o.method,
      agent: false,
      headers: { Connection: 'close', ...(body ? { 'Content-Length': String(body.length) } : {}), ...o.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > o.maxBytes) fail(new Error(`answer larger than ${o.maxBytes} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (e) => fail(e));
    });
    const timer = clock.setTimeout(() => fail(new Error(`no answer from ${url} within ${o.timeoutMs} ms`)), o.timeoutMs);
    const onAbort = (): void => fail(new Error('aborted'));
    o.signal?.addEventListener('abort', onAbort);
    req.on('error', (e) => fail(e));
    req.end(body);
  });
}

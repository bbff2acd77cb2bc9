// The NAT-PMP client (RFC 6886): one request/answer exchange with the gateway, for the port
// mapper (src/nat/upnp.ts) and the gateway discovery (src/nat/portmap-discover.ts).
import dgram from 'node:dgram';
import { decodeNatPmp, natPmpSchedule, type NatPmpResponse } from './upnp-proto.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * One NAT-PMP request to gateway:port, resent on RFC 6886's schedule (250 ms, doubling) until an
 * answer with opcode 128+op comes from that address, `timeoutMs` passes (undefined), or `signal`
 * aborts (undefined). A fresh socket per exchange: answers cannot be mixed up.
 */
export function natPmpExchange(gateway: string, port: number, payload: Buffer, op: number, timeoutMs: number, clock: Clock, signal?: AbortSignal): Promise<NatPmpResponse | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const timers: TimerHandle[] = [];
    let done = false;
    const finish = (r: NatPmpResponse | undefined): void => {
      if (done) return;
      done = true;
      for (const t of timers) clock.clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      try { sock.close(); } catch { /* already closed */ }
      resolve(r);
    };
    const onAbort = (): void => finish(undefined);
    if (signal?.aborted) { finish(undefined); return; }
    signal?.addEventListener('abort', onAbort);
    sock.on('error', () => finish(undefined));
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== gateway || rinfo.port !== port) return;
      const r = decodeNatPmp(msg);
      if (r && r.op === op) finish(r);
    });
    sock.bind(0, () => {
      for (const at of natPmpSchedule(timeoutMs)) {
        timers.push(clock.setTimeout(() => { if (!done) sock.send(payload, port, gateway, () => {}); }, at));
      }
      timers.push(clock.setTimeout(() => finish(undefined), timeoutMs));
    });
  });
}

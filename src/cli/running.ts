// Which running daemon on this machine, if any, already runs a given key: two daemons with one
// key would fight over the same DHT identity and WireGuard peers (`wh up` refuses the second).
import { callDaemon, listDaemons } from '../control/client.js';
import { UP_KEY_SCAN_TIMEOUT } from '../params.js';

/** The interface of a running daemon whose public key is `publicKeyB64`, or undefined. Daemons
 *  that cannot be listed or do not answer within UP_KEY_SCAN_TIMEOUT are skipped. */
export async function interfaceRunningKey(publicKeyB64: string): Promise<string | undefined> {
  let ifaces: string[];
  try {
    ifaces = listDaemons();
  } catch {
    return undefined;
  }
  const keys = await Promise.all(ifaces.map((iface) =>
    callDaemon(iface, { cmd: 'show' }, UP_KEY_SCAN_TIMEOUT)
      .then((r) => (r as { publicKey?: unknown }).publicKey, () => undefined)));
  const i = keys.findIndex((k) => k === publicKeyB64);
  return i >= 0 ? ifaces[i] : undefined;
}

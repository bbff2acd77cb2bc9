// What the in-process daemon tests (wsdaemon, wsalias, wsreload) give a real Daemon in place of
// the system: a data plane that does nothing, no port sharing, no gateway, DNS or control
// socket, and a UDP socket behind a router that drops all UDP.
import type { DataPlane, SystemDeps } from '../../src/daemon/dataplane.js';
import type { NodeTransport, Receiver } from '../../src/net/transport.js';

/** A UDP socket behind a router that drops all outbound UDP: it sends nothing, hears nothing. */
export class BlockedUdp implements NodeTransport {
  readonly kind = 'udp';
  dropped = 0;
  send(): void { this.dropped++; }
  setReceiver(_r: Receiver): void {}
  carries(): boolean { return true; }
  close(): void {}
}

export function fakeDeps(): SystemDeps {
  return {
    createDataPlane: async (o) => ({
      name: o.name, backend: 'fake', setPeer: async () => undefined, removePeer: async () => undefined,
      dump: async () => ({ publicKey: '', listenPort: o.listenPort, peers: [] }), destroy: async () => undefined,
    } as DataPlane),
    installPortShare: async () => undefined,
    removePortShare: async () => undefined,
  };
}

export const noSystem = {
  discoverMapper: async () => undefined, localAddresses: () => ['127.0.0.1'],
  poker: () => ({ send: () => undefined, close: () => undefined }),
  lookup: async (h: string) => { throw new Error(`no DNS in this test (${h})`); },
  listenControl: async () => ({ close: () => undefined }), bindOverlay: undefined,
};

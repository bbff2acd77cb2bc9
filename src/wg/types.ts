// Types shared by the WireGuard backends (see index.ts for the overview).

export type WgBackend = 'kernel' | 'userspace';

/** A peer as `setPeer` sets it. */
export interface WgPeerConfig {
  /** base64 public key */
  publicKey: string;
  /** "host:port", "1.2.3.4:port" or "[v6]:port". Omitted: the current endpoint is kept
   *  (WireGuard cannot clear one; it also learns it from the peer's packets). */
  endpoint?: string;
  /** CIDRs; they replace the peer's current list ([] removes them all). */
  allowedIps: string[];
  /** Persistent keepalive in seconds; omitted or 0 = off. */
  keepalive?: number;
}

export interface WgPeerDump {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
  /** Unix seconds of the last completed handshake; 0 = never. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Persistent keepalive in seconds, 0 = off. */
  keepalive: number;
}

export interface WgDump {
  /** base64; '' when no private key is set. */
  publicKey: string;
  listenPort: number;
  peers: WgPeerDump[];
}

/** One way of configuring and reading an interface: the UAPI socket or the `wg` tool. */
export interface WgControl {
  setDevice(privateKey: string, listenPort: number): Promise<void>;
  setPeer(peer: WgPeerConfig): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  dump(): Promise<WgDump>;
}

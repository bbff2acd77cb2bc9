// What the daemon needs from WireGuard and from the firewall, as interfaces, so that the daemon
// logic can run against fakes in unit tests. src/daemon/system.ts binds them to src/wg and
// src/firewall.
export interface WgPeerConfig {
  publicKey: string; // base64
  endpoint?: string; // host:port or [v6]:port
  allowedIps: string[];
  keepalive?: number;
}

export interface WgPeerDump {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
  latestHandshake: number; // unix seconds, 0 = never
  rxBytes: number;
  txBytes: number;
  keepalive: number;
}

export interface WgDumpLike {
  publicKey: string;
  listenPort: number;
  peers: WgPeerDump[];
}

export interface DataPlane {
  readonly name: string;
  readonly backend: string;
  setPeer(p: WgPeerConfig): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  dump(): Promise<WgDumpLike>;
  destroy(): Promise<void>;
}

export interface SystemDeps {
  createDataPlane(opts: { name: string; privateKey: string; listenPort: number; addresses: string[] }): Promise<DataPlane>;
  installPortShare(opts: { table: string; wgPort: number; daemonPort: number }): Promise<void>;
  removePortShare(table: string): Promise<void>;
}

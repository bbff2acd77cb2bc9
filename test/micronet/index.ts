// micronet: test networks of network namespaces (see README.md beside this file).
export { Micronet, listNetns } from './micronet.js';
export type { CreateOptions, Host, NodeKind, Router, RouterOptions, SpawnOptions } from './micronet.js';
export { run, runChecked, runSync, inNamespace, ExecError, DEFAULT_TIMEOUT_MS } from './exec.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { NAT_TYPES, isNatType, natRules, firewallRules, routerRules, replaceTableScript } from './nat.js';
export type { NatType } from './nat.js';
export { UPNP_MODES, isUpnpMode, miniupnpdConfig, upnpChains } from './upnp.js';
export type { UpnpMode } from './upnp.js';
export { cleanupStale, REGISTRY_DIR } from './registry.js';
export type { CleanupReport, RegistryRecord } from './registry.js';
export * from './addressing.js';
export { buildNet, parseSpec } from './spec.js';
export type { HostSpec, NetSpec, RouterSpec } from './spec.js';
export { UdpAgent } from './agent.js';
export type { Datagram } from './agent.js';

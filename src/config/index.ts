// Network config files: parsing (pure), loading (I/O), lookups and JSON form.
export type { Boot, Endpoint, NetworkConfig, Peer, Subnet } from './types.js';
export { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
export { DEFAULT_PORT, formatHostPort, hostnameError, isHostname, peerNameError, parseHostPort, parsePort, type HostKind, type HostPort } from './host.js';
export { DIRECTIVES, type Directive, editDistance, parseConfig, suggestDirective } from './parse.js';
export { metricsAddress, type MetricsListen } from './metrics.js';
export { parseWsUrl, type WsListen, type WsUrl } from './wslisten.js';
export { appendLine, trustLine, writeFileAtomic } from './write.js';
export { loadConfig, readConfigText, MAX_CONFIG_BYTES } from './load.js';
export { ALLOC_CONTEXT, allocateAddresses, allocationCapacity, allocationHash, allocationRange, AllocationError } from './allocate.js';
export { findPeerByHostname, findPeerByKey, trustedPeers, configToJSON, type NetworkConfigJSON } from './lookup.js';
export {
  type Cidr, type Family, type IpAddress, cidrContains, cidrLast, cidrSize, formatCidr, formatIp, formatIPv4, formatIPv6,
  isReservedAddress, parseCidr, parseIp, parseIPv4, parseIPv6, prefixMask,
} from '../util/ip.js';

// Firewall rules of a node: the nftables port sharing between WireGuard and the daemon
// (portshare.ts has the rules and the reasons behind them), and a relay's kernel forwarding of
// relayed WireGuard datagrams (relayforward.ts).
export {
  FirewallError, installPortShare, portShareInstalled, portShareRules, portShareTableName, portShareTables,
  removePortShare, validateTableName,
} from './portshare.js';
export type { PortShareOptions } from './portshare.js';
export {
  installRelayForward, parseRouteGet, refreshRelayForward, relayForwardInstalled, relayForwardRules, removeRelayForward, routeTo,
} from './relayforward.js';
export type { ForwardLimits, ForwardMember, ForwardSession, Hop } from './relayforward.js';

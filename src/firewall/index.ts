// Firewall rules of a node: the nftables port sharing between WireGuard and the daemon
// (portshare.ts has the rules and the reasons behind them).
export {
  FirewallError, installPortShare, portShareInstalled, portShareRules, portShareTableName, portShareTables,
  removePortShare, validateTableName,
} from './portshare.js';
export type { PortShareOptions } from './portshare.js';

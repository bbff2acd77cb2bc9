// The WireGuard data plane of a node: one interface per node, kernel or userspace.
//
//   backend.ts    which implementation: kernel module if `ip link add … type wireguard` works,
//                 else WG_USERSPACE_IMPLEMENTATION / WG_QUICK_USERSPACE_IMPLEMENTATION /
//                 wireguard-go on PATH, else an error naming the packages
//   interface.ts  createInterface / existingInterface / destroyInterface and WgInterface
//   uapi.ts       the UAPI socket client (userspace interfaces: about 0.3 ms per call)
//   wgtool.ts     the same operations through `wg` (kernel interfaces)
//   proc.ts       finding the process behind /var/run/wireguard/NAME.sock (for `wh down`)
//   names.ts      interface names (interfaceNameForKey: "wh-" + 8 key characters) and the
//                 validation of keys, CIDRs, endpoints and ports
//   session.ts    whether a peer has a WireGuard session (its handshake times are wall-clock)
//   types.ts      the types the backends share
// Running ip / wg / nft (optionally in a named network namespace) is src/util/exec.ts, the
// project's process runner; its WgError and tool lookup are re-exported here.
// Every error meant for the user is a WgError whose message says what to do.
export { WgError, findExecutable, installHint } from '../util/exec.js';
export { detectBackend, kernelWireGuardAvailable, userspaceImplementation, USERSPACE_ENV } from './backend.js';
export type { BackendInfo, BackendPreference } from './backend.js';
export { createInterface, destroyInterface, existingInterface, linkKind, socketAccepts } from './interface.js';
export type { CreateInterfaceOptions, InterfaceLookupOptions, WgInterface } from './interface.js';
export {
  MAX_IFNAME, interfaceNameForKey, isInterfaceName, wgCidr, parseEndpoint, validateInterfaceName, validateKey,
} from './names.js';
export { SOCKET_DIR, socketPath, UapiControl, parseUapiGet, peerSetRequest, publicKeyOfPrivateHex, uapiRequest } from './uapi.js';
export { WgToolControl, parseWgDump, wgPeerArgs } from './wgtool.js';
export { socketOwners } from './proc.js';
export type { WgBackend, WgControl, WgDump, WgPeerConfig, WgPeerDump } from './types.js';

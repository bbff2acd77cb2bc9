// Every timer and limit of WireHub, named and commented: this module re-exports the files of
// src/params/, one per area (wire and DHT, trusted peers' paths, NAT and relays, the node).
// Times are in milliseconds unless the name says otherwise.
// `// @protocol` marks a value another implementation must honour to interoperate (a size on
// the wire, a lifetime or rate a peer relies on, the public DHT's port and namespace):
// docs/PROTOCOL.md section 10.1 lists exactly these, and test/unit/params.test.ts checks the
// list and the values. Unmarked constants are this implementation's own choices (docs/NODE.md,
// docs/NAT.md); a new one needs no mark (docs/DECISIONS.md, "Protocol constants").
// The constants live in src/params/, one file per area; import them from here.

export * from './params/wire.js';
export * from './params/peers.js';
export * from './params/nat.js';
export * from './params/node.js';
export * from './params/names.js';
export * from './params/invite.js';
export * from './params/ops.js';
export * from './params/ws.js';
export * from './params/wsdial.js';

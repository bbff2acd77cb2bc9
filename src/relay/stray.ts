// Following a peer whose relayed datagrams come through another relay than our link's (pure).
// Each side of a relayed pair picks its relay link; they meet when one follows the other's
// notify (src/relay/client.ts follow). When they do not (the peer moved to another relay while
// ours still confirms our own session, e.g. a node that fell back to WebSocket and opened a new
// link through its first boot node), the peer's datagrams reach us through its relay, where we
// are a member too, while ours go to a relay that no longer has the peer: one way only, until
// the path machine gives the relay up (PATH_RELAY_HEARD_TIMEOUT). After RELAY_STRAY_DATAGRAMS in
// a row through one other relay, once the link has been on its relay for RELAY_STRAY_HOLD (twice
// that on the side with the larger key, so that sides that crossed do not swap in step), the
// link moves to the relay the peer uses.
import { RELAY_STRAY_DATAGRAMS, RELAY_STRAY_HOLD } from '../params.js';

export interface StrayState {
  /** The other relay the peer's datagrams came through lately, and how many in a row. */
  hex: string;
  count: number;
}

/**
 * A datagram of the peer came through relay `viaHex`; the link is on `linkRelayHex` since
 * `setAt`. Returns the new state and whether the link should move to `viaHex` now.
 */
export function strayStep(state: StrayState | undefined, viaHex: string, linkRelayHex: string, setAt: number, now: number, smallerKey: boolean): { state: StrayState | undefined; follow: boolean } {
  if (viaHex === linkRelayHex) return { state: undefined, follow: false };
  const next = state?.hex === viaHex ? { hex: viaHex, count: state.count + 1 } : { hex: viaHex, count: 1 };
  const hold = smallerKey ? RELAY_STRAY_HOLD : 2 * RELAY_STRAY_HOLD;
  if (next.count < RELAY_STRAY_DATAGRAMS || now - setAt < hold) return { state: next, follow: false };
  return { state: undefined, follow: true };
}

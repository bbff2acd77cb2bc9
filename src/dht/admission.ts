// Who may cost us an X25519 (docs/PROTOCOL.md 5.7). The channel asks before deriving keys for a
// sender it holds no state for; a forger needs no private key, so without a bound every forged
// packet under a new key would cost one. In order:
//   1. a known key (trusted peer, or in the routing table: isKnown) is always admitted;
//   2. a packet with a valid cookie MAC (its source address is proven) is admitted within the
//      per-source and global PROVEN_KEYS budgets;
//   3. otherwise the key is admitted if its source IP has not failed too often lately
//      (SOURCE_FAILED_KEYS) and the global NEW_KEYS budget has a token;
//   4. otherwise the node is under load for this sender: it answers with a cookie reply (within
//      the COOKIE_REPLIES limits) and drops the packet. A spoofer never sees the cookie.
// Keys with cached state never reach this (the channel answers them from its caches).
import type { Sodium } from '../crypto/sodium.js';
import { sourceKey, type Addr } from '../proto/addr.js';
import { CookieJar, writeCookieReply } from '../proto/cookie.js';
import type { Header } from '../proto/packet.js';
import type { Clock } from '../util/clock.js';
import type { Counters } from '../util/counters.js';
import { RateLimiter } from '../util/ratelimit.js';
import {
  COOKIE_REPLIES_GLOBAL_PER_SEC, COOKIE_REPLIES_PER_SEC, NEW_KEYS_BURST, NEW_KEYS_PER_SEC, PROVEN_KEYS_BURST,
  PROVEN_KEYS_GLOBAL_PER_SEC, PROVEN_KEYS_PER_SEC, RATE_LIMIT_SOURCES, SOURCE_FAILED_KEYS_BURST, SOURCE_FAILED_KEYS_PER_SEC,
} from '../params.js';

export type Verdict = 'known' | 'derive' | 'proven' | 'cookie' | 'refuse';

export class Admission {
  private readonly jar: CookieJar;
  private readonly newKeys = new RateLimiter(NEW_KEYS_PER_SEC, NEW_KEYS_BURST, 1);
  private readonly sourceFailures = new RateLimiter(SOURCE_FAILED_KEYS_PER_SEC, SOURCE_FAILED_KEYS_BURST, RATE_LIMIT_SOURCES);
  private readonly provenSource = new RateLimiter(PROVEN_KEYS_PER_SEC, PROVEN_KEYS_BURST, RATE_LIMIT_SOURCES);
  private readonly provenAll = new RateLimiter(PROVEN_KEYS_GLOBAL_PER_SEC, PROVEN_KEYS_GLOBAL_PER_SEC, 1);
  private readonly cookieSource = new RateLimiter(COOKIE_REPLIES_PER_SEC, 2 * COOKIE_REPLIES_PER_SEC, RATE_LIMIT_SOURCES);
  private readonly cookieAll = new RateLimiter(COOKIE_REPLIES_GLOBAL_PER_SEC, 2 * COOKIE_REPLIES_GLOBAL_PER_SEC, 1);
  /** Keys that never wait on a budget (set by the DHT node: trusted peers, table entries). */
  isKnown: ((hex: string) => boolean) | undefined;

  constructor(sodium: Sodium, private readonly clock: Clock, random: (n: number) => Uint8Array, private readonly counters: Counters) {
    this.jar = new CookieJar(sodium, clock, random);
  }

  /** The verdict for a new key's packet `packet` (header `h`) from `from`. */
  decide(h: Header, hex: string, packet: Uint8Array, from: Addr): Verdict {
    if (this.isKnown?.(hex) ?? false) return 'known';
    const now = this.clock.now();
    if (h.mac !== undefined) {
      if (this.jar.check(h.sender, from, packet.subarray(0, h.sealedEnd), h.mac)) {
        if (this.provenSource.take(sourceKey(from.host), now) && this.provenAll.take('', now)) return 'proven';
        this.counters.add('cookie-busy');
        return 'refuse';
      }
      this.counters.add('cookie-invalid'); // e.g. made under a secret that has rotated out
    }
    if (this.sourceFailures.peek(sourceKey(from.host), now) && this.newKeys.take('', now)) return 'derive';
    return 'cookie';
  }

  /** A derivation admitted without a cookie did not authenticate: the source pays for it. */
  failed(from: Addr): void {
    this.sourceFailures.take(sourceKey(from.host), this.clock.now());
  }

  /** The cookie reply to send for the datagram `h` from `from`, or undefined when over the limits. */
  cookieReply(h: Header, self: Uint8Array, from: Addr): Uint8Array | undefined {
    const now = this.clock.now();
    if (!this.cookieSource.take(sourceKey(from.host), now) || !this.cookieAll.take('', now)) {
      this.counters.add('cookie-reply-limited');
      return undefined;
    }
    this.counters.add('cookie-reply-sent');
    return writeCookieReply({ responder: self, epoch: h.epoch, counter: h.counter, cookie: this.jar.cookieFor(h.sender, from) });
  }
}

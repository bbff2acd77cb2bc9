// Coalescing the frames one WebSocket connection sends in one turn of the event loop into one
// write (I/O only): the first frame corks the TCP socket, and the socket is uncorked once the
// I/O phase that produced the frames is over (setImmediate). A relayed flow sends a frame for
// each WireGuard datagram, and the datagrams of one poll phase arrive together: one writev
// instead of one per frame (docs/NODE.md "WebSocket relay throughput"). Adds no delay beyond
// that turn; a socket that is gone is simply not uncorked.
import type { Duplex } from 'node:stream';

export class WriteCoalescer {
  private corked = false;

  constructor(private readonly socket: Duplex | undefined) {}

  /** Call before each frame is handed to ws. */
  hold(): void {
    const s = this.socket;
    if (this.corked || s === undefined || s.destroyed) return;
    this.corked = true;
    s.cork();
    setImmediate(() => { this.corked = false; if (!s.destroyed) s.uncork(); });
  }
}

// The `proxy URL` / `proxy none` directive: the HTTP proxy a WebSocket client goes through,
// over the environment's (docs/CONFIG.md, "proxy URL"; src/net/wsproxy.ts applies it). Pure.
// A credential in the URL (`user:pass@`) is never repeated in an error.
import { parseProxyUrl, ProxyConfigError, redactProxyUrl, type ProxyDirective } from '../net/wsproxy.js';

export type ProxySetting = ProxyDirective & {
  /** The line of the directive. */
  line: number;
};

const USAGE = '(usage: proxy http://HOST:PORT, proxy http://USER:PASSWORD@HOST:PORT or proxy none)';

/** Reads the one argument of `proxy`; reports a problem through `fail`. */
export function parseProxyLine(args: string[], line: number, fail: (line: number, message: string) => void): ProxySetting | undefined {
  if (args.length !== 1) {
    fail(line, `"proxy" takes exactly one argument, got ${args.length === 0 ? 'none' : args.length} ${USAGE}`);
    return undefined;
  }
  const text = args[0]!;
  if (text === 'none') return { kind: 'none', line };
  try {
    parseProxyUrl(text);
  } catch (err) {
    if (!(err instanceof ProxyConfigError)) throw err;
    fail(line, `${err.message} ${USAGE}`);
    return undefined;
  }
  return { kind: 'url', url: text, line };
}

/** The setting as `wh check` prints it: `none`, or the URL with its credentials as `***@`. */
export function proxyText(p: ProxySetting): string {
  return p.kind === 'none' ? 'none' : redactProxyUrl(parseProxyUrl(p.url));
}

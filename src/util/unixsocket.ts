// Whether something accepts connections on a Unix socket (a live daemon, a live wireguard-go),
// as opposed to a socket file left by a killed process. Bounded in time.
import net from 'node:net';

export function socketAccepts(file: string, timeout = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(file);
    const t = setTimeout(() => { c.destroy(); resolve(false); }, timeout);
    c.once('connect', () => { clearTimeout(t); c.destroy(); resolve(true); });
    c.once('error', () => { clearTimeout(t); resolve(false); });
  });
}

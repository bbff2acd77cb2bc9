// A free TCP port on 127.0.0.1 for a test's server: bound to port 0, read, and released, so
// that the server under test (or a real tinyproxy, nginx...) can bind it next.
import net from 'node:net';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// Free loopback ports for bots that serve HTTP (--port auto).
import { createServer, type AddressInfo } from 'node:net';

/** A loopback port nothing listens on now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

// Host ports: free loopback ports for bots (--port auto) and the checks behind published ports.
import { createServer, createSocket } from '../lazy.js';
import type { AddressInfo } from 'node:net';

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

/** Whether something on this host already listens on (or holds) ip:port for the protocol. */
export function portTaken(ip: string, port: number, protocol: 'tcp' | 'udp'): Promise<boolean> {
  return new Promise((resolveTaken) => {
    if (protocol === 'udp') {
      const sock = createSocket('udp4');
      sock.once('error', () => resolveTaken(true));
      sock.bind(port, ip, () => sock.close(() => resolveTaken(false)));
      return;
    }
    const srv = createServer();
    srv.once('error', () => resolveTaken(true));
    srv.listen({ port, host: ip, exclusive: true }, () => srv.close(() => resolveTaken(false)));
  });
}

/** A port free for the protocol on ip, other than those in `avoid` (other containers' published ports). */
export async function pickPort(ip: string, protocol: 'tcp' | 'udp', avoid: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolvePort, reject) => {
      const done = (p: number) => resolvePort(p);
      if (protocol === 'udp') {
        const sock = createSocket('udp4');
        sock.once('error', reject);
        sock.bind(0, ip, () => {
          const p = sock.address().port;
          sock.close(() => done(p));
        });
      } else {
        const srv = createServer();
        srv.once('error', reject);
        srv.listen(0, ip, () => {
          const p = (srv.address() as AddressInfo).port;
          srv.close(() => done(p));
        });
      }
    });
    if (!avoid.has(port)) return port;
  }
  throw new Error('no free port found');
}

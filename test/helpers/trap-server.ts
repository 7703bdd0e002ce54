/**
 * A TCP listener that only counts who connects: put on the addresses and port a hostile URL
 * names, it proves that nothing connected there. Listening on `::` (dual stack) catches
 * every local address at once: all of 127.0.0.0/8, ::1, and this machine's own interfaces.
 */
import net from 'node:net';
import os from 'node:os';

export interface TrapServer {
  port: number;
  /** Remote addresses of every connection accepted so far. */
  readonly connections: string[];
  close(): Promise<void>;
}

export async function startTrap(host = '::', port = 0): Promise<TrapServer> {
  const connections: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.push(`${socket.remoteAddress ?? '?'} -> ${socket.localAddress ?? '?'}`);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** This machine's own non-loopback addresses (usually private ones): also to be refused. Link-local ones are left out (they need a zone id). */
export function ownAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((infos) => infos ?? [])
    .filter((i) => !i.internal && !i.address.toLowerCase().startsWith('fe80'))
    .map((i) => i.address);
}

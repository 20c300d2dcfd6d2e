// UDP socket helpers for the TFTP service: literal-address sockets, binding, and a transfer's socket pair.

import dgram from 'node:dgram';
import { encode, ERR } from './codec.js';

/** Family of an IP literal (listen addresses and client addresses never are names): only IPv6 has colons. */
export function ipFamily(literal: string): 4 | 6 {
  return literal.includes(':') ? 6 : 4;
}

function literalLookup(host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  cb(null, host, ipFamily(host));
}

/**
 * Peers are always IP literals: a synchronous lookup saves dgram's per-send DNS round through nextTick.
 * reuseAddr only for a transfer's two sockets (the guard shares the transfer socket's port); listeners never set it,
 * so a second daemon on port 69 fails to bind instead of sharing it unnoticed.
 */
export function udpSocket(address: string, reuseAddr = false): dgram.Socket {
  return dgram.createSocket({ type: ipFamily(address) === 6 ? 'udp6' : 'udp4', lookup: literalLookup, reuseAddr });
}

export function bind(sock: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
}

export function closeQuietly(sock: dgram.Socket): void {
  try {
    sock.close();
  } catch {
    /* already closed */
  }
}

export function sendError(sock: dgram.Socket, to: { address: string; port: number }, code: number, message: string): void {
  sock.send(encode({ op: 'error', code, message }), to.port, to.address);
}

/**
 * Two sockets on one ephemeral port (the transfer's TID, RFC 1350 §4): `tsock` connected to the client carries the
 * transfer (the kernel prefers the connected socket for the client's packets); `guard` gets every other sender and
 * answers ERROR 5, so a stray packet never disturbs the transfer. `make` creates (and counts) a socket.
 */
export async function transferSockets(
  local: string,
  client: { address: string; port: number },
  make: (address: string, reuseAddr: boolean) => dgram.Socket,
): Promise<{ tsock: dgram.Socket; guard: dgram.Socket }> {
  const tsock = make(local, true);
  const guard = make(local, true);
  try {
    await bind(tsock, local, 0);
    await bind(guard, local, tsock.address().port);
    await new Promise<void>((resolve, reject) => {
      tsock.once('error', reject);
      tsock.connect(client.port, client.address, () => {
        tsock.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    closeQuietly(tsock);
    closeQuietly(guard);
    throw err;
  }
  guard.on('message', (_msg, ri) => {
    if (ri.address === client.address && ri.port === client.port) return;
    sendError(guard, ri, ERR.UNKNOWN_TID, 'unknown transfer ID');
  });
  guard.on('error', () => undefined);
  return { tsock, guard };
}

// What a transfer is started with: its retransmission timing from the service's options, and its socket pair and
// Transfer object (begun by the server once it is registered).

import type dgram from 'node:dgram';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ResolvedOptions } from './options.js';
import type { TftpClientRef } from './ports.js';
import { closeQuietly, transferSockets } from './sockets.js';
import type { Source } from './source.js';
import { Transfer, type TransferEnd, type TransferParams, type TransferTiming } from './transfer.js';

/** Floor of the per-transfer retransmission budget (small files on a lossy link). */
const RETRANSMIT_FLOOR = 4 * 1024 * 1024;

/**
 * A client's `timeout` is echoed (EDK2 requires it unchanged) but our own timer stays the configured one:
 * retransmitting earlier than the client would is harmless, and a vanished client must not hold a slot for
 * minutes (curl asks for 6 s, the option allows 255 s).
 */
export function transferTiming(cfg: ResolvedOptions, size: number): TransferTiming {
  const initial = cfg.timeoutMs;
  return {
    initialTimeoutMs: initial,
    maxTimeoutMs: Math.max(initial, cfg.maxTimeoutMs),
    backoff: cfg.backoff,
    retries: cfg.retries,
    unconfirmedRetries: Math.min(cfg.unconfirmedRetries, cfg.retries),
    maxRetransmitBytes: Math.max(RETRANSMIT_FLOOR, size * cfg.retransmitRatio),
  };
}

export interface LaunchParams {
  local: string;
  client: TftpClientRef;
  source: Source;
  spec: Pick<TransferParams, 'name' | 'blksize' | 'windowsize' | 'oack' | 'timing'>;
  /** Called once when it ends, after its sockets are scheduled to close and its source is closing. */
  onEnd: (t: Transfer, end: TransferEnd) => void;
  /** Creates (and counts) a socket. */
  newSocket: (address: string, reuseAddr: boolean) => dgram.Socket;
  running: () => boolean;
  log: Logger;
}

/** A transfer on its own socket pair (not begun yet); null when the service stopped meanwhile. */
export async function launchTransfer(p: LaunchParams): Promise<Transfer | null> {
  const { tsock, guard } = await transferSockets(p.local, p.client, p.newSocket);
  if (!p.running()) {
    closeQuietly(tsock);
    closeQuietly(guard);
    return null;
  }
  const transfer = new Transfer({
    ...p.spec,
    socket: tsock,
    address: p.client.address,
    port: p.client.port,
    source: p.source,
    onEnd: (t, end) => {
      // Let an ERROR queued by the transfer leave before the socket goes.
      setImmediate(() => [tsock, guard].forEach(closeQuietly));
      p.source.close().catch(() => undefined);
      p.onEnd(t, end);
    },
  });
  tsock.on('error', (err) => {
    p.log.debug('transfer socket error', { client: p.client.address, err: describeError(err) });
    transfer.abort(`socket error: ${describeError(err)}`);
  });
  return transfer;
}

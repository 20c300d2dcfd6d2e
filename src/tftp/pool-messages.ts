// What the main thread and a TFTP transfer thread (worker.ts) say to each other, and the layout of the small
// shared state each transfer publishes (read by RemoteTransfer in pool.ts).

import type { TftpOption } from './codec.js';
import type { TftpClientRef } from './ports.js';
import type { PortableSource } from './source.js';
import type { TransferEnd, TransferTiming, TransferView } from './transfer.js';

export interface WorkerBegin {
  t: 'begin';
  id: number;
  /** SharedArrayBuffer of STATE_BYTES the worker writes the transfer's state into. */
  state: SharedArrayBuffer;
  /** Local address the RRQ came to (the transfer's sockets bind there). */
  local: string;
  client: TftpClientRef;
  name: string;
  blksize: number;
  windowsize: number;
  oack: TftpOption[];
  timing: TransferTiming;
  source: PortableSource;
}

export type ToWorker = WorkerBegin | { t: 'abort'; id: number; detail: string };

/**
 * Per transfer, in order: 'started' (sockets bound: two more open) or 'setup-failed'; 'end' when it ends; 'released'
 * once its sockets are closed and no read of its descriptor is pending.
 */
export type FromWorker =
  | { t: 'started'; id: number }
  | { t: 'setup-failed'; id: number; message: string }
  | { t: 'end'; id: number; end: TransferEnd }
  | { t: 'released'; id: number };

/** Float64 slots of the shared state. */
export const S = { confirmed: 0, silent: 1, lastProgressAt: 2, bytesAcked: 3, retransmits: 4, retransmittedBytes: 5 } as const;
export const STATE_BYTES = 6 * Float64Array.BYTES_PER_ELEMENT;

export function publish(state: Float64Array, t: TransferView): void {
  state[S.confirmed] = t.confirmed ? 1 : 0;
  state[S.silent] = t.silent ? 1 : 0;
  state[S.lastProgressAt] = t.lastProgressAt;
  state[S.bytesAcked] = t.bytesAcked;
  state[S.retransmits] = t.retransmits;
  state[S.retransmittedBytes] = t.retransmittedBytes;
}

// A TFTP transfer thread (pool.ts starts it with worker_threads): owns the sockets and the Transfer of each transfer
// the main thread hands over, runs their retransmission sweep, and posts back when each ends and when its sockets
// and descriptor reads are done. Port 69, the caps, the openers and every report stay in the main thread.
// The transfer's live state (confirmed, silent, progress, retransmits) is written into a small SharedArrayBuffer per
// transfer, so the main thread reads it for its caps and repeat checks without a message per ACK.

import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../errors.js';
import { closeQuietly, transferSockets, udpSocket } from './sockets.js';
import { BufferSource, FileSource, type PositionalFile, type Source } from './source.js';
import { Transfer } from './transfer.js';
import { publish, type FromWorker, type ToWorker, type WorkerBegin } from './pool-messages.js';

const port = parentPort!;
const transfers = new Map<number, { transfer: Transfer; state: Float64Array }>();
const post = (m: FromWorker): void => port.postMessage(m);

/** Reads of a descriptor the main thread owns (it closes it after our 'released'). */
function borrowed(fd: number): PositionalFile {
  return {
    read: (buffer, offset, length, position) =>
      new Promise((resolve, reject) => fs.read(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead })))),
    close: () => Promise.resolve(),
  };
}

async function begin(m: WorkerBegin): Promise<void> {
  const source: Source =
    m.source.kind === 'buffer'
      ? new BufferSource(Buffer.from(m.source.data.buffer, m.source.data.byteOffset, m.source.data.byteLength))
      : new FileSource(borrowed(m.source.fd), m.source.size, m.source.chunk);
  let socks;
  try {
    socks = await transferSockets(m.local, m.client, (a, reuse) => udpSocket(a, reuse));
  } catch (err) {
    post({ t: 'setup-failed', id: m.id, message: describeError(err) });
    return;
  }
  const { tsock, guard } = socks;
  const state = new Float64Array(m.state);
  const transfer = new Transfer({
    socket: tsock,
    address: m.client.address,
    port: m.client.port,
    name: m.name,
    source,
    blksize: m.blksize,
    windowsize: m.windowsize,
    oack: m.oack,
    timing: m.timing,
    onProgress: (t) => publish(state, t),
    onEnd: (t, end) => {
      transfers.delete(m.id);
      publish(state, t);
      post({ t: 'end', id: m.id, end });
      // Let an ERROR queued by the transfer leave before the socket goes; then no read of the descriptor is pending.
      setImmediate(() => {
        closeQuietly(tsock);
        closeQuietly(guard);
        source.close().then(
          () => post({ t: 'released', id: m.id }),
          () => post({ t: 'released', id: m.id }),
        );
      });
    },
  });
  tsock.on('error', (err) => transfer.abort(`socket error: ${describeError(err)}`));
  transfers.set(m.id, { transfer, state });
  post({ t: 'started', id: m.id });
  transfer.begin();
}

port.on('message', (m: ToWorker) => {
  if (m.t === 'begin') {
    begin(m).catch((err: unknown) => post({ t: 'setup-failed', id: m.id, message: describeError(err) }));
  } else if (m.t === 'abort') {
    transfers.get(m.id)?.transfer.abort(m.detail);
  }
});

const { sweepMs } = workerData as { sweepMs: number };
setInterval(() => {
  const now = Date.now();
  for (const { transfer, state } of transfers.values()) {
    transfer.tick(now);
    // tick changes `silent` (retries counted) and the retransmit figures without an ACK.
    if (!transfer.done) publish(state, transfer);
  }
}, sweepMs).unref();

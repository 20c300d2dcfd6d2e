// A small pool of TFTP transfer threads (tftp.workers). The main thread keeps port 69, the openers, the caps and the
// reports; each accepted transfer whose bytes can cross threads (a cached file in shared memory, or a file read by
// descriptor) is handed to the least busy thread, which owns its sockets and its Transfer (worker.ts).
// Contracts:
// - A RemoteTransfer looks like a Transfer to the server (TransferView): its state is read from shared memory.
// - abort() ends it at once for the server (reported and counted as aborted then, like an in-thread abort) and tells
//   the thread; the thread's own 'end' for it is then ignored.
// - Resources (two sockets, the source's descriptor) are released only on the thread's 'released', or when the
//   thread is gone: the main thread never closes a descriptor a thread may still read.
// - stop() aborts nothing itself (the server does), waits briefly for the threads' 'released', then terminates the
//   threads in reverse order of start.

import { Worker } from 'node:worker_threads';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { S, STATE_BYTES, type FromWorker, type ToWorker, type WorkerBegin } from './pool-messages.js';
import type { TransferEnd, TransferView } from './transfer.js';

/** How long stop() waits for the threads to release their transfers before terminating them. */
const RELEASE_WAIT_MS = 1000;

export interface RemoteHooks {
  /** Called once when the transfer ends (by the thread, by abort(), or because the thread died). */
  onEnd: (t: RemoteTransfer, end: TransferEnd) => void;
  /** Called once when its sockets are closed and its source is free to close. */
  onReleased: () => void;
}

export class RemoteTransfer implements TransferView {
  readonly startedAt = Date.now();
  readonly size: number;
  private readonly state: Float64Array;
  private ended = false;
  private released = false;

  constructor(
    private readonly spec: Omit<WorkerBegin, 't'>,
    private readonly lane: Lane,
    private readonly hooks: RemoteHooks,
  ) {
    this.state = new Float64Array(spec.state);
    this.size = spec.source.kind === 'buffer' ? spec.source.data.byteLength : spec.source.size;
  }

  get address(): string {
    return this.spec.client.address;
  }
  get port(): number {
    return this.spec.client.port;
  }
  get name(): string {
    return this.spec.name;
  }
  get blksize(): number {
    return this.spec.blksize;
  }
  get windowsize(): number {
    return this.spec.windowsize;
  }
  get confirmed(): boolean {
    return this.state[S.confirmed] === 1;
  }
  get silent(): boolean {
    return this.state[S.silent] === 1;
  }
  get lastProgressAt(): number {
    return this.state[S.lastProgressAt] || this.startedAt;
  }
  get bytesAcked(): number {
    return this.state[S.bytesAcked]!;
  }
  get retransmits(): number {
    return this.state[S.retransmits]!;
  }
  get retransmittedBytes(): number {
    return this.state[S.retransmittedBytes]!;
  }

  abort(detail: string): void {
    if (this.ended) return;
    this.lane.post({ t: 'abort', id: this.spec.id, detail });
    this.end({ outcome: 'aborted', detail });
  }

  /** @internal (Lane) */
  end(end: TransferEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.hooks.onEnd(this, end);
  }

  /** @internal (Lane) */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.hooks.onReleased();
  }
}

interface Starting {
  resolve: (t: RemoteTransfer | null) => void;
  reject: (err: Error) => void;
  remote: RemoteTransfer;
}

/** One thread and the transfers it holds. */
class Lane {
  readonly worker: Worker;
  readonly starting = new Map<number, Starting>();
  readonly running = new Map<number, RemoteTransfer>();
  alive = true;

  constructor(url: URL, sweepMs: number, log: Logger) {
    this.worker = new Worker(url, { workerData: { sweepMs } });
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => log.error('TFTP transfer thread failed', { err: describeError(err) }));
    this.worker.on('exit', () => this.gone());
  }

  get load(): number {
    return this.starting.size + this.running.size;
  }

  post(m: ToWorker): void {
    if (this.alive) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.t === 'started' || m.t === 'setup-failed') {
      const s = this.starting.get(m.id);
      if (!s) return;
      this.starting.delete(m.id);
      if (m.t === 'started') {
        this.running.set(m.id, s.remote);
        s.resolve(s.remote);
      } else {
        s.reject(new Error(m.message));
      }
      return;
    }
    const r = this.running.get(m.id);
    if (!r) return;
    if (m.t === 'end') {
      r.end(m.end);
    } else {
      this.running.delete(m.id);
      r.release();
    }
  }

  /** The thread exited (terminated or crashed): what it held ends and is released. */
  private gone(): void {
    this.alive = false;
    for (const s of this.starting.values()) s.resolve(null);
    this.starting.clear();
    for (const r of this.running.values()) {
      r.end({ outcome: 'aborted', detail: 'transfer thread exited' });
      r.release();
    }
    this.running.clear();
  }
}

export class TransferPool {
  private readonly lanes: Lane[] = [];
  private nextId = 1;

  constructor(
    private readonly size: number,
    private readonly sweepMs: number,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const url = new URL('./worker.js', import.meta.url);
    for (let i = 0; i < this.size; i++) {
      const lane = new Lane(url, this.sweepMs, this.log);
      this.lanes.push(lane);
      await new Promise<void>((resolve, reject) => {
        lane.worker.once('online', resolve);
        lane.worker.once('error', reject);
      });
    }
  }

  /** Whether a thread is there to take a transfer. */
  get available(): boolean {
    return this.lanes.some((l) => l.alive);
  }

  /**
   * Hands a transfer to the least busy thread: resolves once its sockets are bound (the transfer has begun), null if
   * the pool stopped meanwhile; rejects when the sockets could not be set up.
   */
  run(spec: Omit<WorkerBegin, 't' | 'id' | 'state'>, hooks: RemoteHooks): Promise<RemoteTransfer | null> {
    let lane: Lane | null = null;
    for (const l of this.lanes) if (l.alive && (lane === null || l.load < lane.load)) lane = l;
    if (lane === null) return Promise.resolve(null);
    const full: Omit<WorkerBegin, 't'> = { ...spec, id: this.nextId++, state: new SharedArrayBuffer(STATE_BYTES) };
    const remote = new RemoteTransfer(full, lane, hooks);
    const chosen = lane;
    return new Promise((resolve, reject) => {
      chosen.starting.set(full.id, { resolve, reject, remote });
      chosen.post({ t: 'begin', ...full });
    });
  }

  /** Waits (bounded) for every thread to release its transfers, then terminates the threads, last started first. */
  async stop(): Promise<void> {
    const deadline = Date.now() + RELEASE_WAIT_MS;
    while (this.lanes.some((l) => l.alive && l.load > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const lane of this.lanes.splice(0).reverse()) {
      if (lane.alive) await lane.worker.terminate();
    }
  }
}

// WAL checkpoints off the event loop. By default SQLite checkpoints inside the commit that takes the WAL past
// wal_autocheckpoint pages (1 000): that one write copies every page changed since the last checkpoint into the
// database file and fsyncs it, on the event loop, stalling every DHCP, TFTP and HTTP request behind it
// (docs/benchmarks.md "Install-script p99"). While a WalCheckpointer runs, a worker thread with its own connection
// runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs` after commits (PASSIVE never takes the write lock, so
// the event loop's writes go on meanwhile; once a checkpoint has caught up, the next commit starts the WAL file
// over from its beginning). The event loop's own automatic checkpoint stays armed at `boundPages`, far above what
// one interval writes: the bound on the WAL's size if the thread falls behind or fails. A failed thread is logged
// and the bound returns to SQLite's default, so the WAL stays as small as without the checkpointer.
// Durability is unchanged: commits reach the WAL file exactly as before (sqlite.ts, durability contract); a
// checkpoint only copies committed pages, and one cut short by a crash is redone by the next.

import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { CheckpointResult, CheckpointWorkerData } from './checkpoint-worker.js';

/** SQLite's default wal_autocheckpoint, in pages. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

export interface CheckpointerOptions {
  /** How often the thread checkpoints while there are new commits. Default 50 ms, measured against 250 ms in
   * bench/http (64 connections, same session, 4 rounds each): install p99 51 vs 76 ms (median), the event loop's worst
   * delay 28–43 vs 53–92 ms, for ~4× the pages copied on the thread (docs/benchmarks.md, "Install-script p99"). */
  intervalMs?: number;
  /** The event loop's own checkpoint threshold while the thread runs, in pages (4 KiB). Default 16 384 (64 MiB). */
  boundPages?: number;
}

/** What the registry hands its checkpointer: the connection, its file, and a count of its commits. */
export interface CheckpointTarget {
  db: Database.Database;
  path: string;
  synchronous: 'NORMAL' | 'FULL';
  commits(): number;
  log: Logger;
}

export interface CheckpointStats {
  /** Checkpoints the thread ran. */
  runs: number;
  /** Frames (pages) they copied into the database file. */
  pages: number;
  /** The longest one, ms (on the thread, not the event loop). */
  maxMs: number;
  /** Checkpoints that could not finish because a reader or writer held the WAL; redone at the next tick. */
  busy: number;
}

/** A service: start() spawns the thread, stop() ends it; both idempotent. A ':memory:' registry has no WAL. */
export class WalCheckpointer {
  private worker: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private seenCommits = -1;
  private readonly stats: CheckpointStats = { runs: 0, pages: 0, maxMs: 0, busy: 0 };

  constructor(
    private readonly target: CheckpointTarget,
    private readonly opts: CheckpointerOptions = {},
  ) {}

  get running(): boolean {
    return this.worker !== null;
  }

  snapshot(): CheckpointStats {
    return { ...this.stats };
  }

  start(): void {
    const { target } = this;
    if (this.worker !== null || target.path === ':memory:' || !target.db.open) return;
    const data: CheckpointWorkerData = { path: target.path, synchronous: target.synchronous };
    const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: data });
    worker.unref();
    worker.on('message', (r: CheckpointResult) => this.done(r));
    worker.on('error', (err) => this.failed(err));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.failed(new Error(`checkpoint thread exited (${code})`));
    });
    this.worker = worker;
    target.db.pragma(`wal_autocheckpoint = ${this.opts.boundPages ?? 16_384}`);
    this.seenCommits = target.commits();
    this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 50);
    this.timer.unref();
  }

  /** Ends the thread (it closes its connection first), so the registry's close() can remove the WAL. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const worker = this.worker;
    this.worker = null;
    if (worker === null) return;
    this.restoreDefault();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.ref(); // held until it has closed its connection
    worker.postMessage('close');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
  }

  private tick(): void {
    const commits = this.target.commits();
    if (this.worker === null || this.inFlight || commits === this.seenCommits) return;
    this.seenCommits = commits;
    this.inFlight = true;
    this.worker.postMessage('checkpoint');
  }

  private done(r: CheckpointResult): void {
    this.inFlight = false;
    if (!r.ok) {
      // A lock the checkpoint could not get (SQLITE_BUSY) is retried at the next tick; the next commit asks again.
      this.stats.busy++;
      this.seenCommits = -1;
      if (!/busy|locked/i.test(r.error)) this.target.log.warn('WAL checkpoint failed', { error: r.error });
      return;
    }
    this.stats.runs++;
    this.stats.pages += Math.max(0, r.checkpointed);
    this.stats.maxMs = Math.max(this.stats.maxMs, r.ms);
    if (r.busy !== 0 || r.checkpointed < r.log) {
      this.stats.busy++;
      this.seenCommits = -1;
    }
  }

  private failed(err: Error): void {
    this.target.log.warn('WAL checkpoint thread failed: checkpoints are back in the commit path', { err: err.message });
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.worker = null;
    this.inFlight = false;
    this.restoreDefault();
  }

  private restoreDefault(): void {
    if (this.target.db.open) this.target.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}

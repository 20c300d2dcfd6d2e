// The WAL checkpointer's thread (checkpoint.ts): its own connection to the registry file, a PASSIVE checkpoint on
// every message from the main thread, and the result posted back. Nothing else runs here.

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  path: string;
  synchronous: 'NORMAL' | 'FULL';
}

/** Posted back after each checkpoint: SQLite's wal_checkpoint row, or the error's message. */
export type CheckpointResult = { ok: true; busy: number; log: number; checkpointed: number; ms: number } | { ok: false; error: string };

const { path, synchronous } = workerData as CheckpointWorkerData;
// timeout 0: a checkpoint that cannot get a lock returns busy and is retried at the next tick, it never waits.
const db = new Database(path, { timeout: 0 });
db.pragma(`synchronous = ${synchronous}`);
// This connection never writes, so it never checkpoints on its own.
db.pragma('wal_autocheckpoint = 0');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

parentPort!.on('message', (msg: 'checkpoint' | 'close') => {
  if (msg === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  const t0 = performance.now();
  let result: CheckpointResult;
  try {
    const row = checkpoint.get() as { busy: number; log: number; checkpointed: number };
    result = { ok: true, ...row, ms: performance.now() - t0 };
  } catch (err) {
    result = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(result);
});

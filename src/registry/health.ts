// Registry health: checks run at open (before anything is written) and the probe behind /readyz.
//
// Open order (openRegistry): the schema version is read first, so a database written by a newer pxed is refused
// before this one changes a byte of it (not even the switch to WAL); then PRAGMA quick_check (a corrupt file is
// refused, not served half-working); after migrations a write probe (BEGIN IMMEDIATE, a scratch table, ROLLBACK)
// shows the file is writable: SQLite opens a read-only file read-only without an error, and the first real write
// (a DHCP observation) would only fail later.
//
// Busy timeouts (docs/security.md): the daemon opens with DAEMON_BUSY_TIMEOUT_MS. Every registry call runs on the
// event loop, so a write waiting for another process's lock stalls DHCP, TFTP and HTTP for that long; a short wait
// fails the one write (the request answers 500, the DHCP packet goes unanswered and the client retries) instead of
// freezing everything for seconds. The CLI keeps the longer default: it waits for the daemon's short transactions.

import type Database from 'better-sqlite3';
import { PxedError } from '../errors.js';

export const DAEMON_BUSY_TIMEOUT_MS = 200;

/** Throws REGISTRY_SCHEMA when the file was written by a newer pxed. Reads only. */
export function refuseNewerSchema(db: Database.Database, dbPath: string, supported: number): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > supported) {
    throw new PxedError('REGISTRY_SCHEMA', `registry ${dbPath} has schema version ${version}, newer than this pxed understands (${supported})`, {
      path: dbPath,
      version,
      supported,
    });
  }
}

/** Throws REGISTRY_CORRUPT unless PRAGMA quick_check says ok. Reads only. */
export function quickCheck(db: Database.Database, dbPath: string): void {
  const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
  const text = rows.map((r) => r.quick_check).join('; ');
  if (text !== 'ok') throw new PxedError('REGISTRY_CORRUPT', `registry ${dbPath} failed quick_check: ${text.slice(0, 300)}`, { path: dbPath });
}

/** null when a write transaction can be opened and rolled back; else why not. Leaves nothing behind. */
export function writeProbe(db: Database.Database): string | null {
  if (db.readonly) return 'opened read-only';
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    // Another process holding the lock (the CLI) is not a broken registry.
    return (err as { code?: unknown }).code === 'SQLITE_BUSY' ? null : (err as Error).message;
  }
  try {
    db.exec('CREATE TABLE pxed_write_probe (x INTEGER); INSERT INTO pxed_write_probe VALUES (1)');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    db.exec('ROLLBACK');
  }
}

/** Throws REGISTRY_IO when the write probe fails. */
export function requireWritable(db: Database.Database, dbPath: string): void {
  const why = writeProbe(db);
  if (why !== null) throw new PxedError('REGISTRY_IO', `registry ${dbPath} is not writable: ${why}`, { path: dbPath });
}

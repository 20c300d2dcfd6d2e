// The SQLite implementation of MachineRegistry (better-sqlite3 12, synchronous): openRegistry() and the class that
// answers the interface. Each table's statements live in their own module (machines, events, tokens, leases) over
// one SqliteStore (store.ts: statements, transactions, listeners, the machineGet cache); schema.ts holds the
// migrations, rows.ts the row shapes, checks.ts the argument checks and errors.
//
// Durability contract: a method that returned has committed. With journal_mode=WAL every commit is write()n to
// the -wal file before the call returns, so it lives in the OS page cache and survives the process being killed
// (kill -9, OOM, a crash) even with synchronous=NORMAL, which fsyncs only at checkpoints. What NORMAL can lose is
// the last few commits on power loss or a kernel crash (never corruption: the WAL is checksummed and a torn tail
// is discarded). synchronous=FULL also fsyncs the WAL on every commit, closing that window at the cost of one
// fsync per write, which caps the per-boot write path (token + state + events) at the disk's fsync rate.
// Default NORMAL: losing the last seconds of boot events on power loss is acceptable for a boot appliance
// (a machine mid-install then simply netboots again); pass `synchronous: 'FULL'` to trade speed for that window.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PxedError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import type { BootEvent, BootEventBody } from '../model/events.js';
import type { Machine, MachineCreate, MachinePatch, MachineState } from '../model/machine.js';
import { WalCheckpointer, type CheckpointerOptions } from './checkpoint.js';
import { asRegistryError } from './checks.js';
import * as events from './events.js';
import { quickCheck, refuseNewerSchema, requireWritable, writeProbe } from './health.js';
import * as leases from './leases.js';
import * as machines from './machines.js';
import * as retention from './retention.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { SqliteStore } from './store.js';
import * as tokens from './tokens.js';
import type { BootArm, BootToken, Lease, MachineRegistry } from './types.js';

export { SCHEMA_VERSION };

export interface RegistryOptions {
  /** See the durability contract above. Default 'NORMAL'. */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process's write lock before failing with REGISTRY_IO. Default 5000. */
  busyTimeoutMs?: number;
  /** Clock for timestamps (tests). Default `() => new Date()`. */
  now?: () => Date;
  /** Where a throwing event listener is reported. Default: warn-level JSON lines on stderr. */
  log?: Logger;
}

/** The methods' contracts are MachineRegistry's (types.ts); each one hands its store to its table's module. */
export class SqliteRegistry implements MachineRegistry {
  readonly path: string;
  private readonly store: SqliteStore;
  private readonly synchronous: 'NORMAL' | 'FULL';

  /** Prefer openRegistry(); the constructor takes an open handle and only assigns. */
  constructor(db: Database.Database, dbPath: string, opts: RegistryOptions = {}) {
    this.path = dbPath;
    this.synchronous = opts.synchronous === 'FULL' ? 'FULL' : 'NORMAL';
    this.store = new SqliteStore(db, opts.now ?? (() => new Date()), opts.log ?? createLogger({ level: 'warn' }).child({ subsystem: 'registry' }));
  }

  atomically<T>(fn: () => T): T {
    return this.store.atomically(fn);
  }

  // ---- machines ----

  machineGet(mac: string): Machine | null {
    return machines.machineGet(this.store, mac);
  }

  machineList(filter: { state?: MachineState } = {}): Machine[] {
    return machines.machineList(this.store, filter);
  }

  machineCreate(input: MachineCreate): Machine {
    return machines.machineCreate(this.store, input);
  }

  machineUpdate(mac: string, patch: MachinePatch): Machine {
    return machines.machineUpdate(this.store, mac, patch);
  }

  machineDelete(mac: string): boolean {
    return machines.machineDelete(this.store, mac);
  }

  machineTransition(mac: string, to: MachineState, reason: string, detail: Record<string, unknown> = {}): Machine {
    return machines.machineTransition(this.store, mac, to, reason, detail);
  }

  // ---- events ----

  eventAppend(mac: string, event: BootEventBody): BootEvent {
    return events.eventAppend(this.store, mac, event);
  }

  eventList(mac: string, opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    return events.eventList(this.store, mac, opts);
  }

  eventListAll(opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    return events.eventListAll(this.store, opts);
  }

  eventSubscribe(listener: (event: BootEvent) => void): () => void {
    return this.store.subscribe(listener);
  }

  // ---- tokens ----

  tokenInsert(token: BootToken): void {
    tokens.tokenInsert(this.store, token);
  }

  bootArm(arm: BootArm): void {
    tokens.bootArm(this.store, arm);
  }

  tokenGet(hash: string): BootToken | null {
    return tokens.tokenGet(this.store, hash);
  }

  tokenRevokeAll(mac: string, at?: string): number {
    return tokens.tokenRevokeAll(this.store, mac, at);
  }

  tokenLiveExists(mac: string, at: string): boolean {
    return tokens.tokenLiveExists(this.store, mac, at);
  }

  // ---- pruning ----

  machinePruneDiscovered(keep: number): string[] {
    return retention.machinePruneDiscovered(this.store, keep);
  }

  eventPruneMachine(mac: string, keep: number, batch: number): number {
    return retention.eventPruneMachine(this.store, mac, keep, batch);
  }

  eventPruneBefore(before: string, batch: number): number {
    return retention.eventPruneBefore(this.store, before, batch);
  }

  // ---- leases ----

  leaseGet(ip: string): Lease | null {
    return leases.leaseGet(this.store, ip);
  }

  leaseForMac(mac: string): Lease | null {
    return leases.leaseForMac(this.store, mac);
  }

  leaseList(): Lease[] {
    return leases.leaseList(this.store);
  }

  leaseUpsert(lease: Lease): void {
    leases.leaseUpsert(this.store, lease);
  }

  leaseDelete(ip: string): void {
    leases.leaseDelete(this.store, ip);
  }

  // ---- housekeeping ----

  /** A checkpointer for this registry (checkpoint.ts): WAL checkpoints on a thread while it runs. Not started. */
  walCheckpointer(opts: CheckpointerOptions = {}): WalCheckpointer {
    const { store } = this;
    return new WalCheckpointer({ db: store.db, path: this.path, synchronous: this.synchronous, commits: () => store.commits, log: store.log }, opts);
  }

  /** PRAGMA integrity_check: 'ok' or the problems found, one per line. */
  integrityCheck(): string {
    const { db } = this.store;
    return this.store.read('integrityCheck', () => (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('\n'));
  }

  /** null when the registry can still be written (the /readyz probe, health.ts); else why not. */
  healthProblem(): string | null {
    return this.store.db.open ? writeProbe(this.store.db) : 'closed';
  }

  /** Idempotent. Checkpoints the WAL (better-sqlite3 does on close), so a clean shutdown leaves one file. */
  close(): void {
    if (!this.store.db.open) return;
    try {
      this.store.db.close();
    } catch (err) {
      throw asRegistryError(err, 'close');
    }
  }
}

/**
 * Opens (creating if needed) the registry database at `dbPath` (':memory:' for tests), sets the pragmas and
 * applies pending migrations in one transaction. Throws REGISTRY_IO when the file cannot be opened or migrated,
 * REGISTRY_SCHEMA when it was written by a newer pxed.
 */
export function openRegistry(dbPath: string, opts: RegistryOptions = {}): SqliteRegistry {
  const memory = dbPath === ':memory:';
  let db: Database.Database | undefined;
  try {
    if (!memory) mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true, mode: 0o750 });
    db = new Database(dbPath, { timeout: opts.busyTimeoutMs ?? 5000 });
    // Before any write (health.ts): a newer schema or a corrupt file is refused untouched.
    refuseNewerSchema(db, dbPath, SCHEMA_VERSION);
    if (!memory) quickCheck(db, dbPath);
    // journal_mode cannot change inside a transaction; it is persistent in the file once set.
    if (!memory) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db, dbPath);
    requireWritable(db, dbPath);
  } catch (err) {
    try {
      db?.close();
    } catch {
      // already failing; the original error is the one to report
    }
    if (err instanceof PxedError) throw err;
    throw new PxedError('REGISTRY_IO', `cannot open registry ${dbPath}: ${(err as Error).message}`, { path: dbPath }, { cause: err });
  }
  return new SqliteRegistry(db, dbPath, opts);
}

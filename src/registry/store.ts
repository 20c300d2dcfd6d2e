// The connection under the registry: prepared statements, transactions, and what follows a commit (events handed to
// listeners, the machineGet cache kept true). The table modules (machines, events, tokens, leases) read through
// read() and write through write(); nothing else runs SQL.
//
// Writes run in BEGIN IMMEDIATE transactions, so a second process on the same file (the CLI next to the daemon)
// waits up to the busy timeout for the write lock instead of failing on a lock upgrade. Event listeners run after
// COMMIT, in this process only: events written by another process on the same file are not pushed here.

import type Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { BootEvent } from '../model/events.js';
import type { Machine } from '../model/machine.js';
import { parseMacOrThrow } from '../net/mac.js';
import { asRegistryError } from './checks.js';

/** At most this many MACs (present or absent) are cached by machineGet; past it the cache starts over. */
const MACHINE_CACHE_MAX = 10_000;

/** Commits by every registry connection of this process (see syncExternalVersion). */
let processCommits = 0;

export class SqliteStore {
  readonly db: Database.Database;
  private readonly now: () => Date;
  readonly log: Logger;
  private readonly listeners = new Set<(event: BootEvent) => void>();
  /** Events written by the transaction in progress; delivered to listeners after COMMIT, dropped on ROLLBACK. */
  private pending: BootEvent[] = [];
  private readonly statements = new Map<string, Database.Statement>();
  /** machineGet's cache (null = known absent); see cachedMachine. */
  private readonly machineCache = new Map<string, Machine | null>();
  private cacheVersion = -1;
  /** When `data_version` was last read (performance.now()) and whether that was in the current event-loop turn. */
  private versionReadAt = 0;
  private versionReadThisTurn = false;
  /** Commits by the process's other connections (processCommits - commitCount) when `data_version` was last read. */
  private versionReadAfter = -1;
  /** write() nesting (atomically() around other writes) and the machines the outermost write has touched. */
  private writeDepth = 0;
  private touched: string[] = [];
  /**
   * One better-sqlite3 transaction function for every write, made once: it runs the callback it is given
   * (db.transaction(fn) per write would build a new wrapper each time, a measurable share of a boot's write path).
   */
  private readonly txn: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Transactions this connection has committed (the WAL checkpointer's "anything new?", checkpoint.ts). */
  private commitCount = 0;

  /** Only assigns. */
  constructor(db: Database.Database, now: () => Date, log: Logger) {
    this.db = db;
    this.now = now;
    this.log = log;
    this.txn = db.transaction((fn: () => unknown) => fn());
  }

  /** Prepared statements are cached per SQL text (the hot paths run the same handful for every boot). */
  stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st as unknown as Database.Statement<P, R>;
  }

  /** Transactions committed through write() on this connection. */
  get commits(): number {
    return this.commitCount;
  }

  /** The injected clock as a column timestamp. */
  stamp(): string {
    return this.now().toISOString();
  }

  /** Listeners run synchronously after COMMIT; one that throws is logged and the others still run. */
  subscribe(listener: (event: BootEvent) => void): () => void {
    const entry = (e: BootEvent): void => listener(e);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Queues an event the transaction in progress wrote, for the listeners after its COMMIT. */
  queueEvent(event: BootEvent): void {
    this.pending.push(event);
  }

  /**
   * machineGet's read cache (every DHCP packet and script request asks): valid while neither this connection
   * (cleared on every write) nor another process (SQLite's `data_version` moves) has committed since. `load` reads
   * the canonical MAC's machine (null: absent); what it returns is cached and handed out as it is, so it is frozen.
   */
  cachedMachine(mac: string, load: (mac: string) => Machine | null): Machine | null {
    this.syncExternalVersion();
    // Cache keys are canonical MACs, so a hit needs no normalising (the common case: chaddr, ${net0/mac}).
    const hit = this.machineCache.get(mac);
    if (hit !== undefined) return hit;
    const m = parseMacOrThrow(mac);
    let machine = this.machineCache.get(m);
    if (machine === undefined) {
      machine = load(m);
      if (this.machineCache.size >= MACHINE_CACHE_MAX) this.machineCache.clear();
      this.machineCache.set(m, machine);
    }
    return machine;
  }

  /**
   * Clears the machine cache when another connection has committed. `data_version` is read again after any commit
   * by another connection of this process, and otherwise at most once per event-loop turn and millisecond (each read
   * is a read transaction: WAL lock syscalls). This connection's own commits do not move its `data_version` (SQLite's
   * contract) and drop what they change from the cache themselves (write()). Within one synchronous stretch another
   * process's commit cannot be told apart from one that lands just after it: any signal from that process arrives in
   * a later turn, or through a blocking call that takes longer than a millisecond.
   */
  private syncExternalVersion(): void {
    const now = performance.now();
    const othersCommits = processCommits - this.commitCount;
    if (this.versionReadThisTurn && now - this.versionReadAt < 1 && this.versionReadAfter === othersCommits) return;
    const version = this.stmt<[], number>('PRAGMA data_version').pluck().get() as number;
    if (version !== this.cacheVersion) {
      this.machineCache.clear();
      this.cacheVersion = version;
    }
    this.versionReadAt = now;
    this.versionReadAfter = othersCommits;
    if (!this.versionReadThisTurn) {
      this.versionReadThisTurn = true;
      setImmediate(() => {
        this.versionReadThisTurn = false;
      }).unref();
    }
  }

  /** Runs a read; a failure that is not already a PxedError becomes REGISTRY_IO. */
  read<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw asRegistryError(err, doing);
    }
  }

  /** MachineRegistry.atomically (types.ts). */
  atomically<T>(fn: () => T): T {
    // What fn throws comes out as it is (the writes inside have already made theirs PxedErrors); only a failure of
    // BEGIN or COMMIT itself becomes REGISTRY_IO.
    let thrown: { err: unknown } | null = null;
    try {
      return this.write('transaction', null, () => {
        try {
          return fn();
        } catch (err) {
          thrown = { err };
          throw err;
        }
      });
    } catch (err) {
      throw thrown === null ? err : (thrown as { err: unknown }).err;
    }
  }

  /**
   * Runs `fn` in BEGIN IMMEDIATE … COMMIT, then hands the events it wrote to the listeners. `machine`: the MAC whose
   * machines row `fn` may change (its machineGet cache entry is dropped), or null when `fn` changes no machines row.
   * Inside another write (atomically()), `fn` runs in a SAVEPOINT: a failed inner write is undone whole (its events
   * too) even if the caller catches its error, and the outermost write commits the rest.
   */
  write<T>(doing: string, machine: string | null, fn: () => T): T {
    if (this.writeDepth > 0) {
      // Dropped now, so a machineGet later in the transaction reads this write; and again by the outermost write after
      // its commit or rollback.
      if (machine !== null) {
        this.machineCache.delete(machine);
        this.touched.push(machine);
      }
      const queued = this.pending.length;
      try {
        return this.txn(fn) as T; // nested: better-sqlite3 uses SAVEPOINT / ROLLBACK TO
      } catch (err) {
        this.pending.length = queued;
        throw asRegistryError(err, doing);
      }
    }
    let result: T;
    this.pending = [];
    this.touched = machine === null ? [] : [machine];
    if (machine !== null) this.machineCache.delete(machine);
    this.writeDepth++;
    try {
      result = this.txn.immediate(fn) as T;
      processCommits++;
      this.commitCount++;
    } catch (err) {
      this.pending = [];
      throw asRegistryError(err, doing);
    } finally {
      this.writeDepth--;
      for (const m of this.touched) this.machineCache.delete(m);
      this.touched = [];
    }
    const committed = this.pending;
    this.pending = [];
    for (const event of committed) {
      for (const listener of [...this.listeners]) {
        try {
          listener(event);
        } catch (err) {
          this.log.warn('event listener threw', { err: err instanceof Error ? err : String(err), eventId: event.id, mac: event.mac });
        }
      }
    }
    return result;
  }
}

// The SQLite implementation of MachineRegistry (better-sqlite3 12, synchronous).
//
// Durability contract: a method that returned has committed. With journal_mode=WAL every commit is write()n to
// the -wal file before the call returns, so it lives in the OS page cache and survives the process being killed
// (kill -9, OOM, a crash) even with synchronous=NORMAL, which fsyncs only at checkpoints. What NORMAL can lose is
// the last few commits on power loss or a kernel crash (never corruption: the WAL is checksummed and a torn tail
// is discarded). synchronous=FULL also fsyncs the WAL on every commit, closing that window at the cost of one
// fsync per write, which caps the per-boot write path (token + state + events) at the disk's fsync rate.
// Default NORMAL: losing the last seconds of boot events on power loss is acceptable for a boot appliance
// (a machine mid-install then simply netboots again); pass `synchronous: 'FULL'` to trade speed for that window.
//
// Writes run in BEGIN IMMEDIATE transactions, so a second process on the same file (the CLI next to the daemon)
// waits up to busyTimeoutMs for the write lock instead of failing on a lock upgrade. Event listeners run after
// COMMIT, in this process only: events written by another process on the same file are not pushed here.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PxedError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { isBootEventKind, type BootEvent, type BootEventBody, type StateDetail } from '../model/events.js';
import {
  assertTransition,
  isMachineState,
  type InstallMode,
  type Machine,
  type MachineCreate,
  type MachineOverrides,
  type MachinePatch,
  type MachineState,
} from '../model/machine.js';
import { parseMacOrThrow } from '../net/mac.js';
import type { BootToken, Lease, MachineRegistry } from './types.js';
import { quickCheck, refuseNewerSchema, requireWritable, writeProbe } from './health.js';

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

/**
 * Schema migrations, applied in order at open; PRAGMA user_version records how many have run. Append only:
 * never edit a migration that has shipped, add a new one.
 */
const MIGRATIONS: readonly string[] = [
  // 1: machines, their events, per-boot tokens, DHCP leases. Timestamps are ISO-8601 UTC strings with
  // milliseconds (they sort as text). JSON columns are checked with json_valid.
  `
  CREATE TABLE machines (
    mac              TEXT NOT NULL PRIMARY KEY,
    host             TEXT,
    arch             INTEGER,
    firmware         TEXT,
    uuid             TEXT,
    vendor_class     TEXT,
    ip               TEXT,
    state            TEXT NOT NULL,
    install_mode     TEXT NOT NULL DEFAULT 'once',
    overrides        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(overrides)),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    state_changed_at TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX machines_state ON machines (state, mac);

  CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    mac    TEXT NOT NULL REFERENCES machines (mac) ON DELETE CASCADE,
    time   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
  ) STRICT;
  CREATE INDEX events_mac_id ON events (mac, id);

  CREATE TABLE tokens (
    hash       TEXT NOT NULL PRIMARY KEY,
    mac        TEXT NOT NULL REFERENCES machines (mac) ON DELETE CASCADE,
    boot_id    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX tokens_mac ON tokens (mac);

  CREATE TABLE leases (
    ip         TEXT NOT NULL PRIMARY KEY,
    mac        TEXT NOT NULL,
    hostname   TEXT,
    state      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX leases_mac ON leases (mac, updated_at);
  `,
  // 2: revoking a MAC's live tokens must not scan every token it ever had (one per install-script rendering).
  `
  CREATE INDEX tokens_live ON tokens (mac) WHERE revoked_at IS NULL;
  `,
  // 3: pruning a MAC's long-revoked tokens (at every arming) must not visit all of its tokens either; the index also
  // serves every lookup by mac, so the plain one goes.
  `
  CREATE INDEX tokens_mac_revoked ON tokens (mac, revoked_at);
  DROP INDEX IF EXISTS tokens_mac;
  `,
];

/** At most this many MACs (present or absent) are cached by machineGet; past it the cache starts over. */
const MACHINE_CACHE_MAX = 10_000;

/** Revoked tokens are kept this long (so a late installer request is still recognised and recorded), then pruned. */
const REVOKED_TOKEN_KEEP_MS = 30 * 24 * 3600 * 1000;

/** The schema version this build writes (number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length;

const LEASE_STATES: readonly Lease['state'][] = ['offered', 'bound', 'released', 'declined'];
const INSTALL_MODES: readonly InstallMode[] = ['once', 'always'];

interface MachineRow {
  mac: string;
  host: string | null;
  arch: number | null;
  firmware: string | null;
  uuid: string | null;
  vendor_class: string | null;
  ip: string | null;
  state: string;
  install_mode: string;
  overrides: string;
  created_at: string;
  updated_at: string;
  state_changed_at: string;
}
interface EventRow {
  id: number;
  mac: string;
  time: string;
  kind: string;
  detail: string;
}
interface TokenRow {
  hash: string;
  mac: string;
  boot_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}
interface LeaseRow {
  ip: string;
  mac: string;
  hostname: string | null;
  state: string;
  expires_at: string;
  updated_at: string;
}

function invalid(message: string, details?: Record<string, unknown>): PxedError {
  return new PxedError('REGISTRY_INVALID', message, details);
}

function notFound(mac: string): PxedError {
  return new PxedError('REGISTRY_NOT_FOUND', `no machine with MAC ${mac}`, { mac });
}

function toJson(value: unknown, what: string): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${what} must be an object`);
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw invalid(`${what} is not serialisable as JSON: ${(err as Error).message}`);
  }
}

function rowToMachine(r: MachineRow): Machine {
  return {
    mac: r.mac,
    host: r.host,
    state: r.state as MachineState,
    installMode: r.install_mode as InstallMode,
    arch: r.arch,
    firmware: r.firmware,
    uuid: r.uuid,
    vendorClass: r.vendor_class,
    ip: r.ip,
    overrides: JSON.parse(r.overrides) as MachineOverrides,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    stateChangedAt: r.state_changed_at,
  };
}

function freezeMachine(m: Machine): Machine {
  Object.freeze(m.overrides);
  return Object.freeze(m);
}

/** The entries of `detail` whose keys `base` does not have (a caller's detail never overrides from/to/reason). */
function withoutKeys(detail: Record<string, unknown>, base: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([k]) => !(k in base)));
}

/** Rows are written only through insertEvent, so kind and detail match the union. */
function rowToEvent(r: EventRow): BootEvent {
  return { id: r.id, mac: r.mac, time: r.time, kind: r.kind, detail: JSON.parse(r.detail) as unknown } as BootEvent;
}

function rowToToken(r: TokenRow): BootToken {
  return { hash: r.hash, mac: r.mac, bootId: r.boot_id, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at };
}

function rowToLease(r: LeaseRow): Lease {
  return { ip: r.ip, mac: r.mac, hostname: r.hostname, state: r.state as Lease['state'], expiresAt: r.expires_at, updatedAt: r.updated_at };
}

/** LIMIT argument: -1 is "no limit" in SQLite. */
function limitOf(limit: number | undefined): number {
  if (limit === undefined) return -1;
  if (!Number.isInteger(limit) || limit < 0) throw invalid(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

function afterOf(afterId: number | undefined): number {
  if (afterId === undefined) return 0;
  if (!Number.isInteger(afterId) || afterId < 0) throw invalid(`afterId must be a non-negative integer, got ${afterId}`);
  return afterId;
}

function checkInstallMode(mode: string): InstallMode {
  if (!(INSTALL_MODES as readonly string[]).includes(mode)) throw invalid(`installMode must be once or always, got ${mode}`);
  return mode as InstallMode;
}

/** Any failure that is not already a PxedError (SQLITE_BUSY, SQLITE_IOERR, a closed handle) becomes REGISTRY_IO. */
function asRegistryError(err: unknown, doing: string): PxedError {
  if (err instanceof PxedError) return err;
  const code = (err as { code?: unknown }).code;
  const msg = err instanceof Error ? err.message : String(err);
  return new PxedError('REGISTRY_IO', `registry ${doing} failed: ${msg}`, typeof code === 'string' ? { sqlite: code } : undefined, {
    cause: err,
  });
}

/** Commits by every registry connection of this process (see syncExternalVersion). */
let processCommits = 0;

export class SqliteRegistry implements MachineRegistry {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly listeners = new Set<(event: BootEvent) => void>();
  /** Events written by the transaction in progress; delivered to listeners after COMMIT, dropped on ROLLBACK. */
  private pending: BootEvent[] = [];
  private readonly statements = new Map<string, Database.Statement>();
  /** machineGet's cache (null = known absent); see machineGet. */
  private readonly machineCache = new Map<string, Machine | null>();
  private cacheVersion = -1;
  /** When `data_version` was last read (performance.now()) and whether that was in the current event-loop turn. */
  private versionReadAt = 0;
  private versionReadThisTurn = false;
  /** processCommits when `data_version` was last read. */
  private versionReadAfter = -1;
  /** write() nesting (atomically() around other writes) and the machines the outermost write has touched. */
  private writeDepth = 0;
  private touched: string[] = [];

  /** Prefer openRegistry(); the constructor takes an open handle and only assigns. */
  constructor(db: Database.Database, dbPath: string, opts: RegistryOptions = {}) {
    this.db = db;
    this.path = dbPath;
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? createLogger({ level: 'warn' }).child({ subsystem: 'registry' });
  }

  // ---- machines ----

  /**
   * Served from a read cache (every DHCP packet and script request asks): valid while neither this connection
   * (cleared on every write) nor another process (SQLite's `data_version` moves) has committed since. The cached
   * objects are frozen and handed out as they are.
   */
  machineGet(mac: string): Machine | null {
    try {
      this.syncExternalVersion();
      // Cache keys are canonical MACs, so a hit needs no normalising (the common case: chaddr, ${net0/mac}).
      const hit = this.machineCache.get(mac);
      if (hit !== undefined) return hit;
      const m = parseMacOrThrow(mac);
      let machine = this.machineCache.get(m);
      if (machine === undefined) {
        const r = this.stmt<[string], MachineRow>('SELECT * FROM machines WHERE mac = ?').get(m);
        machine = r ? freezeMachine(rowToMachine(r)) : null;
        if (this.machineCache.size >= MACHINE_CACHE_MAX) this.machineCache.clear();
        this.machineCache.set(m, machine);
      }
      return machine;
    } catch (err) {
      throw asRegistryError(err, 'machineGet');
    }
  }

  /**
   * Clears the machine cache when another connection has committed. `data_version` is read again after any commit
   * by a connection of this process, and otherwise at most once per event-loop turn and millisecond (each read is a
   * read transaction: WAL lock syscalls). Within one synchronous stretch another process's commit cannot be told
   * apart from one that lands just after it: any signal from that process arrives in a later turn, or through a
   * blocking call that takes longer than a millisecond.
   */
  private syncExternalVersion(): void {
    const now = performance.now();
    if (this.versionReadThisTurn && now - this.versionReadAt < 1 && this.versionReadAfter === processCommits) return;
    const version = this.stmt<[], number>('PRAGMA data_version').pluck().get() as number;
    if (version !== this.cacheVersion) {
      this.machineCache.clear();
      this.cacheVersion = version;
    }
    this.versionReadAt = now;
    this.versionReadAfter = processCommits;
    if (!this.versionReadThisTurn) {
      this.versionReadThisTurn = true;
      setImmediate(() => {
        this.versionReadThisTurn = false;
      }).unref();
    }
  }

  machineList(filter: { state?: MachineState } = {}): Machine[] {
    const { state } = filter;
    if (state !== undefined && !isMachineState(state)) throw invalid(`unknown machine state ${String(state)}`);
    return this.read('machineList', () => {
      const rows =
        state === undefined
          ? this.stmt<[], MachineRow>('SELECT * FROM machines ORDER BY mac').all()
          : this.stmt<[string], MachineRow>('SELECT * FROM machines WHERE state = ? ORDER BY mac').all(state);
      return rows.map(rowToMachine);
    });
  }

  machineCreate(input: MachineCreate): Machine {
    const mac = parseMacOrThrow(input.mac);
    const host = input.host ?? null;
    const state = input.state ?? (host === null ? 'discovered' : 'registered');
    if (state !== 'discovered' && state !== 'registered') throw invalid(`a new machine is discovered or registered, not ${String(state)}`);
    if (state === 'registered' && host === null) throw invalid(`machine ${mac}: registered needs an install entry (host)`, { mac });
    const installMode = checkInstallMode(input.installMode ?? 'once');
    const overrides = toJson(input.overrides ?? {}, 'overrides');
    return this.write('machineCreate', mac, () => {
      if (this.machineRow(mac)) throw new PxedError('REGISTRY_EXISTS', `machine ${mac} is already registered`, { mac });
      const t = this.stamp();
      this.stmt(
        `INSERT INTO machines (mac, host, arch, firmware, uuid, vendor_class, ip, state, install_mode, overrides,
           created_at, updated_at, state_changed_at)
         VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)`,
      ).run(mac, host, input.arch ?? null, input.firmware ?? null, input.uuid ?? null, input.vendorClass ?? null, state, installMode, overrides, t, t, t);
      this.insertEvent(mac, t, { kind: 'state', detail: { from: null, to: state, reason: 'created', ...(host === null ? {} : { host }) } });
      return rowToMachine(this.machineRow(mac)!);
    });
  }

  machineUpdate(mac: string, patch: MachinePatch): Machine {
    const m = parseMacOrThrow(mac);
    const sets: string[] = [];
    const args: (string | number | null)[] = [];
    const set = (column: string, value: string | number | null): void => {
      sets.push(`${column} = ?`);
      args.push(value);
    };
    if (patch.host !== undefined) set('host', patch.host);
    if (patch.installMode !== undefined) set('install_mode', checkInstallMode(patch.installMode));
    if (patch.arch !== undefined) set('arch', patch.arch);
    if (patch.firmware !== undefined) set('firmware', patch.firmware);
    if (patch.uuid !== undefined) set('uuid', patch.uuid);
    if (patch.vendorClass !== undefined) set('vendor_class', patch.vendorClass);
    if (patch.ip !== undefined) set('ip', patch.ip);
    if (patch.overrides !== undefined) set('overrides', toJson(patch.overrides, 'overrides'));
    return this.write('machineUpdate', m, () => {
      const row = this.machineRow(m);
      if (!row) throw notFound(m);
      if (patch.host === null && row.state !== 'discovered') {
        throw invalid(`machine ${m} is ${row.state}: only a discovered machine may have no install entry`, { mac: m });
      }
      set('updated_at', this.stamp());
      this.stmt(`UPDATE machines SET ${sets.join(', ')} WHERE mac = ?`).run(...args, m);
      return rowToMachine(this.machineRow(m)!);
    });
  }

  machineDelete(mac: string): boolean {
    const m = parseMacOrThrow(mac);
    return this.write('machineDelete', m, () => this.stmt('DELETE FROM machines WHERE mac = ?').run(m).changes > 0);
  }

  /**
   * Also enforces "only a discovered machine has no install entry", and moving to `registered` (reinstall)
   * revokes the machine's live tokens in the same transaction (the event detail says how many).
   */
  machineTransition(mac: string, to: MachineState, reason: string, detail: Record<string, unknown> = {}): Machine {
    const m = parseMacOrThrow(mac);
    if (!isMachineState(to)) throw invalid(`unknown machine state ${String(to)}`);
    toJson(detail, 'detail');
    return this.write('machineTransition', m, () => {
      const row = this.machineRow(m);
      if (!row) throw notFound(m);
      const from = row.state as MachineState;
      assertTransition(from, to, m);
      if (row.host === null) {
        throw new PxedError('LIFECYCLE_ILLEGAL', `machine ${m} has no install entry: set its host before it can be ${to}`, { from, to, mac: m });
      }
      const t = this.stamp();
      this.stmt('UPDATE machines SET state = ?, state_changed_at = ?, updated_at = ? WHERE mac = ?').run(to, t, t, m);
      const ev: StateDetail = { from, to, reason, ...(to === 'registered' ? { tokensRevoked: this.revokeTokens(m, t) } : {}) };
      this.insertEvent(m, t, { kind: 'state', detail: { ...ev, ...withoutKeys(detail, ev) } });
      return rowToMachine(this.machineRow(m)!);
    });
  }

  // ---- events ----

  eventAppend(mac: string, event: BootEventBody): BootEvent {
    const m = parseMacOrThrow(mac);
    if (!isBootEventKind((event as { kind?: unknown } | null)?.kind)) throw invalid(`unknown event kind ${JSON.stringify((event as { kind?: unknown } | null)?.kind)}`);
    toJson(event.detail, 'detail');
    return this.write('eventAppend', null, () => {
      if (!this.machineRow(m)) throw notFound(m);
      return this.insertEvent(m, this.stamp(), event);
    });
  }

  eventList(mac: string, opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    const m = parseMacOrThrow(mac);
    const after = afterOf(opts.afterId);
    const limit = limitOf(opts.limit);
    return this.read('eventList', () =>
      this.stmt<[string, number, number], EventRow>('SELECT * FROM events WHERE mac = ? AND id > ? ORDER BY id LIMIT ?')
        .all(m, after, limit)
        .map(rowToEvent),
    );
  }

  eventListAll(opts: { afterId?: number; limit?: number } = {}): BootEvent[] {
    const after = afterOf(opts.afterId);
    const limit = limitOf(opts.limit);
    return this.read('eventListAll', () =>
      this.stmt<[number, number], EventRow>('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(after, limit).map(rowToEvent),
    );
  }

  /** Listeners run synchronously after COMMIT; one that throws is logged and the others still run. */
  eventSubscribe(listener: (event: BootEvent) => void): () => void {
    const entry = (e: BootEvent): void => listener(e);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  // ---- tokens ----

  tokenInsert(token: BootToken): void {
    const mac = parseMacOrThrow(token.mac);
    if (!/^[0-9a-f]{64}$/.test(token.hash)) throw invalid('token hash must be 64 lower-case hex digits (sha256)');
    this.write('tokenInsert', null, () => {
      if (!this.machineRow(mac)) throw notFound(mac);
      if (this.stmt('SELECT 1 FROM tokens WHERE hash = ?').get(token.hash)) {
        throw new PxedError('REGISTRY_EXISTS', 'a token with this hash already exists', { mac });
      }
      this.stmt('INSERT INTO tokens (hash, mac, boot_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        token.hash,
        mac,
        token.bootId,
        token.createdAt,
        token.expiresAt,
        token.revokedAt,
      );
    });
  }

  tokenGet(hash: string): BootToken | null {
    return this.read('tokenGet', () => {
      const r = this.stmt<[string], TokenRow>('SELECT * FROM tokens WHERE hash = ?').get(hash);
      return r ? rowToToken(r) : null;
    });
  }

  tokenRevokeAll(mac: string, at?: string): number {
    const m = parseMacOrThrow(mac);
    return this.write('tokenRevokeAll', null, () => this.revokeTokens(m, at ?? this.stamp()));
  }

  // ---- leases ----

  leaseGet(ip: string): Lease | null {
    return this.read('leaseGet', () => {
      const r = this.stmt<[string], LeaseRow>('SELECT * FROM leases WHERE ip = ?').get(ip);
      return r ? rowToLease(r) : null;
    });
  }

  /** The MAC's most recently updated lease. */
  leaseForMac(mac: string): Lease | null {
    const m = parseMacOrThrow(mac);
    return this.read('leaseForMac', () => {
      const r = this.stmt<[string], LeaseRow>('SELECT * FROM leases WHERE mac = ? ORDER BY updated_at DESC, ip LIMIT 1').get(m);
      return r ? rowToLease(r) : null;
    });
  }

  leaseList(): Lease[] {
    return this.read('leaseList', () => this.stmt<[], LeaseRow>('SELECT * FROM leases ORDER BY ip').all().map(rowToLease));
  }

  leaseUpsert(lease: Lease): void {
    const mac = parseMacOrThrow(lease.mac);
    if (!LEASE_STATES.includes(lease.state)) throw invalid(`lease state must be one of ${LEASE_STATES.join(', ')}`);
    this.write('leaseUpsert', null, () => {
      this.stmt(
        `INSERT INTO leases (ip, mac, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (ip) DO UPDATE SET mac = excluded.mac, hostname = excluded.hostname, state = excluded.state,
           expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
      ).run(lease.ip, mac, lease.hostname, lease.state, lease.expiresAt, lease.updatedAt);
    });
  }

  leaseDelete(ip: string): void {
    this.write('leaseDelete', null, () => {
      this.stmt('DELETE FROM leases WHERE ip = ?').run(ip);
    });
  }

  // ---- housekeeping ----

  /** PRAGMA integrity_check: 'ok' or the problems found, one per line. */
  integrityCheck(): string {
    return this.read('integrityCheck', () =>
      (this.db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('\n'),
    );
  }

  /** null when the registry can still be written (the /readyz probe, health.ts); else why not. */
  healthProblem(): string | null {
    return this.db.open ? writeProbe(this.db) : 'closed';
  }

  /** Idempotent. Checkpoints the WAL (better-sqlite3 does on close), so a clean shutdown leaves one file. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.close();
    } catch (err) {
      throw asRegistryError(err, 'close');
    }
  }

  // ---- internals ----

  /** Prepared statements are cached per SQL text (the hot paths run the same handful for every boot). */
  private stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st as unknown as Database.Statement<P, R>;
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  private machineRow(mac: string): MachineRow | undefined {
    return this.stmt<[string], MachineRow>('SELECT * FROM machines WHERE mac = ?').get(mac);
  }

  private revokeTokens(mac: string, at: string): number {
    const cutoff = new Date(Date.parse(at) - REVOKED_TOKEN_KEEP_MS).toISOString();
    this.stmt('DELETE FROM tokens WHERE mac = ? AND revoked_at IS NOT NULL AND revoked_at < ?').run(mac, cutoff);
    return this.stmt('UPDATE tokens SET revoked_at = ? WHERE mac = ? AND revoked_at IS NULL').run(at, mac).changes;
  }

  private insertEvent(mac: string, time: string, body: BootEventBody): BootEvent {
    const json = toJson(body.detail, 'detail');
    const id = Number(this.stmt('INSERT INTO events (mac, time, kind, detail) VALUES (?, ?, ?, ?)').run(mac, time, body.kind, json).lastInsertRowid);
    const event = { id, mac, time, kind: body.kind, detail: JSON.parse(json) as unknown } as BootEvent;
    this.pending.push(event);
    return event;
  }

  private read<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw asRegistryError(err, doing);
    }
  }

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
  private write<T>(doing: string, machine: string | null, fn: () => T): T {
    if (this.writeDepth > 0) {
      // Dropped now, so a machineGet later in the transaction reads this write; and again by the outermost write after
      // its commit or rollback.
      if (machine !== null) {
        this.machineCache.delete(machine);
        this.touched.push(machine);
      }
      const queued = this.pending.length;
      try {
        return this.db.transaction(fn)(); // nested: better-sqlite3 uses SAVEPOINT / ROLLBACK TO
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
      result = this.db.transaction(fn).immediate();
      processCommits++;
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
    refuseNewerSchema(db, dbPath, MIGRATIONS.length);
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

function migrate(db: Database.Database, dbPath: string): void {
  // IMMEDIATE: two processes opening a fresh file at once serialise here, and the second sees version N.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new PxedError(
        'REGISTRY_SCHEMA',
        `registry ${dbPath} has schema version ${version}, newer than this pxed understands (${MIGRATIONS.length})`,
        { path: dbPath, version, supported: MIGRATIONS.length },
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

// The registry's schema: the migrations that build it, in order, and migrate(), which applies the pending ones at
// open. PRAGMA user_version records how many have run.

import type Database from 'better-sqlite3';
import { refuseNewerSchema } from './health.js';

/**
 * Schema migrations, applied in order at open. Append only: never edit a migration that has shipped, add a new one.
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
  // 4: tokens_mac_revoked serves "this MAC's live tokens" too (mac = ? AND revoked_at IS NULL is an equality on both
  // of its columns), so the partial index of migration 2 only cost a page write at every arming.
  `
  DROP INDEX IF EXISTS tokens_live;
  `,
];

/** The schema version this build writes (number of migrations). */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the pending migrations in one transaction. Throws REGISTRY_SCHEMA for a file from a newer pxed. */
export function migrate(db: Database.Database, dbPath: string): void {
  // IMMEDIATE: two processes opening a fresh file at once serialise here, and the second sees version N.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    // Checked again here: another process may have migrated the file since openRegistry's first look.
    refuseNewerSchema(db, dbPath, MIGRATIONS.length);
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

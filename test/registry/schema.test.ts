// src/registry/schema.ts on files: migrations idempotent and persisted (user_version, WAL, tables), the indexes the
// token writes use, and a database from a newer pxed refused.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openRegistry, SCHEMA_VERSION } from '../../src/registry/sqlite.js';
import { code, MAC, tempDir } from './helpers.js';

const tmp = tempDir('pxed-reg-');

void describe('schema and migrations', () => {
  void it('opens twice (migrations idempotent), persists across reopen, sets WAL and foreign keys', () => {
    const file = path.join(tmp(), 'nested', 'dir', 'reg.db');
    const a = openRegistry(file);
    a.machineCreate({ mac: MAC, host: 'a' });
    const b = openRegistry(file); // second open while the first is still open: no migration re-run
    assert.equal(b.machineGet(MAC)!.host, 'a');
    b.close();
    a.close();
    a.close(); // idempotent
    const c = openRegistry(file);
    assert.equal(c.machineList().length, 1);
    assert.equal(c.integrityCheck(), 'ok');
    c.close();
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(tables.filter((t) => !t.startsWith('sqlite_')), ['events', 'leases', 'machines', 'tokens']);
    } finally {
      raw.close();
    }
  });

  void it('token writes at arming reach only the rows they change through an index (no scan of a MAC\'s history)', () => {
    const file = path.join(tmp(), 'plans.db');
    openRegistry(file).close();
    const raw = new Database(file, { readonly: true });
    try {
      const plan = (sql: string): string =>
        (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('; ');
      // The statements revokeTokens runs, as written there.
      assert.match(plan("DELETE FROM tokens WHERE mac = 'm' AND revoked_at IS NOT NULL AND revoked_at < 't'"), /USING INDEX tokens_mac_revoked \(mac=\? AND revoked_at>\? AND revoked_at<\?\)/);
      assert.match(plan("UPDATE tokens SET revoked_at = 't' WHERE mac = 'm' AND revoked_at IS NULL"), /USING INDEX tokens_mac_revoked \(mac=\? AND revoked_at=\?\)/);
      assert.match(plan("SELECT 1 FROM tokens WHERE mac = 'm' AND revoked_at IS NULL AND expires_at > 't' LIMIT 1"), /USING INDEX tokens_mac_revoked \(mac=\? AND revoked_at=\?\)/);
      const indexes = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(indexes, ['tokens_mac_revoked'], 'one index on tokens besides its key: each one is a page write per arming');
    } finally {
      raw.close();
    }
  });

  void it('refuses a database from a newer pxed with REGISTRY_SCHEMA', () => {
    const file = path.join(tmp(), 'newer.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => openRegistry(file), code('REGISTRY_SCHEMA'));
  });

});

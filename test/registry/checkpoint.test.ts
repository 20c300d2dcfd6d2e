// WAL checkpoints on their own thread (src/registry/checkpoint.ts): while the checkpointer runs, the event loop's
// commits leave the checkpointing to the thread (their own automatic checkpoint only as a far bound); the thread
// copies the committed pages; stop() restores SQLite's default and a clean close still leaves one file.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { DEFAULT_AUTOCHECKPOINT_PAGES } from '../../src/registry/checkpoint.js';
import { openRegistry } from '../../src/registry/sqlite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-checkpoint-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const mac = (i: number): string => `52:54:00:c0:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

void test('the thread checkpoints the commits; the event loop only keeps a far bound; stop restores the default', async () => {
  const file = path.join(dir, 'reg.db');
  const reg = openRegistry(file);
  const db = (reg as unknown as { store: { db: Database.Database } }).store.db;
  const cp = reg.walCheckpointer({ intervalMs: 10, boundPages: 20_000 });
  cp.start();
  assert.equal(cp.running, true);
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 20_000);
  for (let i = 0; i < 300; i++) reg.machineCreate({ mac: mac(i), host: null, state: 'discovered' });
  for (let k = 0; k < 20 && cp.snapshot().pages === 0; k++) await new Promise((r) => setTimeout(r, 50));
  const s = cp.snapshot();
  assert.ok(s.runs > 0 && s.pages > 0, `the thread checkpointed (${JSON.stringify(s)})`);
  // Every commit is visible to another connection, checkpointed or not.
  const other = new Database(file, { readonly: true });
  assert.equal(other.prepare('SELECT count(*) FROM machines').pluck().get(), 300);
  other.close();
  await cp.stop();
  await cp.stop(); // idempotent
  assert.equal(cp.running, false);
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), DEFAULT_AUTOCHECKPOINT_PAGES);
  reg.close();
  assert.equal(fs.existsSync(`${file}-wal`), false, 'a clean close leaves one file');
  const again = openRegistry(file);
  assert.equal(again.integrityCheck(), 'ok');
  assert.equal(again.machineList().length, 300);
  again.close();
});

void test('an in-memory registry has no WAL: start() is a no-op', async () => {
  const reg = openRegistry(':memory:');
  const cp = reg.walCheckpointer();
  cp.start();
  assert.equal(cp.running, false);
  await cp.stop();
  reg.close();
});

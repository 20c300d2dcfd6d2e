// Issue 14 items 8 and 9: a newer-schema database is refused before anything is written to it; a corrupt one is
// refused at open (quick_check); the write probe behind /readyz; the daemon's short busy timeout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { DAEMON_BUSY_TIMEOUT_MS, writeProbe } from '../../src/registry/health.js';
import { SCHEMA_VERSION, openRegistry } from '../../src/registry/sqlite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-health-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

void test('a newer-schema database is refused and left byte-for-byte untouched (no switch to WAL)', () => {
  const file = path.join(dir, 'newer.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE t (x)');
  raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  raw.close();
  const before = fs.readFileSync(file);
  assert.throws(() => openRegistry(file), /newer than this pxed understands/);
  assert.ok(fs.readFileSync(file).equals(before), 'file unchanged');
  assert.equal(fs.existsSync(file + '-wal'), false, 'no WAL created');
});

void test('a corrupt database is refused at open (quick_check)', () => {
  const file = path.join(dir, 'corrupt.db');
  const reg = openRegistry(file);
  for (let i = 0; i < 400; i++) reg.machineCreate({ mac: `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, host: null, state: 'discovered' });
  reg.close();
  const buf = fs.readFileSync(file);
  const pageSize = buf.readUInt16BE(16);
  // Scribble over the second and third pages (b-tree pages of the tables), keep the header.
  buf.fill(0x5a, pageSize + 8, pageSize * 3);
  fs.writeFileSync(file, buf);
  assert.throws(() => openRegistry(file), (err: Error & { code?: string }) => err.code === 'REGISTRY_CORRUPT' || err.code === 'REGISTRY_IO');
});

void test('the write probe: ok on a writable registry, names the problem on a read-only one', () => {
  const file = path.join(dir, 'ok.db');
  const reg = openRegistry(file);
  assert.equal(reg.healthProblem(), null);
  assert.deepEqual(reg.machineList(), [], 'the probe left nothing behind');
  reg.close();
  const ro = new Database(file, { readonly: true });
  assert.match(writeProbe(ro) ?? '', /read-only/);
  ro.close();
});

void test('with another process holding the write lock, a daemon write fails within the short busy timeout', () => {
  const file = path.join(dir, 'busy.db');
  const reg = openRegistry(file, { busyTimeoutMs: DAEMON_BUSY_TIMEOUT_MS });
  const other = new Database(file);
  other.exec('BEGIN IMMEDIATE');
  const t0 = performance.now();
  assert.throws(() => reg.machineCreate({ mac: '52:54:00:14:00:08', host: null, state: 'discovered' }));
  const ms = performance.now() - t0;
  other.exec('ROLLBACK');
  other.close();
  assert.equal(reg.healthProblem(), null, 'a busy registry is not an unhealthy one');
  reg.close();
  assert.ok(ms < 1000, `the event loop was held ${ms.toFixed(0)} ms`);
});

// Issue 14 item 10: admin token file rules.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { resolveAdminToken } from '../../src/config/admin-token.js';
import { createLogger } from '../../src/log.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-token-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const lines: string[] = [];
const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
const fromFile = (file: string): string | null => resolveAdminToken({ token_file: file }, {}, log);
const mode = (f: string): number => fs.statSync(f).mode & 0o777;
const GOOD = 'k'.repeat(40);

void test('a group/other-readable token file is narrowed to 0600 and the log says so', () => {
  const f = path.join(dir, 'wide');
  fs.writeFileSync(f, GOOD + '\n', { mode: 0o644 });
  fs.chmodSync(f, 0o644);
  assert.equal(fromFile(f), GOOD);
  assert.equal(mode(f), 0o600);
  assert.ok(lines.some((l) => l.includes('narrowed to 0600')));
});

void test('an existing empty file is filled and fchmod()ed 0600', () => {
  const f = path.join(dir, 'empty');
  fs.writeFileSync(f, '', { mode: 0o666 });
  fs.chmodSync(f, 0o666);
  const t = fromFile(f)!;
  assert.ok(t.length >= 32);
  assert.equal(fs.readFileSync(f, 'utf8').trim(), t);
  assert.equal(mode(f), 0o600);
});

void test('short tokens and tokens with whitespace are refused (file and env)', () => {
  for (const bad of ['short', `${'a'.repeat(20)} ${'b'.repeat(20)}`]) {
    const f = path.join(dir, 'bad');
    fs.writeFileSync(f, bad + '\n', { mode: 0o600 });
    assert.throws(() => fromFile(f), /CONFIG_INVALID|admin token must/);
    assert.throws(() => resolveAdminToken({ token_env: 'T' }, { T: bad }, log), /admin token must/);
  }
  assert.equal(resolveAdminToken({ token_env: 'T' }, { T: GOOD }, log), GOOD);
});

void test('a dangling symlink is refused, its target never created', () => {
  const target = path.join(dir, 'nowhere', '..', 'target-missing');
  const link = path.join(dir, 'dangling');
  fs.symlinkSync(target, link);
  assert.throws(() => fromFile(link), /symlink/);
  assert.equal(fs.existsSync(target), false);
});

void test('a missing file is created 0600 with a long token', () => {
  const f = path.join(dir, 'sub', 'new.token');
  const t = fromFile(f)!;
  assert.ok(t.length >= 32 && !/\s/.test(t));
  assert.equal(mode(f), 0o600);
  assert.equal(fromFile(f), t, 'read back on the next start');
});

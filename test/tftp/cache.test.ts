// FileCache: hits only for the exact file version, bounded by size, one read for concurrent misses.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileCache } from '../../src/tftp/cache.js';

let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-cache-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

const stat = (file: string): fs.BigIntStats => fs.statSync(file, { bigint: true });

void it('second get of an unchanged file is a hit with the same bytes', async () => {
  const data = crypto.randomBytes(100_000);
  const file = write('a.bin', data);
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1 << 20 });
  const first = await cache.get(file, stat(file));
  const second = await cache.get(file, stat(file));
  assert.deepEqual(first, data);
  assert.equal(second, first, 'served from memory');
  assert.deepEqual(cache.stats(), { entries: 1, bytes: 100_000, hits: 1, misses: 1 });
});

void it('a file rewritten in place with the same size is read again', async () => {
  const file = write('same-size.bin', Buffer.alloc(4096, 1));
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1 << 20 });
  assert.equal((await cache.get(file, stat(file)))[0], 1);
  fs.writeFileSync(file, Buffer.alloc(4096, 2));
  const fresh = await cache.get(file, stat(file));
  assert.equal(fresh[0], 2);
  assert.equal(fresh.length, 4096);
  assert.equal(cache.stats().misses, 2);
  assert.equal(cache.stats().entries, 1, 'the old version is replaced, not kept beside');
});

void it('a file replaced by rename (new inode) or resized is read again', async () => {
  const file = write('swap.bin', Buffer.from('old contents'));
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1 << 20 });
  assert.equal((await cache.get(file, stat(file))).toString(), 'old contents');
  const tmp = write('swap.bin.tmp', Buffer.from('new contents'));
  fs.renameSync(tmp, file);
  assert.equal((await cache.get(file, stat(file))).toString(), 'new contents');
  fs.appendFileSync(file, '!');
  assert.equal((await cache.get(file, stat(file))).toString(), 'new contents!');
});

void it('concurrent misses for one file share a single read', async () => {
  const file = write('shared.bin', crypto.randomBytes(300_000));
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1 << 20 });
  const st = stat(file);
  const got = await Promise.all(Array.from({ length: 20 }, () => cache.get(file, st)));
  for (const b of got) assert.equal(b, got[0]);
  assert.equal(cache.stats().entries, 1);
});

void it('bounded: least recently used entries go first; files above the per-file limit are not taken', async () => {
  const cache = new FileCache({ maxBytes: 250_000, maxFileBytes: 200_000 });
  const f1 = write('l1.bin', crypto.randomBytes(100_000));
  const f2 = write('l2.bin', crypto.randomBytes(100_000));
  const f3 = write('l3.bin', crypto.randomBytes(100_000));
  await cache.get(f1, stat(f1));
  await cache.get(f2, stat(f2));
  await cache.get(f1, stat(f1)); // f1 is now the most recently used
  await cache.get(f3, stat(f3)); // over 250 000: f2 goes
  assert.deepEqual(cache.stats(), { entries: 2, bytes: 200_000, hits: 1, misses: 3 });
  await cache.get(f1, stat(f1));
  assert.equal(cache.stats().hits, 2, 'f1 stayed');
  await cache.get(f2, stat(f2));
  assert.equal(cache.stats().misses, 4, 'f2 was evicted');
  assert.equal(cache.accepts(200_000), true);
  assert.equal(cache.accepts(200_001), false);
  assert.equal(new FileCache({ maxBytes: 0, maxFileBytes: 1 << 20 }).accepts(1), false, 'maxBytes 0 disables it');
});

void it('a path that is no longer a regular file is an error, not a cached entry', async () => {
  const file = write('gone.bin', Buffer.from('x'));
  const st = stat(file);
  fs.rmSync(file);
  fs.mkdirSync(file);
  const cache = new FileCache({ maxBytes: 1 << 20, maxFileBytes: 1 << 20 });
  await assert.rejects(cache.get(file, st));
  assert.equal(cache.stats().entries, 0);
});

// FileSource (chunked reads with one chunk read ahead) and BufferSource, driven the way a transfer drives them:
// copy a block when available() covers it, otherwise await load().

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BufferSource, FileSource, type Source } from '../../src/tftp/source.js';

let dir: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-source-'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Reads the whole source in `blk`-byte blocks, like Transfer.pump does. */
async function drain(src: Source, blk: number): Promise<Buffer> {
  const out = Buffer.alloc(src.size);
  let pos = 0;
  while (pos < src.size) {
    const len = Math.min(blk, src.size - pos);
    while (src.available() < len) await src.load();
    src.copyTo(out, pos, len);
    pos += len;
  }
  assert.equal(src.available(), 0);
  return out;
}

void it('FileSource delivers every byte in order, blocks straddling chunk boundaries included', async () => {
  const data = crypto.randomBytes(1_000_003);
  const file = path.join(dir, 'f.bin');
  fs.writeFileSync(file, data);
  for (const [chunk, blk] of [[131072, 1468], [131072, 512], [4096, 4096], [1500, 1468], [65536, 65464], [2000000, 1468]] as const) {
    const src = new FileSource(await fsp.open(file), data.length, chunk);
    try {
      assert.ok((await drain(src, blk)).equals(data), `chunk ${chunk}, block ${blk}`);
    } finally {
      await src.close();
    }
  }
});

void it('FileSource reports a file that shrank during the transfer', async () => {
  const file = path.join(dir, 'shrinks.bin');
  fs.writeFileSync(file, crypto.randomBytes(50_000));
  const src = new FileSource(await fsp.open(file), 50_000, 8192);
  try {
    await src.load();
    fs.truncateSync(file, 10_000);
    await assert.rejects(drain(src, 1468), { code: 'TFTP_SOURCE_SHORT' });
  } finally {
    await src.close();
  }
});

void it('BufferSource delivers the buffer and needs no loading', async () => {
  const data = crypto.randomBytes(10_000);
  const src = new BufferSource(data);
  assert.equal(src.available(), 10_000);
  assert.ok((await drain(src, 1468)).equals(data));
  await src.close();
});

// A 100 MiB download at 512-byte blocks (204 800 blocks: the block number wraps to 0 three times), loopback only.
// The file is random in 1 MiB pieces plus a sparse hole, generated in a temp folder and deleted afterwards.

import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TftpService } from '../../src/tftp/server.js';

const run = promisify(execFile);
const SIZE = 100 * 1024 * 1024 + 1234;
let dir: string;
let svc: TftpService;
let digest: string;

async function sha256(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-large-'));
  const file = path.join(dir, 'big.bin');
  const fd = fs.openSync(file, 'w');
  const piece = crypto.randomBytes(1024 * 1024);
  for (let off = 0; off < SIZE; off += 4 * 1024 * 1024) {
    // Random 1 MiB, then a 3 MiB hole (sparse) with a few marker bytes, so every region differs.
    fs.writeSync(fd, piece, 0, Math.min(piece.length, SIZE - off), off);
    if (off + 2 * 1024 * 1024 < SIZE) fs.writeSync(fd, Buffer.from(`mark ${off}`), 0, undefined, off + 2 * 1024 * 1024);
  }
  fs.ftruncateSync(fd, SIZE);
  fs.closeSync(fd);
  digest = await sha256(file);
  svc = new TftpService({ listen: ['127.0.0.1'], port: 0, roots: [dir] });
  await svc.start();
});

after(async () => {
  await svc?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

void it('curl downloads 100 MiB at blksize 512 through block-number rollover, byte-identical', async () => {
  const out = path.join(dir, 'out.bin');
  await run('curl', ['-sS', '-o', out, `tftp://127.0.0.1:${svc.port}/big.bin`], { timeout: 120_000 });
  assert.equal(fs.statSync(out).size, SIZE);
  assert.equal(await sha256(out), digest);
  fs.rmSync(out);
});

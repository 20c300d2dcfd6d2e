// The storm's windowed TFTP client (test/storm/tftp.ts, EDK2-like, windowsize 4) against pxed's TFTP service on
// loopback, with a scripted loss of DATA packets: the pattern that deadlocked it in the 200-machine storm. Window 5..8:
// DATA 5 is lost (the client sees 6, 7, 8 out of order), then DATA 8 twice (the server's first re-send of the window
// brings 5, 6, 7; the client's timer re-sends its now stale ACK 4, which pxed ignores as a duplicate; the second
// re-send brings 5..8). A client that acknowledged only the first unexpected block of a window then held 8, kept
// sending ACK 4 and ignored pxed's re-sent 5..8 until it gave up; one that answers every unexpected block with an
// ACK of its last in-order block (as EDK2 does) finishes at once. Loss is applied to the DATA the process sends
// (only the server sends DATA), in this test's process only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TftpService } from '../../src/tftp/server.js';
import { tftpRead } from './tftp.js';

const BLKSIZE = 1468;
/** DATA block -> which of its sends (1-based) are lost. */
const LOSE: Record<number, number[]> = { 5: [1], 8: [1, 2] };

let dir: string;
let svc: TftpService;
const realSend = dgram.Socket.prototype.send;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-storm-window-'));
  const sent = new Map<number, number>();
  dgram.Socket.prototype.send = function (this: dgram.Socket, msg: unknown, ...rest: unknown[]): void {
    if (Buffer.isBuffer(msg) && msg.length >= 4 && msg.readUInt16BE(0) === 3) {
      const block = msg.readUInt16BE(2);
      const n = (sent.get(block) ?? 0) + 1;
      sent.set(block, n);
      if (LOSE[block]?.includes(n)) {
        const cb = rest.find((x): x is () => void => typeof x === 'function');
        if (cb) setImmediate(cb);
        return;
      }
    }
    (realSend as (...a: unknown[]) => void).call(this, msg, ...rest);
  } as typeof realSend;
  svc = new TftpService({ listen: ['127.0.0.1'], port: 0, roots: [dir], timeoutMs: 200 });
  await svc.start();
});

after(async () => {
  dgram.Socket.prototype.send = realSend;
  await svc?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('windowsize 4 under a stale-ACK loss pattern: the read finishes without a restart', async () => {
  const data = randomBytes(40 * BLKSIZE + 100);
  fs.writeFileSync(path.join(dir, 'snponly.efi'), data);
  const started = Date.now();
  const r = await tftpRead({
    localAddress: '127.0.0.1',
    server: '127.0.0.1',
    port: svc.port,
    file: 'snponly.efi',
    blksize: BLKSIZE,
    windowsize: 4,
    timeoutMs: 300,
    retries: 10,
    attempts: 1,
    deadline: Date.now() + 20_000,
  });
  assert.equal(r.sha256, createHash('sha256').update(data).digest('hex'));
  assert.equal(r.restarts, 0);
  assert.ok(Date.now() - started < 3000, `read took ${Date.now() - started} ms`);
});

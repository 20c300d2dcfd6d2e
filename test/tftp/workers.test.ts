// The in-process TFTP behaviour tests again with transfers in two worker threads (tftp.workers: 2): real clients,
// protocol details, hostile input, timeouts, caps, socket cleanup and stop() must be the same as in one thread.
// Plus what only the threaded path has: which transfers go to a thread, and that its sockets are counted.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { TftpTransferReport } from '../../src/tftp/ports.js';
import { TftpService } from '../../src/tftp/server.js';
import { waitFor } from '../helpers/netns.js';
import { tftpGet } from './client.js';

process.env.PXED_TEST_TFTP_WORKERS = '2';
await import('./server.test.js');
await import('./hostile.test.js');

void describe('transfer threads', () => {
  void it('serve cached and disk files from the threads, generated files in the main thread, with the same reports', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tftp-workers-'));
    const small = Buffer.alloc(5000, 7);
    const big = Buffer.alloc(200_000, 9);
    fs.writeFileSync(path.join(dir, 'small.bin'), small);
    fs.writeFileSync(path.join(dir, 'big.bin'), big);
    const reports: TftpTransferReport[] = [];
    const svc = new TftpService({
      listen: ['127.0.0.1'],
      port: 0,
      roots: [dir],
      workers: 2,
      cacheFileBytes: 10_000, // small.bin from the cache (shared memory), big.bin by descriptor
      policy: {
        tftpOpen: (p) => Promise.resolve(p === 'gen.txt' ? { stream: Readable.from([Buffer.from('generated')]), size: 9 } : null),
        tftpTransferred: (r) => reports.push(r),
      },
    });
    await svc.start();
    try {
      const [a, b, c] = await Promise.all([
        tftpGet({ host: '127.0.0.1', port: svc.port, file: 'small.bin', options: [['blksize', '1468']] }),
        tftpGet({ host: '127.0.0.1', port: svc.port, file: 'big.bin', options: [['blksize', '1468'], ['windowsize', '4']] }),
        tftpGet({ host: '127.0.0.1', port: svc.port, file: 'gen.txt' }),
      ]);
      assert.ok(a.data.equals(small) && b.data.equals(big) && c.data.toString() === 'generated');
      await waitFor('released', () => svc.stats().active === 0 && svc.stats().sockets === 1, 3000, 5);
      assert.deepEqual(reports.map((r) => [r.path, r.outcome, r.bytes]).sort(), [
        ['big.bin', 'complete', 200_000],
        ['gen.txt', 'complete', 9],
        ['small.bin', 'complete', 5000],
      ]);
      assert.deepEqual([svc.stats().completed, svc.stats().threaded], [3, 2], 'small.bin and big.bin in threads, gen.txt here');
    } finally {
      await svc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(svc.stats().sockets, 0);
  });
});

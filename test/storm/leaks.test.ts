// No file descriptor, socket or timer left behind: the daemon's services (buildApp, DHCP off, on 127.0.0.1) serve
// 500 TFTP reads and 500 HTTP script renders (a token minted and state written for each); afterwards the process
// has the same open descriptors (/proc/<pid>/fd) and the same active handles by type as after the warm-up.
// `npm run soak` is the long form (10 000 each, heap and RSS slopes).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/netns.js';
import { writeStormFiles, type StormFiles } from './daemon.js';
import { drive, SoakServer, type SoakStats } from './soak.js';

const MACHINES = 64;
const BOOT_FILE = 64 * 1024;
let files: StormFiles;
let server: SoakServer;

before(async () => {
  files = writeStormFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-leaks-')), MACHINES, { bootFile: BOOT_FILE, kernel: 4096, initrd: 4096 }, { tftpTimeoutMs: 1000, maxTransfers: 200 });
  server = await SoakServer.start(files.dir);
});

after(async () => {
  await server?.quit();
  if (files) fs.rmSync(files.dir, { recursive: true, force: true });
});

/** Stats once the server is idle: no transfer active and the fd count steady. */
async function idle(): Promise<SoakStats> {
  let s = await server.stats();
  await waitFor('the server to go idle', async () => {
    const prev = s;
    await new Promise((r) => setTimeout(r, 200));
    s = await server.stats();
    return s.tftp.active === 0 && s.fds === prev.fds && JSON.stringify(s.resources) === JSON.stringify(prev.resources);
  }, 15_000, 0);
  return s;
}

void test('500 TFTP reads and 500 script renders leave no fd, socket or timer behind', async () => {
  await drive(server, 20, 20, MACHINES, BOOT_FILE); // warm-up: file cache, prepared statements, lazy modules
  const before = await idle();
  const fdsBefore = fs.readdirSync(`/proc/${server.pid}/fd`).length;
  const r = await drive(server, 500, 500, MACHINES, BOOT_FILE);
  assert.equal(r.tftpBytes, 500 * BOOT_FILE);
  assert.equal(r.statuses[200], 500, `every render answered 200: ${JSON.stringify(r.statuses)}`);
  const afterwards = await idle();
  assert.equal(fs.readdirSync(`/proc/${server.pid}/fd`).length, fdsBefore, '/proc/<pid>/fd count unchanged');
  assert.equal(afterwards.fds, before.fds);
  assert.deepEqual(afterwards.resources, before.resources, 'the same active handles by type (sockets, timers, ...)');
  assert.equal(afterwards.tftp.sockets, before.tftp.sockets, 'only the TFTP listener is open');
});

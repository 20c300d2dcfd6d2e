// `npm run soak`: 10 000 TFTP reads and 10 000 HTTP script renders (PXED_SOAK_COUNT overrides) against the daemon's
// services in their own process (test/storm/soak-server.ts), in 10 rounds; after each round (and a GC) the server's
// heap, RSS, open fds and active handles are read. Prints the per-round figures, the least-squares slopes of heap and
// RSS (MB per 1 000 operations of each kind) and whether fds/handles came back to their starting values.
// No root needed (127.0.0.1, OS-chosen ports). Bounded by the counts; the server is stopped at the end.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeStormFiles } from '../../test/storm/daemon.js';
import { drive, SoakServer, type SoakStats } from '../../test/storm/soak.js';

const COUNT = Number(process.env.PXED_SOAK_COUNT ?? 10_000);
const ROUNDS = 10;
const MACHINES = 256;
const BOOT_FILE = 64 * 1024;

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, x) => a + x, 0) / n;
  const my = ys.reduce((a, y) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-soak-'));
writeStormFiles(dir, MACHINES, { bootFile: BOOT_FILE, kernel: 4096, initrd: 4096 }, { tftpTimeoutMs: 1000, maxTransfers: 200 });
const server = await SoakServer.start(dir);
try {
  await drive(server, 50, 50, MACHINES, BOOT_FILE); // warm-up
  const first: SoakStats = await server.stats();
  const done: number[] = [0];
  const stats: SoakStats[] = [first];
  const t0 = performance.now();
  const per = Math.ceil(COUNT / ROUNDS);
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await drive(server, per, per, MACHINES, BOOT_FILE);
    await new Promise((res) => setTimeout(res, 500)); // let closing sockets finish closing
    const s = await server.stats();
    done.push(round * per);
    stats.push(s);
    console.error(`round ${round}: ${round * per} each, heap ${s.heapMb.toFixed(1)} MB, RSS ${s.rssMb.toFixed(1)} MB, fds ${s.fds}, TFTP active ${s.tftp.active}, renders ${JSON.stringify(r.statuses)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const k = done.map((d) => d / 1000);
  const last = stats.at(-1)!;
  console.log(`soak: ${done.at(-1)} TFTP reads (${BOOT_FILE / 1024} KiB) + ${done.at(-1)} script renders in ${seconds.toFixed(0)} s, Node ${process.version}, ${os.cpus().length} vCPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')}`);
  console.log(`heap after GC: ${first.heapMb.toFixed(1)} → ${last.heapMb.toFixed(1)} MB, slope ${slope(k, stats.map((s) => s.heapMb)).toFixed(3)} MB per 1 000 of each`);
  console.log(`RSS: ${first.rssMb.toFixed(1)} → ${last.rssMb.toFixed(1)} MB, slope ${slope(k, stats.map((s) => s.rssMb)).toFixed(3)} MB per 1 000 of each`);
  console.log(`fds: ${first.fds} → ${last.fds}; active handles ${JSON.stringify(first.resources)} → ${JSON.stringify(last.resources)}; TFTP sockets ${first.tftp.sockets} → ${last.tftp.sockets}`);
} finally {
  await server.quit();
  fs.rmSync(dir, { recursive: true, force: true });
}

// One fuzz session over a fresh FuzzApp: DHCP, TFTP and HTTP in turn, then liveness (a real TFTP read and an HTTP
// request still answered, every TFTP transfer ended). An uncaught exception or unhandled rejection during the
// session is a finding too (saved with the last inputs' protocol). Used by fuzz.test.ts (short) and main.ts (long).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../helpers/netns.js';
import { tftpGet } from '../tftp/client.js';
import { writeStormFiles } from '../storm/daemon.js';
import { FuzzApp, type Finding } from './harness.js';
import { fuzzDhcp, fuzzHttp, fuzzTftp } from './protocols.js';

export interface FuzzCounts {
  dhcp: number;
  tftp: number;
  http: number;
}

export interface FuzzReport {
  ran: FuzzCounts;
  seconds: FuzzCounts;
  findings: Finding[];
}

const MACHINES = 16;

export async function fuzzSession(counts: FuzzCounts, seed: number, log: (s: string) => void = () => undefined): Promise<FuzzReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-fuzz-'));
  writeStormFiles(dir, MACHINES, { bootFile: 8192, kernel: 4096, initrd: 4096 }, { tftpTimeoutMs: 200, maxTransfers: 200 });
  const f = await FuzzApp.start(dir);
  let current = 'setup';
  const onCrash = (err: unknown): void => {
    f.record(current, -1, `uncaught: ${err instanceof Error ? err.stack : String(err)}`, '');
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const ran: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
  const seconds: FuzzCounts = { dhcp: 0, tftp: 0, http: 0 };
  const timed = async (name: keyof FuzzCounts, fn: () => number | Promise<number>): Promise<void> => {
    current = name;
    const t0 = performance.now();
    ran[name] = await fn();
    seconds[name] = (performance.now() - t0) / 1000;
    log(`${name}: ${ran[name]} inputs in ${seconds[name].toFixed(1)} s, findings so far ${f.findings.length}`);
  };
  try {
    await timed('dhcp', () => fuzzDhcp(f, counts.dhcp, seed, MACHINES));
    await timed('tftp', () => fuzzTftp(f, counts.tftp, seed));
    await timed('http', () => fuzzHttp(f, counts.http, seed));
    current = 'liveness';
    const read = await tftpGet({ host: '127.0.0.1', port: f.app.tftp!.port, file: 'undionly.kpxe', timeoutMs: 500, retries: 5 });
    if (read.bytes !== 8192) f.record('tftp', -1, `liveness: read ${read.bytes} bytes`, '');
    const res = await f.http.inject({ method: 'GET', url: '/healthz' });
    if (res.statusCode !== 200) f.record('http', -1, `liveness: /healthz ${res.statusCode}`, '');
    await waitFor('every TFTP transfer to end', () => f.app.tftp!.stats().active === 0, 30_000, 100);
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await f.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { ran, seconds, findings: f.findings };
}

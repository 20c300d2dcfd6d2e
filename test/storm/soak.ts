// Drives the soak server (soak-server.ts, a child process): TFTP reads of the boot file and HTTP script renders
// (`GET /ipxe/<mac>` for registered machines, install mode always: a token minted and state written per request),
// with the server's own fd count, active handles, heap and RSS read between rounds. Used by the fd-leak test and
// `npm run soak`. Every wait is bounded.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { distRoot } from '../helpers/paths.js';
import { tftpGet } from '../tftp/client.js';
import { machineMac } from './rack.js';

export interface SoakStats {
  fds: number;
  resources: Record<string, number>;
  heapMb: number;
  rssMb: number;
  tftp: { active: number; sockets: number };
}

export class SoakServer {
  private readonly lines: string[] = [];
  private waiter: ((line: string) => void) | null = null;

  private constructor(
    readonly child: ChildProcess,
    readonly tftpPort: number,
    readonly httpPort: number,
  ) {}

  static async start(dir: string): Promise<SoakServer> {
    const child = spawn(process.execPath, ['--expose-gc', path.join(distRoot, 'test', 'storm', 'soak-server.js'), JSON.stringify({ dir })], { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = readline.createInterface({ input: child.stdout! });
    const first = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('soak server did not start')), 30_000);
      rl.once('line', (l) => {
        clearTimeout(t);
        resolve(l);
      });
      child.once('exit', (code) => reject(new Error(`soak server exited ${code}`)));
    });
    const { tftp, http: httpPort } = JSON.parse(first) as { tftp: number; http: number };
    const s = new SoakServer(child, tftp, httpPort);
    rl.on('line', (l) => {
      if (s.waiter) {
        const w = s.waiter;
        s.waiter = null;
        w(l);
      } else s.lines.push(l);
    });
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  stats(): Promise<SoakStats> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no stats from the soak server')), 10_000);
      this.waiter = (l) => {
        clearTimeout(t);
        resolve(JSON.parse(l) as SoakStats);
      };
      this.child.stdin!.write('stats\n');
    });
  }

  async quit(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (c) => resolve(c)));
    this.child.stdin!.write('quit\n');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(t);
    return code;
  }
}

function render(port: number, mac: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/ipxe/${mac}?buildarch=x86_64&platform=efi`, agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('render timed out')));
    req.on('error', reject);
  });
}

/** `count` jobs, `concurrency` at a time. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

export interface DriveResult {
  tftpBytes: number;
  statuses: Record<number, number>;
}

/** `tftp` reads of undionly.kpxe and `renders` script requests over `machines` MACs, interleaved. */
export async function drive(s: SoakServer, tftp: number, renders: number, machines: number, expectBytes: number): Promise<DriveResult> {
  const out: DriveResult = { tftpBytes: 0, statuses: {} };
  await Promise.all([
    pool(tftp, 8, async () => {
      const r = await tftpGet({ host: '127.0.0.1', port: s.tftpPort, file: 'undionly.kpxe', options: [['blksize', '1468']], keep: false, timeoutMs: 1000, retries: 5 });
      if (r.bytes !== expectBytes) throw new Error(`TFTP read ${r.bytes} bytes, expected ${expectBytes}`);
      out.tftpBytes += r.bytes;
    }),
    pool(renders, 8, async (i) => {
      const status = await render(s.httpPort, machineMac(i % machines));
      out.statuses[status] = (out.statuses[status] ?? 0) + 1;
    }),
  ]);
  return out;
}

// The daemon side of the boot storm: a config for `pxed serve` with N registered Ubuntu hosts, its TFTP boot files
// and HTTP assets (random bytes of the chosen sizes; their SHA-256 is what every machine must receive), and the
// real daemon started in the storm's server namespace. Samples of its RSS (from /proc), heap and event-loop delay
// (its own /metrics, scraped inside the namespace) are taken while it runs.

import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { killGroup, waitFor } from '../helpers/netns.js';
import { cliMain } from '../helpers/paths.js';
import { machineMac } from './rack.js';
import { STORM_NET, type StormNet } from './net.js';
import type { ChildProcess } from 'node:child_process';

const run = promisify(execFile);
export const HTTP_PORT = 8080;

export interface StormSizes {
  bootFile: number;
  kernel: number;
  initrd: number;
}

export interface StormFiles {
  dir: string;
  config: string;
  db: string;
  /** Boot file name / asset URL path → SHA-256. */
  expected: Record<string, string>;
  tftpRoot: string;
  assetRoot: string;
}

export const hostName = (i: number): string => `storm-${String(i).padStart(4, '0')}`;
const ASSET = { kernel: 'ubuntu/24.04/vmlinuz', initrd: 'ubuntu/24.04/initrd' } as const;

/** Writes random content of `size` bytes in 1 MiB pieces; returns its SHA-256. */
function randomFile(file: string, size: number): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    for (let off = 0; off < size; off += 1 << 20) {
      const piece = randomBytes(Math.min(1 << 20, size - off));
      hash.update(piece);
      fs.writeSync(fd, piece);
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

export interface DaemonTuning {
  tftpTimeoutMs: number;
  maxTransfers: number;
}

export function writeStormFiles(dir: string, machines: number, sizes: StormSizes, tuning: DaemonTuning): StormFiles {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755); // dnsmasq and nginx (the reference) read these as nobody
  const tftpRoot = path.join(dir, 'tftp');
  const assetRoot = path.join(dir, 'assets');
  const expected: Record<string, string> = {};
  // The two boot files are different bytes of the same size (a lock-step ROM and EDK2 fetch different files).
  expected['undionly.kpxe'] = randomFile(path.join(tftpRoot, 'undionly.kpxe'), sizes.bootFile);
  expected['snponly.efi'] = randomFile(path.join(tftpRoot, 'snponly.efi'), sizes.bootFile + 4099);
  expected[`/assets/${ASSET.kernel}`] = randomFile(path.join(assetRoot, ASSET.kernel), sizes.kernel);
  expected[`/assets/${ASSET.initrd}`] = randomFile(path.join(assetRoot, ASSET.initrd), sizes.initrd);
  const base = `http://${STORM_NET.server}:${HTTP_PORT}/assets`;
  const defaults = {
    images: { ubuntu: { '24.04': { iso_url: `${base}/ubuntu/24.04/live-server.iso`, kernel_url: `${base}/${ASSET.kernel}`, initrd_url: `${base}/${ASSET.initrd}` } } },
  };
  const vms = Array.from({ length: machines }, (_, i) => ({ name: hostName(i), hypervisor: 'baremetal', boot_method: 'pxe', baremetal: { mac: machineMac(i) } }));
  const installs = Object.fromEntries(Array.from({ length: machines }, (_, i) => [hostName(i), { os: 'ubuntu', version: '24.04' }]));
  const prov = path.join(dir, 'provisioning');
  fs.mkdirSync(prov, { recursive: true });
  fs.writeFileSync(path.join(prov, 'defaults.yaml'), stringify(defaults));
  fs.writeFileSync(path.join(prov, 'vm_specs.yaml'), stringify({ vms }));
  fs.writeFileSync(path.join(prov, 'install_config.yaml'), stringify({ installs }));
  fs.writeFileSync(path.join(dir, 'admin.token'), `${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const db = path.join(dir, 'pxed.db');
  const cfg = {
    server: { interface: 'eth0', address: STORM_NET.server },
    dhcp: { enabled: true, mode: 'proxy', uefi_strategy: 'binl' },
    tftp: { enabled: true, roots: [tftpRoot], timeout_ms: tuning.tftpTimeoutMs, max_transfers: tuning.maxTransfers },
    http: { listen: STORM_NET.server, port: HTTP_PORT, asset_roots: [assetRoot] },
    registry: { database: db },
    admin: { token_file: path.join(dir, 'admin.token') },
    policy: { unknown_macs: 'ignore', install_mode: 'once', install_watchdog_minutes: 60, token_ttl_minutes: 30 },
    provisioning: {
      defaults: path.join(prov, 'defaults.yaml'),
      vm_specs: path.join(prov, 'vm_specs.yaml'),
      install_config: path.join(prov, 'install_config.yaml'),
    },
    log: { level: 'info' },
  };
  const config = path.join(dir, 'pxed.yaml');
  fs.writeFileSync(config, stringify(cfg));
  return { dir, config, db, expected, tftpRoot, assetRoot };
}

/** CPU seconds (user + system) process `pid` has used (Linux clock ticks are 1/100 s); null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

export interface DaemonSample {
  t: number;
  rssMb: number;
  /** CPU seconds the daemon has used since it started. */
  cpuS: number | null;
  heapMb: number | null;
  /** prom-client's event-loop delay p99 over the last scrape interval, in ms. */
  loopP99Ms: number | null;
  loopMaxMs: number | null;
}

export class StormDaemon {
  readonly samples: DaemonSample[] = [];
  private sampler: NodeJS.Timeout | null = null;
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly log: string,
    private readonly net: StormNet,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Starts `pxed serve` in the server namespace; resolves once it logs that it is ready (bounded). */
  static async start(net: StormNet, files: StormFiles, logName = 'pxed.log'): Promise<StormDaemon> {
    const log = path.join(files.dir, logName);
    const fd = fs.openSync(log, 'a');
    const child = net.srv.spawn(process.execPath, [cliMain, 'serve', '--config', files.config], { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    const d = new StormDaemon(child, log, net);
    let code: number | null | undefined;
    void d.exited.then((c) => (code = c));
    await waitFor('pxed serve to be ready', () => {
      if (code !== undefined) throw new Error(`pxed serve exited ${code}: ${fs.readFileSync(log, 'utf8').slice(-4000)}`);
      return fs.readFileSync(log, 'utf8').includes('pxed ready');
    }, 30_000, 100);
    return d;
  }

  /** Samples every `everyMs` until stop()/kill(). */
  startSampling(everyMs = 1000): void {
    const t0 = Date.now();
    const take = async (): Promise<void> => {
      let rssMb: number;
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'));
        rssMb = Number(m?.[1]) / 1024;
      } catch {
        return;
      }
      const s: DaemonSample = { t: (Date.now() - t0) / 1000, rssMb, cpuS: cpuSeconds(this.pid), heapMb: null, loopP99Ms: null, loopMaxMs: null };
      try {
        const { stdout } = await run('ip', ['netns', 'exec', this.net.srv.name, 'curl', '-sS', '--max-time', '2', `http://${STORM_NET.server}:${HTTP_PORT}/metrics`], { timeout: 5000 });
        const metric = (name: string): number | null => {
          const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(stdout);
          return m ? Number(m[1]) : null;
        };
        const heap = metric('nodejs_heap_size_used_bytes');
        const p99 = metric('nodejs_eventloop_lag_p99_seconds');
        const max = metric('nodejs_eventloop_lag_max_seconds');
        s.heapMb = heap === null ? null : heap / 2 ** 20;
        s.loopP99Ms = p99 === null ? null : p99 * 1000;
        s.loopMaxMs = max === null ? null : max * 1000;
      } catch {
        /* a scrape that did not answer in time leaves the sample without heap/loop figures */
      }
      this.samples.push(s);
    };
    const tick = (): void => {
      void take().finally(() => {
        if (this.sampler !== null) this.sampler = setTimeout(tick, everyMs);
      });
    };
    this.sampler = setTimeout(tick, 0);
  }

  private stopSampling(): void {
    if (this.sampler !== null) clearTimeout(this.sampler);
    this.sampler = null;
  }

  /** SIGTERM (graceful stop); resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.stopSampling();
    await killGroup(this.child, 10_000);
    return this.exited;
  }

  /** SIGKILL, no warning: the crash test. */
  async kill9(): Promise<void> {
    this.stopSampling();
    process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }
}

// What the storm's shaped link can carry: HTTP downloads from nginx (the reference's static server) in the storm's
// server namespace by curl in the machines' namespace, one stream and then `--streams` at once (each from its own
// machine address), over the same link as bench/storm/run.ts (5 % loss, 2 ms ± 1 ms; netem or the C bridge), and
// once more with no loss or delay (the bridge's own ceiling). Prints MB/s per case and the bridge's CPU seconds.
// With --pxed the same downloads come from `pxed serve`'s /assets (lossy link only), with the daemon's peak RSS and CPU.
// Run as root after building: node dist/bench/storm/link.js [--mib 64] [--streams 50] [--pxed]
// Bounded: every curl has --max-time; namespaces and processes are removed at the end.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { killGroup, waitFor } from '../../test/helpers/netns.js';
import { cpuSeconds, HTTP_PORT, StormDaemon, writeStormFiles } from '../../test/storm/daemon.js';
import { machineAddress, StormNet, STORM_NET, type Shaping } from '../../test/storm/net.js';
import { nginxConf } from './reference.js';

const run = promisify(execFile);
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const MIB = arg('mib', 64);
const STREAMS = arg('streams', 50);
const PXED = process.argv.includes('--pxed');

/** Peak VmRSS (MB) of `pid`, polled every 100 ms until stop() is called. */
function rssPeak(pid: number): () => number {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
    } catch {
      /* gone */
    }
  }, 100);
  return () => {
    clearInterval(t);
    return peak;
  };
}


async function measure(shaping: Shaping, label: string, dir: string): Promise<string[]> {
  const net = await StormNet.create(STREAMS, shaping);
  const out: string[] = [];
  try {
    const www = path.join(dir, 'www');
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, nginxConf(dir, www, path.join(dir, 'assets')));
    const files = PXED ? writeStormFiles(path.join(dir, 'pxed'), STREAMS, { bootFile: 4096, kernel: 4096, initrd: MIB * 2 ** 20 }, { tftpTimeoutMs: 200, maxTransfers: 200 }) : null;
    const daemon = files ? await StormDaemon.start(net, files) : null;
    const nginx = daemon ? null : net.srv.spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'nginx-error.log')]);
    nginx?.stdout!.resume();
    nginx?.stderr!.resume();
    try {
      await waitFor('the server', () => net.srv.exec('ss', ['-lnt'], { allowFail: true }).includes(`:${HTTP_PORT} `), 10_000, 100);
      const bridgePid = Number(net.srv.exec('pgrep', ['-n', 'lossy-bridge'], { allowFail: true }).trim()) || null;
      const url = `http://${STORM_NET.server}:${HTTP_PORT}/assets/${daemon ? 'ubuntu/24.04/initrd' : 'big'}`;
      const curl = (i: number, mib: number): Promise<{ stdout: string }> =>
        run('ip', ['netns', 'exec', net.cli.name, 'curl', '-sS', '-o', '/dev/null', '--interface', machineAddress(i), '--max-time', '900', '-w', '%{size_download} %{time_total}', '-r', `0-${mib * 2 ** 20 - 1}`, url], { timeout: 910_000 });
      for (const [streams, mib] of [[1, MIB], [STREAMS, Math.max(1, Math.round(MIB / 4))]] as const) {
        const cpu0 = bridgePid ? (cpuSeconds(bridgePid) ?? 0) : 0;
        const server0 = daemon ? (cpuSeconds(daemon.pid) ?? 0) : 0;
        const peak = daemon ? rssPeak(daemon.pid) : null;
        const t0 = performance.now();
        const rs = await Promise.all(Array.from({ length: streams }, (_, i) => curl(i, mib)));
        const s = (performance.now() - t0) / 1000;
        const bytes = rs.reduce((a, r) => a + Number(r.stdout.split(' ')[0]), 0);
        const per = rs.map((r) => Number(r.stdout.split(' ')[0]) / 2 ** 20 / Number(r.stdout.split(' ')[1]));
        const cpu = bridgePid ? (cpuSeconds(bridgePid) ?? NaN) - cpu0 : NaN;
        const server = daemon ? ` pxed: CPU ${((cpuSeconds(daemon.pid) ?? NaN) - server0).toFixed(1)} s, RSS peak ${peak!().toFixed(0)} MB |` : '';
        out.push(`| ${label} | ${streams} × ${mib} MiB | ${s.toFixed(1)} | ${(bytes / 2 ** 20 / s).toFixed(1)} | ${Math.min(...per).toFixed(2)} – ${Math.max(...per).toFixed(2)} | ${Number.isNaN(cpu) ? 'netem' : `${cpu.toFixed(1)} (${((100 * cpu) / s).toFixed(0)} %)`} |${server}`);
        console.error(out.at(-1));
      }
    } finally {
      if (nginx) await killGroup(nginx);
      await daemon?.stop();
    }
  } finally {
    await net.destroy();
  }
  return out;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-storm-link-'));
  fs.chmodSync(dir, 0o755);
  try {
    fs.mkdirSync(path.join(dir, 'assets'), { mode: 0o755 });
    fs.mkdirSync(path.join(dir, 'www'), { mode: 0o755 });
    const fd = fs.openSync(path.join(dir, 'assets', 'big'), 'w', 0o644);
    const piece = Buffer.alloc(2 ** 20, 7);
    for (let i = 0; i < MIB; i++) fs.writeSync(fd, piece);
    fs.closeSync(fd);
    const load = (): string => os.loadavg().map((x) => x.toFixed(1)).join(' / ');
    const before = load();
    const lines = ['| link | downloads | wall s | MB/s total | MB/s per stream (min – max) | bridge CPU s |', '|---|---|---:|---:|---|---|'];
    lines.push(...(await measure({ lossPercent: 5, delayMs: 2, jitterMs: 1, seed: 1800 }, '5 % loss, 2 ± 1 ms', dir)));
    if (!PXED) lines.push(...(await measure({ lossPercent: 0, delayMs: 0, jitterMs: 0, seed: 1800 }, 'no loss, no delay', dir)));
    console.log([`Load averages ${before} before, ${load()} after.`, '', ...lines].join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

// DHCP benchmark (not a test): PXE DISCOVER load against pxed's proxy and against dnsmasq in proxy mode, one after the
// other in the same namespaces, printed side by side. Run as root: node <dist>/bench/dhcp/run.js
// Topology (created here, removed at the end): client ns eth0 10.77.0.9/24 <-> server ns eth0 10.77.0.2/24.
// Three alternating rounds (medians printed). Bounded: closed loop 100 000 DISCOVERs (max 15 s), open loop 1 000/s for 5 s; every wait has a timeout.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { killGroup, Netns, vethPair, waitFor } from '../../test/helpers/netns.js';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

interface Result {
  sent: number;
  answered: number;
  dropped: number;
  seconds: number;
  perSecond: number;
  p50us: number;
  p99us: number;
  maxUs: number;
  /** Server CPU (user + system) per answered DISCOVER, from /proc/<pid>/stat around the run. */
  cpuUsPerReply: number;
}

// utime + stime of one process in microseconds (clock ticks are 100 Hz on Linux).
function cpuUs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function load(client: Netns, args: Record<string, unknown>, serverPid: number): Promise<Result> {
  const before = cpuUs(serverPid);
  const { stdout } = await execFileP('ip', ['netns', 'exec', client.name, process.execPath, path.join(here, 'loadgen.js'), JSON.stringify({ server: '10.77.0.2', ...args })], { timeout: 60_000 });
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;
  return { ...result, cpuUsPerReply: (cpuUs(serverPid) - before) / Math.max(1, result.answered) };
}

async function measure(client: Netns, serverPid: number): Promise<{ closed: Result; open: Result }> {
  // Warm-up (JIT, ARP), then the two measurements.
  await load(client, { mode: 'closed', count: 2000, concurrency: 32, timeoutMs: 1000, maxMs: 5000 }, serverPid);
  const closed = await load(client, { mode: 'closed', count: 100_000, concurrency: 32, timeoutMs: 1000, maxMs: 15_000 }, serverPid);
  const open = await load(client, { mode: 'open', count: 5000, rate: 1000, timeoutMs: 1000, maxMs: 10_000 }, serverPid);
  return { closed, open };
}

/** PXED_BENCH_SERVER: another tree's dist/bench/dhcp/pxed-server.js, to compare two trees with one harness. */
async function startPxed(server: Netns): Promise<ChildProcess> {
  const pxed = server.spawn(process.execPath, [process.env.PXED_BENCH_SERVER ?? path.join(here, 'pxed-server.js')]);
  let out = '';
  pxed.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  pxed.stderr!.resume();
  await waitFor('pxed ready', () => out.includes('ready'), 10_000);
  return pxed;
}

async function startDnsmasq(server: Netns): Promise<ChildProcess> {
  // The reference: dnsmasq in proxy mode with one boot file per arch.
  const dnsmasq = server.spawn('dnsmasq', ['-k', '-C', '/dev/null', '--port=0', '--user=root', '--interface=eth0', '--bind-interfaces',
    '--dhcp-range=10.77.0.0,proxy', '--pxe-service=x86PC,boot,undionly', '--pxe-service=X86-64_EFI,boot,snponly.efi',
    '--log-facility=/dev/null', '--pid-file', '--dhcp-leasefile=/dev/null']);
  dnsmasq.stdout!.resume();
  dnsmasq.stderr!.resume();
  await waitFor('dnsmasq bound to :67', () => server.exec('ss', ['-lun'], { allowFail: true }).includes(':67 '), 5000);
  return dnsmasq;
}

// Alternating rounds, medians reported: the machine is shared, so a single run is at the mercy of its neighbours.
const ROUNDS = 3;
const server = new Netns('pbs');
const client = new Netns('pbc');
const runs: Record<'pxed' | 'dnsmasq', { closed: Result; open: Result }[]> = { pxed: [], dnsmasq: [] };
try {
  vethPair(server, 'eth0', '10.77.0.2/24', client, 'eth0', '10.77.0.9/24');
  client.ip('route', 'add', 'default', 'dev', 'eth0');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, start] of [['pxed', startPxed], ['dnsmasq', startDnsmasq]] as const) {
      const proc = await start(server);
      try {
        runs[name].push(await measure(client, proc.pid!));
      } finally {
        await killGroup(proc);
      }
    }
  }
} finally {
  await client.destroy();
  await server.destroy();
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
function summary(rs: { closed: Result; open: Result }[]): { closed: Result; open: Result } {
  const pick = (k: 'closed' | 'open'): Result => {
    const keys = Object.keys(rs[0]![k]) as (keyof Result)[];
    return Object.fromEntries(keys.map((key) => [key, key === 'dropped' || key === 'sent' ? rs.reduce((a, r) => a + r[k][key], 0) : median(rs.map((r) => r[k][key]))])) as unknown as Result;
  };
  return { closed: pick('closed'), open: pick('open') };
}
const results = { pxed: summary(runs.pxed), dnsmasq: summary(runs.dnsmasq) };

const cpu = os.cpus()[0]?.model ?? 'unknown';
const p = results.pxed!;
const d = results.dnsmasq!;
const ms = (us: number): string => (us / 1000).toFixed(3);
const rows = [
  ['', 'pxed', 'dnsmasq', 'pxed/dnsmasq'],
  ['closed loop offers/s (32 outstanding)', p.closed.perSecond.toFixed(0), d.closed.perSecond.toFixed(0), (p.closed.perSecond / d.closed.perSecond).toFixed(2)],
  ['closed loop server CPU µs/offer', p.closed.cpuUsPerReply.toFixed(1), d.closed.cpuUsPerReply.toFixed(1), (p.closed.cpuUsPerReply / d.closed.cpuUsPerReply).toFixed(2)],
  ['closed loop drops', `${p.closed.dropped}/${p.closed.sent}`, `${d.closed.dropped}/${d.closed.sent}`, ''],
  ['open loop 1000/s p50 ms', ms(p.open.p50us), ms(d.open.p50us), (p.open.p50us / d.open.p50us).toFixed(2)],
  ['open loop 1000/s p99 ms', ms(p.open.p99us), ms(d.open.p99us), (p.open.p99us / d.open.p99us).toFixed(2)],
  ['open loop 1000/s max ms', ms(p.open.maxUs), ms(d.open.maxUs), ''],
  ['open loop drops', `${p.open.dropped}/${p.open.sent}`, `${d.open.dropped}/${d.open.sent}`, ''],
];
console.log(`DHCP proxy benchmark (median of ${ROUNDS} alternating rounds; drops summed): node ${process.version}, ${os.cpus().length} CPUs (nproc), ${cpu}, kernel ${os.release()}`);
for (const r of rows) console.log(`${r[0]!.padEnd(40)} ${r[1]!.padStart(12)} ${r[2]!.padStart(12)} ${r[3]!.padStart(14)}`);
console.log(JSON.stringify(runs));

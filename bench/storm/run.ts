// Boot-storm benchmark (not a test): N simulated machines (default 200, at most 1000; test/storm/machine.ts) power
// on within a few seconds behind a shaped link (5 % loss, 2 ms ± 1 ms delay; netem or the C bridge) and go through
// the whole sequence against `pxed serve`, then the same storm against the reference, dnsmasq (proxy-DHCP, :4011,
// TFTP) + nginx (static files), in the same namespaces one after the other. Reports per stage completion,
// p50/p99/max and resends, byte identity, the daemon's RSS/heap/event-loop delay over time, the final registry
// (every machine installed, every timeline complete and in order), and the ratios. Writes "## Boot storm" into
// docs/benchmarks.md unless --no-write.
// Run as root from the repository root after building:
//   node dist/bench/storm/run.js [--machines N] [--kernel-mib K] [--initrd-mib I] [--deadline-s S] [--slots 6,7]
//                                [--no-reference] [--no-write] [--keep]
// --slots runs only the rack's machines in those slots (index mod 10, test/storm/rack.ts): a reduced repro.
// Bounded: each storm stops at its deadline (--deadline-s, default 420 s); namespaces, processes and temp files are
// removed at the end. When a machine fails, the daemon's log is kept in test/.cache/storm/failed-<time>/ and its
// lines about the failed machines' addresses are printed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killGroup } from '../../test/helpers/netns.js';
import { cacheDir } from '../../test/helpers/paths.js';
import { cpuSeconds, StormDaemon, writeStormFiles, type DaemonSample, type StormFiles } from '../../test/storm/daemon.js';
import { STAGES, type MachineResult } from '../../test/storm/machine.js';
import { machineAddress, StormNet, STORM_NET, type LinkCounters } from '../../test/storm/net.js';
import { eventLabel, expectedSteps, missingStep, percentile, readRegistry, runRack, type SimRun } from '../../test/storm/storm.js';
import { startReference } from './reference.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const N = Math.min(1000, Math.max(1, arg('machines', 200)));
const KERNEL_MIB = arg('kernel-mib', 20);
const INITRD_MIB = arg('initrd-mib', 60);
const REFERENCE = !process.argv.includes('--no-reference');
const WRITE = !process.argv.includes('--no-write');
/** Keep the daemon's log and every machine's result even when all succeeded. */
const KEEP = process.argv.includes('--keep');
const SHAPING = { lossPercent: 5, delayMs: 2, jitterMs: 1, seed: 1800 };
const TFTP_TIMEOUT_MS = 200;
const RAMP_MS = 5000;
const DEADLINE_MS = arg('deadline-s', 420) * 1000;
const SLOTS = (() => {
  const i = process.argv.indexOf('--slots');
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',').map(Number) : null;
})();
const ONLY = SLOTS ? Array.from({ length: N }, (_, i) => i).filter((i) => SLOTS.includes(i % 10)) : undefined;

/** Keeps the daemon's log when machines failed; prints its lines about their addresses (TFTP transfer ends etc.). */
function keepFailureLog(log: string, results: MachineResult[]): void {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0 && !KEEP) return;
  const keep = path.join(cacheDir, 'storm', `${failed.length ? 'failed' : 'kept'}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  fs.mkdirSync(keep, { recursive: true });
  fs.copyFileSync(log, path.join(keep, 'pxed.log'));
  fs.writeFileSync(path.join(keep, 'results.json'), JSON.stringify(results, null, 1));
  console.error(`daemon log and failed machines kept in ${keep}`);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  for (const r of failed.slice(0, 10)) {
    const index = parseInt(r.mac.split(':').slice(4).join(''), 16);
    const ip = machineAddress(index);
    console.error(`--- ${r.mac} ${ip} ${r.kind}: ${r.error}`);
    for (const l of lines.filter((x) => x.includes(`"${ip}"`)).slice(0, 40)) console.error(l);
  }
}

interface StormOutcome {
  name: string;
  /** CPU seconds the server processes used over the storm (pxed; nginx + dnsmasq). */
  cpuS: number | null;
  run: SimRun;
  link: LinkCounters | null;
  samples: DaemonSample[];
  registry: { installed: number; timelinesOk: number; problems: string[] } | null;
}

function stageTable(runs: StormOutcome[]): string[] {
  const lines = ['| stage | ' + runs.map((r) => `${r.name} done · p50 · p99 · max (ms) · resends`).join(' | ') + ' |', '|---|' + runs.map(() => '---|').join('')];
  for (const st of STAGES) {
    const cells = runs.map((r) => {
      const xs = r.run.results.map((m) => m.stages[st]).filter((s) => s !== undefined);
      if (xs.length === 0) return '–';
      const ms = xs.map((s) => s.ms);
      const resends = xs.reduce((a, s) => a + s.resends, 0);
      return `${xs.length} · ${percentile(ms, 0.5).toFixed(0)} · ${percentile(ms, 0.99).toFixed(0)} · ${Math.max(...ms).toFixed(0)} · ${resends}`;
    });
    lines.push(`| ${st} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function summary(o: StormOutcome): string {
  const ok = o.run.results.filter((r) => r.ok).length;
  const corrupted = o.run.results.flatMap((r) => r.corrupted).length;
  const total = o.run.results.map((r) => (r.endedMs - r.startedMs) / 1000);
  const errors = new Map<string, number>();
  for (const r of o.run.results) {
    if (!r.error) continue;
    const key = r.error.replace(/52:54:00:88:[0-9a-f:]+|10\.88\.\d+\.\d+|ref\d+/g, '…').replace(/ \(waiting for block.*/, '').slice(0, 120);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }
  const why = [...errors].map(([e, n]) => `${n}× ${e}`).join('; ');
  return `${o.name}: ${ok}/${o.run.results.length} complete${why ? ` (failed: ${why})` : ''}, ${corrupted} corrupted files, storm ${o.run.seconds.toFixed(1)} s${o.cpuS === null ? '' : `, server CPU ${o.cpuS.toFixed(0)} s`} (per machine p50 ${percentile(total, 0.5).toFixed(1)} s, max ${Math.max(...total).toFixed(1)} s); link ${o.link ? `${o.link.frames} frames, ${o.link.dropped} dropped (${((100 * o.link.dropped) / o.link.frames).toFixed(2)} %), ${o.link.overflow} queue overflows` : 'netem'}`;
}

function memoryLines(samples: DaemonSample[]): string[] {
  if (samples.length === 0) return ['(no samples)'];
  const max = (xs: Array<number | null>): string => Math.max(...xs.filter((x): x is number => x !== null)).toFixed(1);
  const out = [
    `pxed over the storm (${samples.length} samples, 1 s apart): RSS max ${max(samples.map((s) => s.rssMb))} MB, heap used max ${max(samples.map((s) => s.heapMb))} MB, event-loop delay p99 max ${max(samples.map((s) => s.loopP99Ms))} ms (per-second p99 median ${percentile(samples.map((s) => s.loopP99Ms ?? 0), 0.5).toFixed(1)} ms), max ${max(samples.map((s) => s.loopMaxMs))} ms.`,
    'Event-loop figures are prom-client\'s (`nodejs_eventloop_lag_*`, monitorEventLoopDelay at 20 ms resolution): they include the 20 ms sampling interval itself (an idle Node process reads p50 ≈ 20 ms), so the delay added by work is the figure minus ~20 ms.',
  ];
  const every = Math.max(1, Math.ceil(samples.length / 12));
  out.push('', '| t (s) | RSS MB | heap MB | loop p99 ms | loop max ms |', '|---:|---:|---:|---:|---:|');
  for (let i = 0; i < samples.length; i += every) {
    const s = samples[i]!;
    out.push(`| ${s.t.toFixed(0)} | ${s.rssMb.toFixed(0)} | ${s.heapMb?.toFixed(0) ?? '–'} | ${s.loopP99Ms?.toFixed(1) ?? '–'} | ${s.loopMaxMs?.toFixed(1) ?? '–'} |`);
  }
  return out;
}

function checkRegistry(files: StormFiles, results: MachineResult[]): StormOutcome['registry'] {
  const rec = readRegistry(files.db, N);
  const problems: string[] = [];
  let installed = 0;
  let timelinesOk = 0;
  for (const r of results) {
    if (rec.states[r.mac] === 'installed') installed++;
    else problems.push(`${r.mac} ${rec.states[r.mac]}`);
    const miss = missingStep(rec.timelines[r.mac]!.map(eventLabel), expectedSteps(r.kind));
    if (miss === null) timelinesOk++;
    else problems.push(`${r.mac} timeline lacks ${miss}`);
  }
  return { installed, timelinesOk, problems };
}

function writeSection(section: string): void {
  const file = path.join(process.cwd(), 'docs', 'benchmarks.md');
  let text = fs.readFileSync(file, 'utf8');
  const start = text.search(new RegExp(`^## Boot storm, ${N} machines\\s*$`, 'm'));
  if (start === -1) text = `${text.trimEnd()}\n\n${section}`;
  else {
    const rest = text.slice(start + 1);
    const next = rest.search(/^## /m);
    text = text.slice(0, start) + section + (next === -1 ? '' : `\n${rest.slice(next)}`);
  }
  fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxed-storm-bench-'));
  const loadBefore = os.loadavg().map((x) => x.toFixed(1)).join(' / ');
  const files = writeStormFiles(dir, N, { bootFile: 1.5 * 2 ** 20, kernel: KERNEL_MIB * 2 ** 20, initrd: INITRD_MIB * 2 ** 20 }, { tftpTimeoutMs: TFTP_TIMEOUT_MS, maxTransfers: Math.max(200, N) });
  const sim = { machines: N, server: STORM_NET.server, router: '10.88.0.1', expected: files.expected, tftpTimeoutMs: TFTP_TIMEOUT_MS + 100, rampMs: RAMP_MS, deadlineMs: DEADLINE_MS, only: ONLY };
  const outcomes: StormOutcome[] = [];
  let net: StormNet | null = null;
  try {
    // A fresh link per storm: the bridge's counters and queues start from zero for each.
    net = await StormNet.create(N, SHAPING);
    console.error(`pxed storm: ${N} machines, link ${net.method}`);
    const daemon = await StormDaemon.start(net, files);
    daemon.startSampling(1000);
    let run: SimRun;
    try {
      run = await runRack(net, sim);
    } finally {
      await daemon.stop();
    }
    keepFailureLog(daemon.log, run.results);
    const pxedCpu = daemon.samples.at(-1)?.cpuS ?? null;
    const pxed: StormOutcome = { name: 'pxed', cpuS: pxedCpu, run, link: await net.linkCounters(), samples: daemon.samples, registry: checkRegistry(files, run.results) };
    outcomes.push(pxed);
    console.error(summary(pxed));
    await net.destroy();
    net = null;

    if (REFERENCE) {
      net = await StormNet.create(N, SHAPING);
      console.error(`reference storm: dnsmasq + nginx`);
      const ref = await startReference(net, files, N);
      let refCpu: number | null = null;
      try {
        run = await runRack(net, sim);
        // nginx's master and its one worker (children of the master), and dnsmasq.
        const pids = [ref.nginx.pid!, ref.dnsmasq.pid!, ...net.srv.exec('pgrep', ['-P', String(ref.nginx.pid)], { allowFail: true }).split('\n').filter(Boolean).map(Number)];
        refCpu = pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);
      } finally {
        await killGroup(ref.dnsmasq);
        await killGroup(ref.nginx);
      }
      const o: StormOutcome = { name: 'dnsmasq + nginx', cpuS: refCpu, run, link: await net.linkCounters(), samples: [], registry: null };
      outcomes.push(o);
      console.error(summary(o));
    }
  } finally {
    await net?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const pxed = outcomes[0]!;
  const ref = outcomes[1];
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'unknown';
  const reg = pxed.registry!;
  const lines = [
    `## Boot storm, ${N} machines`,
    '',
    `Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: \`node dist/bench/storm/run.js --machines ${N} --kernel-mib ${KERNEL_MIB} --initrd-mib ${INITRD_MIB}\`.`,
    `Machine: ${os.cpus().length} vCPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}; shared with other work: 1/5/15-min load averages ${loadBefore} before, ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} after.`,
    `${N} machines (4/10 BIOS PXE lock-step TFTP, 2/10 UEFI lock-step + :4011, 2/10 UEFI windowsize 4 + :4011, 2/10 iPXE ROM), powered on over ${RAMP_MS / 1000} s; boot file 1.5 MiB, kernel ${KERNEL_MIB} MiB, initrd ${INITRD_MIB} MiB; link ${SHAPING.lossPercent} % loss both ways, ${SHAPING.delayMs} ms ± ${SHAPING.jitterMs} ms (reordering by jitter); pxed tftp.timeout_ms ${TFTP_TIMEOUT_MS}, clients re-send after ${TFTP_TIMEOUT_MS + 100} ms.`,
    '',
    ...outcomes.map((o) => `- ${summary(o)}`),
    `- pxed registry afterwards: ${reg.installed}/${N} installed, ${reg.timelinesOk}/${N} timelines complete and in order${reg.problems.length ? ` (${reg.problems.slice(0, 5).join('; ')})` : ''}.`,
    ...(ref ? [`- storm time pxed / reference: ${(pxed.run.seconds / ref.run.seconds).toFixed(2)} (target ≤ 0.8)`] : []),
    '',
    ...stageTable(outcomes),
    '',
    ...memoryLines(pxed.samples),
    '',
  ];
  const section = lines.join('\n');
  console.log(section);
  if (WRITE) writeSection(section);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

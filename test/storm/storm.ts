// Shared by the storm test, the crash test and bench/storm: run the simulated rack (sim-main.js) inside the machines'
// namespace, and read back what the daemon recorded (registry after the daemon stopped).

import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { distRoot } from '../helpers/paths.js';
import { openRegistry } from '../../src/registry/sqlite.js';
import type { BootEvent } from '../../src/model/events.js';
import { STAGES, type MachineResult, type StormContext } from './machine.js';
import type { StormNet } from './net.js';
import type { SimArgs } from './sim-main.js';
import { machineMac } from './rack.js';

const run = promisify(execFile);

export interface SimRun {
  results: MachineResult[];
  seconds: number;
}

/** Runs the rack; bounded by `args.deadlineMs` plus a margin (the process is killed past it). */
export async function runRack(net: StormNet, args: SimArgs): Promise<SimRun> {
  const { stdout } = await run('ip', ['netns', 'exec', net.cli.name, process.execPath, path.join(distRoot, 'test', 'storm', 'sim-main.js'), JSON.stringify(args)], {
    timeout: args.deadlineMs + 30_000,
    maxBuffer: 256 << 20,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as SimRun;
}

export type { StormContext };

export interface Recorded {
  states: Record<string, string>;
  timelines: Record<string, BootEvent[]>;
}

/** The registry as the daemon left it (open it only while the daemon is stopped). */
export function readRegistry(db: string, machines: number): Recorded {
  const reg = openRegistry(db);
  try {
    const states: Record<string, string> = {};
    const timelines: Record<string, BootEvent[]> = {};
    for (let i = 0; i < machines; i++) {
      const mac = machineMac(i);
      states[mac] = reg.machineGet(mac)?.state ?? 'missing';
      timelines[mac] = reg.eventList(mac, { limit: 10_000 });
    }
    return { states, timelines };
  } finally {
    reg.close();
  }
}

/** One label per event: its kind, with the state it went to or the DHCP stage. */
export function eventLabel(e: BootEvent): string {
  const d = e.detail as Record<string, unknown>;
  if (e.kind === 'state') return `state:${String(d.to)}`;
  if (e.kind === 'dhcp-offer' || e.kind === 'dhcp-ack') return `${e.kind}:${String(d.stage)}`;
  if (e.kind === 'asset') return `asset:${path.basename(String(d.path))}`;
  if (e.kind === 'artifact') return `artifact:${String(d.route).split('/').pop()}`;
  return e.kind;
}

/**
 * The steps every machine's timeline must show, as two chains each in order (other events may sit between them):
 * the firmware's (DHCP, :4011, TFTP) and the boot's (iPXE script to installed). The TFTP event is written when the
 * transfer ends on the server, which may be after the client has gone on (its final ACK lost and the server still
 * waiting for it), so the two chains are not ordered against each other beyond their common first OFFER.
 */
export function expectedSteps(kind: MachineResult['kind']): RegExp[][] {
  return [
    [/^dhcp-offer:/, ...(kind === 'ipxe-rom' ? [] : kind === 'uefi' ? [/^dhcp-ack:/, /^tftp$/] : [/^tftp$/])],
    [/^dhcp-offer:/, /^state:booting$/, /^ipxe-script$/, /^asset:vmlinuz$/, /^asset:initrd$/, /^artifact:user-data$/, /^state:installing$/, /^phone-home$/, /^state:installed$/],
  ];
}

/** The first step of any chain missing from `labels` in its chain's order, or null when all are there. */
export function missingStep(labels: string[], chains: RegExp[][]): string | null {
  for (const chain of chains) {
    const miss = missingInOrder(labels, chain);
    if (miss !== null) return miss;
  }
  return null;
}

/** One line per stage: how many machines did it, p50/p99/max ms, resends. */
export function stageSummary(results: MachineResult[]): string {
  return STAGES.map((st) => {
    const xs = results.map((m) => m.stages[st]).filter((x) => x !== undefined);
    if (xs.length === 0) return `${st}: -`;
    const ms = xs.map((x) => x.ms);
    return `${st}: ${xs.length} p50 ${percentile(ms, 0.5).toFixed(0)} p99 ${percentile(ms, 0.99).toFixed(0)} max ${Math.max(...ms).toFixed(0)} ms resends ${xs.reduce((a, x) => a + x.resends, 0)}`;
  }).join('; ');
}

function missingInOrder(labels: string[], steps: RegExp[]): string | null {
  let at = 0;
  for (const step of steps) {
    while (at < labels.length && !step.test(labels[at]!)) at++;
    if (at === labels.length) return step.source;
    at++;
  }
  return null;
}

export function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

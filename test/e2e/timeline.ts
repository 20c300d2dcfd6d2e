// Reading a boot back from pxed's own timeline (`pxed machines show --json` events): stage order checks and
// per-stage times (plus the guest's first DISCOVER from the capture), and the results table printed at the end of the run and kept in docs/benchmarks.md.

import fs from 'node:fs';
import path from 'node:path';
import { dhcpPackets, type Packet } from '../helpers/pcap.js';
import type { EventView } from './pxed.js';

/** The install path, in the order a netboot must go through it. */
export type Stage = 'discover' | 'dhcp-offer' | 'proxy-ack-4011' | 'tftp' | 'ipxe-script' | 'kernel' | 'initrd' | 'phone-home';

export interface StageTimes {
  /** Seconds from QEMU start; absent when the stage did not happen. */
  [stage: string]: number | undefined;
}

const t = (e: EventView, startedAt: number): number => (Date.parse(e.time) - startedAt) / 1000;

/** Events of this boot only (at or after QEMU start). */
export function bootEvents(events: EventView[], startedAt: number): EventView[] {
  return events.filter((e) => Date.parse(e.time) >= startedAt - 50);
}

/**
 * First event of each stage of an install boot. `tftp` is the completed transfer (an aborted tsize probe does not
 * count), kernel/initrd are the asset events with status 200.
 */
export function stageEvents(events: EventView[], kernel: string, initrd: string): Partial<Record<Stage, EventView>> {
  const out: Partial<Record<Stage, EventView>> = {};
  const first = (stage: Stage, pred: (e: EventView) => boolean): void => {
    const e = events.find(pred);
    if (e) out[stage] = e;
  };
  first('dhcp-offer', (e) => e.kind === 'dhcp-offer');
  first('proxy-ack-4011', (e) => e.kind === 'dhcp-ack' && e.detail.stage === 'proxy-ack-4011');
  first('tftp', (e) => e.kind === 'tftp' && e.detail.outcome === 'complete');
  first('ipxe-script', (e) => e.kind === 'ipxe-script');
  first('kernel', (e) => e.kind === 'asset' && e.detail.path === kernel && e.detail.status === 200);
  first('initrd', (e) => e.kind === 'asset' && e.detail.path === initrd && e.detail.status === 200);
  first('phone-home', (e) => e.kind === 'phone-home');
  return out;
}

/** Seconds from QEMU start for each stage that happened. */
export function stageTimes(stages: Partial<Record<Stage, EventView>>, startedAt: number): StageTimes {
  const out: StageTimes = {};
  for (const [k, e] of Object.entries(stages)) if (e) out[k] = t(e, startedAt);
  return out;
}

/** Seconds from QEMU start to the guest's first DHCPDISCOVER on the wire (from the capture), or undefined. */
export function firstDiscoverSeconds(packets: Packet[], mac: string, startedAt: number): number | undefined {
  const first = dhcpPackets(packets).find(({ dhcp }) => dhcp.op === 1 && dhcp.type === 'DISCOVER' && dhcp.chaddr === mac);
  return first ? first.pkt.time - startedAt / 1000 : undefined;
}

/** Throws unless every listed stage happened, in this order (by event id, i.e. commit order). */
export function assertStageOrder(stages: Partial<Record<Stage, EventView>>, order: Stage[], events: EventView[]): void {
  let lastId = -Infinity;
  let last = '(start)';
  for (const stage of order) {
    const e = stages[stage];
    if (!e) {
      throw new Error(`timeline has no ${stage} event; timeline was:\n${formatEvents(events)}`);
    }
    if (e.id <= lastId) {
      throw new Error(`timeline order: ${stage} (#${e.id}) came before ${last} (#${lastId}); timeline was:\n${formatEvents(events)}`);
    }
    lastId = e.id;
    last = stage;
  }
}

export function formatEvents(events: EventView[]): string {
  return events.map((e) => `  #${e.id} ${e.time} ${e.kind} ${JSON.stringify(e.detail)}`).join('\n');
}

// ---- results table ----

export interface CaseResult {
  name: string;
  path: string;
  /** Seconds from QEMU start to pxed's phone-home event (or to the case's end point, see note). */
  seconds: number | null;
  times: StageTimes;
  note?: string;
}

const COLUMNS: Array<[Stage, string]> = [
  ['discover', '1st DISCOVER'],
  ['dhcp-offer', 'offer'],
  ['proxy-ack-4011', '4011 ack'],
  ['tftp', 'tftp done'],
  ['ipxe-script', 'script'],
  ['kernel', 'kernel'],
  ['initrd', 'initrd'],
  ['phone-home', 'phone-home'],
];

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : n.toFixed(1));

export function resultsTable(results: CaseResult[]): string {
  const head = ['case', 'path', 'total s', ...COLUMNS.map(([, h]) => h)];
  const rows = results.map((r) => [
    r.name,
    r.path,
    fmt(r.seconds),
    ...COLUMNS.map(([k]) => fmt(r.times[k])),
  ]);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const notes = results.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
  return [line(head), line(head.map(() => '---')), ...rows.map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}

export const BENCH_SECTION = '## Real-firmware boots';

/** Replaces (or appends) only the "Real-firmware boots" section of docs/benchmarks.md. */
export function writeBenchmarkSection(file: string, body: string): void {
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const section = `${BENCH_SECTION}\n\n${body.trim()}\n`;
  const start = existing.indexOf(`${BENCH_SECTION}\n`);
  let next: string;
  if (start < 0) {
    next = `${existing.trimEnd()}\n\n${section}`;
  } else {
    const rest = existing.slice(start + BENCH_SECTION.length);
    const m = /\n## /.exec(rest);
    const end = m ? start + BENCH_SECTION.length + m.index + 1 : existing.length;
    next = `${existing.slice(0, start)}${section}${end < existing.length ? `\n${existing.slice(end)}` : ''}`;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, next);
}

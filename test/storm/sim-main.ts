// The rack, run inside the machines' namespace by test/storm and bench/storm: starts every machine of makeRack(n)
// (spread over `rampMs`, as a rack's power-on is), waits for all, prints one JSON line {results, seconds}.
// Usage: node sim-main.js '<SimArgs as JSON>'. Bounded: every machine stops at `deadlineMs` after the start.

import { fixtures } from '../helpers/paths.js';
import { DhcpPort, loadTemplates } from './dhcp.js';
import { runMachine, type MachineResult } from './machine.js';
import { makeRack } from './rack.js';

export interface SimArgs {
  machines: number;
  server: string;
  router: string;
  expected: Record<string, string>;
  tftpTimeoutMs: number;
  installPauseMs?: number;
  rampMs: number;
  deadlineMs: number;
  /** Only these machine indexes (default all): the crash test restarts a subset. */
  only?: number[];
}

const a = JSON.parse(process.argv[2] ?? '{}') as SimArgs;
const started = Date.now();
const port = await DhcpPort.open();
const ctx = { server: a.server, router: a.router, port, templates: loadTemplates(fixtures('dhcp')), expected: a.expected, tftpTimeoutMs: a.tftpTimeoutMs, installPauseMs: a.installPauseMs ?? 0, deadline: started + a.deadlineMs };
const rack = makeRack(a.machines).filter((m) => !a.only || a.only.includes(m.index));
const live: MachineResult[] = [];
const all = Promise.all(
  rack.map(async (m, k) => {
    await new Promise((r) => setTimeout(r, Math.floor((k * a.rampMs) / Math.max(1, rack.length))));
    // xids spread like the random ones firmware picks (pxed remembers answered exchanges in a table indexed by the
    // xid's low bits); each exchange of a machine takes the next value.
    return runMachine(ctx, m, (Math.imul(m.index + 1, 0x9e3779b1) ^ started) >>> 0, (r) => live.push(r));
  }),
);
// At the deadline, whatever is done is reported and the rest marked unfinished; the process then exits.
let timer: NodeJS.Timeout | undefined;
const deadline = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), a.deadlineMs + 5000)));
const finished = await Promise.race([all, deadline]);
clearTimeout(timer);
const results: MachineResult[] = finished ?? live.map((r) => (r.endedMs ? r : { ...r, error: `unfinished at the deadline after ${Object.keys(r.stages).join(', ') || 'no stage'}`, endedMs: Date.now() }));
process.stdout.write(`${JSON.stringify({ results, seconds: (Date.now() - started) / 1000 })}\n`);
port.close();
if (!finished) process.exit(0);

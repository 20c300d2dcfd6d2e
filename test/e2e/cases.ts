// One e2e case in its own lab: namespaces + `pxed serve` + a capture around one QEMU boot, torn down afterwards.
// A failing case keeps its capture, serial log, pxed log and registry under test/artifacts/<case>/; PXED_E2E_KEEP=1
// keeps a passing case's too (how docs/secure-boot.md's request list was made). Used by the Secure Boot, HTTP boot
// and ARM64 cases (secureboot*.test.ts).

import fs from 'node:fs';
import path from 'node:path';
import { artifactsDir } from '../helpers/paths.js';
import { readPcap, type Packet } from '../helpers/pcap.js';
import { Lab, type LabOptions } from './lab.js';
import type { Payload } from './payload.js';
import { Pxed, type EventView, type PxedOptions } from './pxed.js';
import { bootVm, type BootOptions, type BootResult, type VmOptions } from './qemu.js';

export interface CaseCtx {
  pxed: Pxed;
  /** Boots one VM with a capture running; the packets come back with the result. */
  boot(vm: VmOptions, opts: BootOptions): Promise<{ result: BootResult; packets: Packet[] }>;
  events(mac: string): EventView[];
}

export interface CaseOptions {
  payload: Payload;
  /** Where the case's registry lives while it runs (a per-run temp dir). */
  runDir: string;
  pxed?: Partial<PxedOptions>;
  lab?: Omit<LabOptions, 'artifacts'>;
}

export async function runCase(name: string, opts: CaseOptions, body: (ctx: CaseCtx) => Promise<void>): Promise<void> {
  const dir = path.join(artifactsDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  const db = path.join(opts.runDir, `${name}.db`);
  let lab: Lab | null = null;
  let ok = false;
  try {
    lab = await Lab.create({ ...opts.lab, artifacts: dir });
    const theLab = lab;
    const pxed = await Pxed.start(lab, opts.payload, { ...opts.pxed, db });
    await body({
      pxed,
      async boot(vm, bootOpts) {
        const pcap = path.join(dir, 'boot.pcap');
        const cap = await theLab.capture(pcap);
        let result: BootResult;
        try {
          result = await bootVm(theLab, vm, bootOpts, 'boot-qemu');
        } finally {
          await new Promise((r) => setTimeout(r, 300));
          await theLab.stop(cap);
        }
        return { result, packets: readPcap(pcap) };
      },
      events: (mac) => pxed.show(mac)?.events ?? [],
    });
    ok = true;
  } finally {
    if (lab) await lab.destroy();
    if (ok && process.env.PXED_E2E_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    else if (fs.existsSync(db)) {
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(db, path.join(dir, 'pxed.db'));
    }
  }
}

/** Seconds from QEMU start to an event's time. */
export const secondsAt = (e: EventView | undefined, startedAt: number): number | undefined =>
  e ? (Date.parse(e.time) - startedAt) / 1000 : undefined;

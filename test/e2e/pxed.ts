// Running the real daemon (`pxed serve`) in the lab's server namespace with the e2e test config, and reading its
// registry back through the real CLI (`pxed machines show --json`).

import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { sh } from '../helpers/netns.js';
import { cliMain, repoRoot } from '../helpers/paths.js';
import { type Lab, type LabProcess, readTail } from './lab.js';
import type { Payload } from './payload.js';

export const FIXTURES = path.join(repoRoot, 'test', 'e2e', 'fixtures');
export const BASE_CONFIG = path.join(FIXTURES, 'pxed-e2e.yaml');

export interface PxedOptions {
  /** Registry file; reused across cases to boot the same machine twice. */
  db: string;
  unknownMacs?: 'ignore' | 'discover';
  /** tftp.signed_roots (the signed shim/GRUB of the Secure Boot chain); the daemon's default when absent. */
  signedRoots?: string[];
  /** More http.asset_roots after the payload's own (e.g. an arm64 payload under arm64/). */
  assetRoots?: string[];
}

export interface MachineView {
  mac: string;
  host: string | null;
  state: string;
  arch: number | null;
  firmware: string | null;
  uuid: string | null;
  ip: string | null;
}

export interface EventView {
  id: number;
  mac: string;
  time: string;
  kind: string;
  detail: Record<string, unknown>;
}

/** Writes the run's daemon config (base fixture + run-specific paths) into the case folder; returns its path. */
export function writeConfig(lab: Lab, payload: Payload, opts: PxedOptions): string {
  const cfg = parse(fs.readFileSync(BASE_CONFIG, 'utf8')) as Record<string, Record<string, unknown>>;
  cfg.registry = { ...cfg.registry, database: opts.db };
  cfg.http = { ...cfg.http, asset_roots: [payload.dir, ...(opts.assetRoots ?? [])] };
  cfg.admin = { token_file: path.join(lab.artifacts, 'admin.token') };
  cfg.provisioning = {
    defaults: path.join(FIXTURES, 'defaults.yaml'),
    vm_specs: path.join(FIXTURES, 'vm_specs.yaml'),
    install_config: path.join(FIXTURES, 'install_config.yaml'),
  };
  if (opts.signedRoots) cfg.tftp = { ...cfg.tftp, signed_roots: opts.signedRoots };
  if (opts.unknownMacs) cfg.policy = { ...cfg.policy, unknown_macs: opts.unknownMacs };
  const file = path.join(lab.artifacts, 'pxed.yaml');
  fs.writeFileSync(file, stringify(cfg));
  return file;
}

export class Pxed {
  private constructor(
    readonly proc: LabProcess,
    readonly config: string,
    readonly db: string,
  ) {}

  /** Starts `pxed serve` in the server namespace and waits (bounded) until it logs that it is ready. */
  static async start(lab: Lab, payload: Payload, opts: PxedOptions): Promise<Pxed> {
    const config = writeConfig(lab, payload, opts);
    const proc = lab.spawn(lab.server, 'pxed', process.execPath, [cliMain, 'serve', '--config', config]);
    await lab.waitForLog(proc, /"pxed ready"|pxed ready/, 'pxed serve', 20_000);
    return new Pxed(proc, config, opts.db);
  }

  get log(): string {
    return readTail(this.proc.log, 4 << 20);
  }

  /** `pxed machines show MAC --json`; null when pxed does not know the MAC. */
  show(mac: string, events = 200): { machine: MachineView; events: EventView[] } | null {
    const out = sh(
      process.execPath,
      [cliMain, 'machines', 'show', mac, '--db', this.db, '--config', this.config, '--json', '--events', String(events)],
      { allowFail: true },
    );
    if (!out.trim()) return null;
    return JSON.parse(out) as { machine: MachineView; events: EventView[] };
  }
}

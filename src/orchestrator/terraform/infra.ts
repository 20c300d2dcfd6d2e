// The `infra` stage: write the host's root into build/<host>/tf, then terraform init → validate → plan (-out
// tfplan) → apply tfplan (unless plan-only) → output -json, each command logged to build/<host>/logs/infra.log.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { WriteStream } from 'node:fs';
import { runLogged } from '../exec.js';
import type { HostSpec, Provisioning } from '../../config/provisioning.js';
import { buildRoot } from './root.js';

export interface InfraOptions {
  host: HostSpec;
  prov: Readonly<Provisioning>;
  tfDir: string;
  moduleDir: string;
  terraform: string;
  env: Record<string, string | undefined>;
  log: WriteStream;
  redact: (t: string) => string;
  signal: AbortSignal;
  planOnly: boolean;
  onStep: (step: string) => void;
  cidataIsoPath?: string | null;
  userData?: string | null;
  networkConfig?: string | null;
}

export type InfraResult =
  | { ok: true; applied: boolean; vmId: number | null; macs: string[] }
  | { ok: false; cancelled: boolean; step: string; exitCode: number | null; tail: string[] };

function outputsOf(stdout: string): { vmId: number | null; macs: string[] } {
  try {
    const o = JSON.parse(stdout) as Record<string, { value?: unknown }>;
    const vmId = typeof o.vm_id?.value === 'number' ? o.vm_id.value : null;
    const macs = Array.isArray(o.mac_addresses?.value) ? o.mac_addresses.value.filter((m): m is string => typeof m === 'string').map((m) => m.toLowerCase()) : [];
    return { vmId, macs };
  } catch {
    return { vmId: null, macs: [] };
  }
}

export async function runInfra(o: InfraOptions): Promise<InfraResult> {
  await mkdir(o.tfDir, { recursive: true });
  const root = buildRoot(o.host, o.prov, { moduleDir: o.moduleDir, cidataIsoPath: o.cidataIsoPath, userData: o.userData, networkConfig: o.networkConfig });
  await writeFile(path.join(o.tfDir, 'main.tf.json'), JSON.stringify(root.main, null, 2) + '\n');
  // tfvars may hold cloud-init user-data (no credentials ever): owner-only.
  await writeFile(path.join(o.tfDir, 'terraform.tfvars.json'), JSON.stringify(root.tfvars, null, 2) + '\n', { mode: 0o600 });
  const env = { ...o.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  const steps: Array<[string, string[]]> = [
    ['init', ['init', '-input=false', '-no-color']],
    ['validate', ['validate', '-no-color']],
    ['plan', ['plan', '-input=false', '-no-color', '-out=tfplan']],
  ];
  if (!o.planOnly) steps.push(['apply', ['apply', '-input=false', '-no-color', 'tfplan']]);
  for (const [step, args] of steps) {
    o.onStep(`terraform ${step}`);
    const r = await runLogged(o.terraform, args, { cwd: o.tfDir, env, log: o.log, redact: o.redact, signal: o.signal });
    if (r.cancelled || r.exitCode !== 0) return { ok: false, cancelled: r.cancelled, step: `terraform ${step}`, exitCode: r.exitCode, tail: r.tail };
  }
  if (o.planOnly) return { ok: true, applied: false, vmId: null, macs: [] };
  o.onStep('terraform output');
  const out = await runLogged(o.terraform, ['output', '-json', '-no-color'], { cwd: o.tfDir, env, log: o.log, redact: o.redact, signal: o.signal });
  if (out.cancelled || out.exitCode !== 0) return { ok: false, cancelled: out.cancelled, step: 'terraform output', exitCode: out.exitCode, tail: out.tail };
  return { ok: true, applied: true, ...outputsOf(out.stdout) };
}

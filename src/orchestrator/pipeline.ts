// One host's way through the stages (infra → pxe → os → post), and the bounded fan-out over hosts. Hosts are
// independent: a failure ends that host's run only. A Proxmox host with boot_method iso or image registers first
// (pxe → infra → os → post): its cloud-init seed, uploaded by Terraform, carries the token of the boot pxe armed. Cancelling (the signal) stops every host promptly; a host
// that was cut short reports `cancelled` with the stage it was in.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { WriteStream } from 'node:fs';
import { PREVIEW_TOKEN } from '../boot/os-profile.js';
import { describeError } from '../errors.js';
import { openLog } from './exec.js';
import { buildSeedIso, checkSeedable, imageSeedDocuments, isoSeedDocuments } from './seed.js';
import { runInfra } from './terraform/infra.js';
import type { HostSpec, Provisioning } from '../config/provisioning.js';
import type { PostInstallReport } from '../machines/operations.js';
import type { HostSummaryRow, MachinePort, PostInstallRunner, SeedArm, Stage } from './types.js';

export interface PipelineOptions {
  prov: Readonly<Provisioning>;
  targets: readonly Stage[];
  buildDir: string;
  moduleDir: string;
  terraform: string;
  /** Children's environment (Proxmox credentials included). */
  env: Record<string, string | undefined>;
  redact: (t: string) => string;
  planOnly: boolean;
  machines: MachinePort | null;
  post: PostInstallRunner | null;
  /** pxed's URL written into plan-only seeds (no boot is armed then); null: a placeholder. */
  seedServerUrl?: string | null;
  /** How long `os` waits for `installed`. */
  osTimeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
  /** Status updates: the host's current stage and a short text. */
  onStatus: (host: string, stage: Stage | 'done', text: string) => void;
}

class StageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null = null,
    readonly tail: string[] = [],
    readonly cancelled = false,
  ) {
    super(message);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function configuredMacs(host: HostSpec): string[] {
  const all = [host.mac, ...host.netifs.map((n) => n.mac)].filter((m): m is string => m !== null);
  return [...new Set(all)];
}

export async function provisionHost(host: HostSpec, o: PipelineOptions): Promise<HostSummaryRow> {
  const started = Date.now();
  const dir = path.join(o.buildDir, host.name);
  const logs = path.join(dir, 'logs');
  await Promise.all(['tf', 'ansible', 'logs'].map((d) => mkdir(path.join(dir, d), { recursive: true })));
  const row: HostSummaryRow = {
    host: host.name,
    stagesDone: [],
    result: 'ok',
    failedStage: null,
    error: null,
    durationMs: 0,
    state: null,
    ansible: null,
    ip: host.install.network.dhcp ? null : (host.install.network.address_cidr?.split('/')[0] ?? null),
    ssh: null,
    log: logs,
  };
  let macs = configuredMacs(host);
  let arm: SeedArm | null = null;
  const order = seeded(host) ? (['pxe', 'infra', 'os', 'post'] as const) : (['infra', 'pxe', 'os', 'post'] as const);
  for (const stage of order) {
    if (!o.targets.includes(stage)) continue;
    if (stage === 'infra' && host.hypervisor === 'baremetal') continue;
    if (o.planOnly && stage !== 'infra') continue;
    if (o.signal.aborted) {
      row.result = 'cancelled';
      row.failedStage = stage;
      break;
    }
    const logFile = path.join(logs, `${stage}.log`);
    const log = openLog(logFile);
    row.log = logFile;
    const status = (text: string) => {
      log.write(`# ${new Date().toISOString()} ${text}\n`);
      o.onStatus(host.name, stage, text);
    };
    try {
      status('started');
      if (stage === 'infra') {
        macs = await infra(host, o, dir, log, status, macs, arm);
        row.state = o.planOnly ? 'planned' : 'created';
      } else if (stage === 'pxe') {
        arm = await pxe(host, o, macs, status);
        row.state = arm === null ? 'registered' : 'booting';
      } else if (stage === 'os') {
        const seen = await waitInstalled(host, o, macs, status);
        row.ip = seen.ip ?? row.ip;
        row.state = seen.state;
      } else {
        await post(host, o, dir, logFile, row, macs[0], status);
        row.state = 'configured';
      }
      row.stagesDone.push(stage);
      status('ok');
    } catch (err) {
      const e = err instanceof StageError ? err : new StageError(o.redact((err as Error).message ?? String(err)));
      row.result = e.cancelled || o.signal.aborted ? 'cancelled' : 'failed';
      row.failedStage = stage;
      row.error = [
        `${host.name}: ${stage} ${row.result}: ${e.message}${e.exitCode !== null ? ` (exit ${e.exitCode})` : ''}`,
        ...e.tail.map((l) => `    ${l}`),
        `    log: ${logFile}`,
      ].join('\n');
      log.write(`# ${row.result}: ${e.message}\n`);
      o.onStatus(host.name, stage, `${row.result}: ${e.message}`);
    } finally {
      await new Promise<void>((resolve) => log.end(resolve));
    }
    if (row.result !== 'ok') break;
  }
  row.durationMs = Date.now() - started;
  const user = host.install.users[0]?.username;
  if (row.ip && user) row.ssh = `ssh ${user}@${row.ip}`;
  if (row.result === 'ok') o.onStatus(host.name, 'done', o.planOnly ? 'planned' : 'ok');
  return row;
}

/** A Proxmox VM that does not netboot: its install is driven by a cloud-init seed pxed builds. */
function seeded(host: HostSpec): boolean {
  return host.hypervisor === 'proxmox' && host.boot_method !== 'pxe';
}

async function infra(host: HostSpec, o: PipelineOptions, dir: string, log: WriteStream, status: (t: string) => void, macs: string[], arm: SeedArm | null): Promise<string[]> {
  const seed: { cidataIsoPath?: string; userData?: string; networkConfig?: string | null } = {};
  if (seeded(host)) {
    try {
      checkSeedable(host);
      const mac = macs[0];
      if (!mac) throw new StageError('no MAC known for this host');
      if (arm === null) status(o.planOnly ? 'seed with a placeholder token (plan only: no boot armed)' : 'seed not armed (pxe not in --targets): its install will not report to pxed');
      const a = arm ?? { serverUrl: o.seedServerUrl ?? 'http://pxed.invalid', token: PREVIEW_TOKEN };
      if (host.boot_method === 'iso') {
        const iso = path.join(dir, 'tf', 'cidata.iso');
        status('building the cidata seed ISO');
        await buildSeedIso(iso, isoSeedDocuments(host, mac, a), { log, redact: o.redact, signal: o.signal, env: o.env });
        seed.cidataIsoPath = iso;
      } else {
        const docs = imageSeedDocuments(host, mac, a);
        seed.userData = docs.userData;
        seed.networkConfig = docs.networkConfig;
      }
    } catch (err) {
      throw err instanceof StageError ? err : new StageError(o.redact(describeError(err)));
    }
  }
  const r = await runInfra({
    host,
    prov: o.prov,
    tfDir: path.join(dir, 'tf'),
    moduleDir: o.moduleDir,
    terraform: o.terraform,
    env: o.env,
    log,
    redact: o.redact,
    signal: o.signal,
    planOnly: o.planOnly,
    onStep: status,
    ...seed,
  });
  if (!r.ok) throw new StageError(`${r.step} ${r.cancelled ? 'cancelled' : 'failed'}`, r.exitCode, r.tail, r.cancelled);
  if (r.applied) status(`vm_id ${r.vmId ?? '?'}, MAC ${r.macs.join(', ') || '?'}`);
  return r.macs.length > 0 ? r.macs : macs;
}

async function pxe(host: HostSpec, o: PipelineOptions, macs: string[], status: (t: string) => void): Promise<SeedArm | null> {
  if (!o.machines) throw new StageError('no machine registry: pass --server URL (and PXED_TOKEN) or --daemon-config');
  if (macs.length === 0) throw new StageError('no MAC known for this host');
  const mac = await o.machines.register(host, macs);
  const what = `${host.install.os}${host.install.version ? ` ${host.install.version}` : ''}`;
  if (!seeded(host)) {
    status(`registered ${mac} for ${what} (install armed)`);
    return null;
  }
  checkSeedable(host);
  const arm = await o.machines.armSeed(mac);
  status(`registered ${mac} for ${what} (boot armed for its ${host.boot_method === 'iso' ? 'cidata seed ISO' : 'cloud-init snippet'})`);
  return arm;
}

async function waitInstalled(host: HostSpec, o: PipelineOptions, macs: string[], status: (t: string) => void): Promise<{ ip: string | null; state: string }> {
  if (!o.machines) throw new StageError('no machine registry: pass --server URL (and PXED_TOKEN) or --daemon-config');
  const mac = macs[0];
  if (!mac) throw new StageError('no MAC known for this host');
  if (host.hypervisor === 'baremetal') status(`power on ${host.name} (MAC ${mac}) now; waiting for its install`);
  const deadline = Date.now() + o.osTimeoutMs;
  let last = '';
  let seen: { state: string; lastEvent: string | null; hint?: string | null } = { state: 'unknown', lastEvent: null };
  while (!o.signal.aborted) {
    const s = await o.machines.status(mac);
    if (s) {
      seen = s;
      const text = `${s.state}${s.lastEvent ? ` (last event: ${s.lastEvent})` : ''}`;
      if (text !== last) status(text);
      last = text;
      if (s.state === 'installed' || s.state === 'configured') return { ip: s.ip, state: s.state };
      if (s.state === 'failed') throw new StageError(`install failed (last event: ${s.lastEvent ?? 'none'})${s.hint ? `; hint: ${s.hint}` : ''}`);
    }
    if (Date.now() >= deadline) {
      throw new StageError(
        `timed out after ${Math.round(o.osTimeoutMs / 1000)} s waiting for installed; last stage seen: ${seen.state}${seen.lastEvent ? `, last event: ${seen.lastEvent}` : ''}${seen.hint ? `; hint: ${seen.hint}` : ''}`,
      );
    }
    await sleep(o.pollMs, o.signal);
  }
  throw new StageError(`cancelled while ${seen.state}`, null, [], true);
}

async function post(host: HostSpec, o: PipelineOptions, dir: string, logFile: string, row: HostSummaryRow, mac: string | undefined, status: (t: string) => void): Promise<void> {
  if (!o.post) throw new StageError('no post-install runner available');
  const record = async (report: PostInstallReport): Promise<void> => {
    if (mac === undefined || !o.machines) return;
    try {
      await o.machines.recordPost(mac, report);
    } catch (err) {
      status(`post-install ${report.phase} not recorded on the machine's timeline: ${o.redact(describeError(err))}`);
    }
  };
  const t0 = Date.now();
  await record({ phase: 'started', host: host.name, logPath: logFile });
  const r = await o.post.run({ host, prov: o.prov, ip: row.ip, ...(mac !== undefined ? { mac } : {}), dir: path.join(dir, 'ansible'), logFile, env: o.env, signal: o.signal, progress: status });
  row.ansible = r.stats;
  await record({ phase: r.ok ? 'ok' : 'failed', host: host.name, stats: r.stats, logPath: logFile, durationMs: Date.now() - t0, exitCode: r.exitCode, ...(r.ok ? {} : { error: r.message }) });
  if (!r.ok) throw new StageError(r.message, r.exitCode, [], o.signal.aborted);
  status(r.message);
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

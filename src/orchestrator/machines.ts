// MachinePort implementations: against a running daemon's REST API (--server, bearer PXED_TOKEN), or against the
// local registry database (the daemon's registry.database; SQLite WAL lets a running daemon share it).
// Registering is idempotent: a new MAC is created `registered`; a known one that finished or failed an earlier
// install is re-armed (reinstall); one already registered or mid-install is left as it is.
// Arming a seed boot (boot_method iso/image): remotely, the orchestrator fetches the machine's iPXE script as a
// netbooting machine would (the daemon mints the boot's token and moves it to booting) and reads the NoCloud seed
// URL from it; locally, the same steps on the registry.
// The post stage's results reach the machine's timeline through MachineOperations.recordPostInstall: locally
// directly, remotely through POST /api/v1/machines/:mac/post-install (the CLI's API client).

import type { TimelineEvent } from '../model/sentences.js';
import { stageView } from '../model/stage.js';
import { PxedError } from '../errors.js';
import { HttpMachineClient } from '../cli/client.js';
import { MachineOperations, type PostInstallReport } from '../machines/operations.js';
import type { InstallMode } from '../model/machine.js';
import { openRegistry } from '../registry/sqlite.js';
import type { HostSpec, Provisioning } from '../config/provisioning.js';
import { hashToken, mintToken, newBootId } from '../boot/tokens.js';
import type { MachinePort, MachineStatus, SeedArm } from './types.js';

const REARM = new Set<string>(['installed', 'configured', 'failed', 'stalled']);

interface ApiMachine {
  mac: string;
  state: string;
  ip: string | null;
}

export function remoteMachines(server: string, token: string | undefined, fetchImpl: typeof fetch = fetch): MachinePort {
  const base = server.replace(/\/+$/, '') + '/api/v1';
  const call = async (method: string, p: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetchImpl(base + p, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    if (res.status === 401) throw new PxedError('ORCH_API', `${server}: 401 (set PXED_TOKEN to the daemon's API token)`);
    return { status: res.status, json };
  };
  let client: HttpMachineClient | undefined;
  const fail = (what: string, r: { status: number; json: unknown }) =>
    new PxedError('ORCH_API', `${what}: HTTP ${r.status} ${typeof r.json === 'object' && r.json && 'message' in r.json ? String((r.json as { message: unknown }).message) : ''}`.trim());
  return {
    async register(host: HostSpec, macs: readonly string[]) {
      for (const mac of macs.slice(0, 1)) {
        const created = await call('POST', '/machines', { mac, host: host.name, ...(host.install_mode ? { installMode: host.install_mode } : {}) });
        if (created.status === 201) continue;
        if (created.status !== 409) throw fail(`register ${mac}`, created);
        const cur = await call('GET', `/machines/${mac}`);
        if (cur.status !== 200) throw fail(`read ${mac}`, cur);
        const m = cur.json as ApiMachine;
        if (REARM.has(m.state)) {
          const r = await call('POST', `/machines/${mac}/reinstall`, { reason: 'pxed provision' });
          if (r.status !== 200) throw fail(`re-arm ${mac}`, r);
        }
      }
      return macs[0]!;
    },
    async armSeed(mac: string): Promise<SeedArm> {
      const res = await fetchImpl(`${server.replace(/\/+$/, '')}/ipxe/${mac}`, { signal: AbortSignal.timeout(15_000) });
      const script = await res.text();
      if (res.status !== 200) throw new PxedError('ORCH_API', `arm ${mac}: GET /ipxe/${mac}: HTTP ${res.status}`);
      return seedArmFromScript(mac, script);
    },
    async recordPost(mac: string, report: PostInstallReport): Promise<void> {
      client ??= new HttpMachineClient(server, token ?? '');
      await client.postInstall(mac, report);
    },
    async status(mac: string): Promise<MachineStatus | null> {
      const r = await call('GET', `/machines/${mac}`);
      if (r.status === 404) return null;
      if (r.status !== 200) throw fail(`read ${mac}`, r);
      const m = r.json as ApiMachine;
      const ev = await call('GET', `/machines/${mac}/events?limit=1000`);
      const list = Array.isArray(ev.json) ? (ev.json as TimelineEvent[]) : [];
      return { state: m.state, ip: m.ip, lastEvent: list.length > 0 ? list[list.length - 1]!.kind : null, hint: stageView(list, m.state).hint };
    },
  };
}

/** pxed's URL and the boot token out of an Ubuntu install script (its `ds=nocloud;s=<url>/nocloud/<token>/`). */
export function seedArmFromScript(mac: string, script: string): SeedArm {
  const m = /(http:\/\/[A-Za-z0-9.:[\]-]+)\/nocloud\/([A-Za-z0-9_-]{22,128})\//.exec(script);
  if (!m) throw new PxedError('ORCH_API', `arm ${mac}: the daemon's script for it has no NoCloud seed URL (is its install entry an Ubuntu one, and the machine registered?)`);
  return { serverUrl: m[1]!, token: m[2]! };
}

export interface LocalMachineOptions {
  installMode?: InstallMode;
  /** pxed's URL as installers reach it (defaults http.public_url, else the daemon's address and port); null: unknown. */
  serverUrl?: () => string | null;
  tokenTtlMinutes?: number;
}

export function localMachines(dbPath: string, prov: Readonly<Provisioning>, lo: LocalMachineOptions = {}): MachinePort {
  const installMode = lo.installMode ?? 'once';
  const reg = openRegistry(dbPath);
  // The one set of machine operations (src/machines/operations.ts): the same checks as the CLI and the API.
  const ops = new MachineOperations({ registry: reg, provisioning: prov, installMode });
  return {
    register(host: HostSpec, macs: readonly string[]) {
      const mac = macs[0]!;
      reg.atomically(() => {
        const m = reg.machineGet(mac);
        if (m === null || m.state === 'discovered') {
          ops.create({ mac, host: host.name, ...(host.install_mode ? { installMode: host.install_mode } : {}) }, 'orchestrator');
          return;
        }
        if (m.host !== host.name) ops.update(mac, { host: host.name }, 'orchestrator');
        if (REARM.has(m.state)) ops.reinstall(mac, 'orchestrator', 'pxed provision');
      });
      return Promise.resolve(mac);
    },
    armSeed(mac: string) {
      const serverUrl = lo.serverUrl?.() ?? null;
      if (serverUrl === null) return Promise.reject(new PxedError('ORCH_API', `arm ${mac}: pxed's URL for the installer is unknown: set http.public_url in defaults.yaml or server.address in the daemon config`));
      const token = mintToken();
      const bootId = newBootId();
      reg.atomically(() => {
        const now = new Date();
        reg.machineTransition(mac, 'booting', 'seed boot armed by pxed provision (boot_method iso/image)', { bootId });
        reg.tokenRevokeAll(mac, now.toISOString());
        reg.tokenInsert({ hash: hashToken(token), mac, bootId, createdAt: now.toISOString(), expiresAt: new Date(now.getTime() + (lo.tokenTtlMinutes ?? 240) * 60_000).toISOString(), revokedAt: null });
      });
      return Promise.resolve({ serverUrl: serverUrl.replace(/\/+$/, ''), token });
    },
    recordPost(mac: string, report: PostInstallReport) {
      ops.recordPostInstall(mac, report, 'orchestrator');
      return Promise.resolve();
    },
    status(mac: string) {
      const m = reg.machineGet(mac);
      if (m === null) return Promise.resolve(null);
      const ev = reg.eventList(mac, { limit: 100_000 });
      return Promise.resolve({ state: m.state, ip: m.ip, lastEvent: ev.length > 0 ? ev[ev.length - 1]!.kind : null, hint: stageView(ev, m.state).hint });
    },
    close() {
      reg.close();
      return Promise.resolve();
    },
  };
}

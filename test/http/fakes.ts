// Small fakes for the HTTP tests: a boot policy that records what it was asked, and an in-memory AdminApi with
// the registry's error codes and event feed.

import { PxedError } from '../../src/errors.js';
import type {
  HttpBootPolicy,
  HttpDocument,
  IpxeScriptRequest,
  PhoneHomeRequest,
  TokenArtifactRequest,
} from '../../src/boot/types.js';
import type { AdminApi, AdminEventQuery, AdminPostInstallReport, AdminMachineCreate, AdminMachinePatch, PreviewArtifact } from '../../src/http/types.js';
import type { Machine, MachineState } from '../../src/model/machine.js';
import type { BootEvent } from '../../src/model/events.js';
import type { HttpDeps } from '../../src/http/types.js';
import { silentLogger } from '../../src/log.js';

export const LIVE_TOKEN = 'live-token-AAAAAAAAAAAAAAAAAAAAAA';

/** A policy that answers every script request with `machineScript`, knows no tokens and keeps nothing. */
export function scriptOnlyPolicy(machineScript: HttpBootPolicy['machineScript']): HttpBootPolicy {
  return {
    bootstrapScript: () => ({ contentType: 'text/plain; charset=utf-8', body: '#!ipxe\n' }),
    machineScript,
    tokenArtifact: () => null,
    phoneHome: () => null,
    assetServed: () => undefined,
  };
}

/** scriptOnlyPolicy over a synchronous script function (the seam is synchronous, as the daemon's BootPolicy is). */
export function syncScriptPolicy(script: (req: IpxeScriptRequest) => HttpDocument): HttpBootPolicy {
  return scriptOnlyPolicy(script);
}

export class FakePolicy implements HttpBootPolicy {
  readonly assets: Array<{ client: string; path: string; bytes: number; status: number }> = [];
  readonly scripts: IpxeScriptRequest[] = [];
  readonly phoneHomes: PhoneHomeRequest[] = [];
  readonly artifacts: TokenArtifactRequest[] = [];

  bootstrapScript(clientAddress: string): HttpDocument {
    return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\n# for ${clientAddress}\nchain http://127.0.0.1/ipxe/\${net0/mac}\n` };
  }
  machineScript(req: IpxeScriptRequest): HttpDocument {
    this.scripts.push(req);
    return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho machine ${req.mac}\nexit\n` };
  }
  tokenArtifact(req: TokenArtifactRequest): HttpDocument | null {
    this.artifacts.push(req);
    if (req.token !== LIVE_TOKEN) return null;
    if (req.name === 'broken') throw new PxedError('ARTIFACT_INVALID', 'user-data: autoinstall.version missing');
    if (req.name === 'crash') throw new Error('secret internal detail');
    if (req.name !== 'user-data' && req.name !== 'configuration.nix') return null;
    return { contentType: 'text/yaml; charset=utf-8', body: `#cloud-config\n# ${req.family}\n` };
  }
  phoneHome(req: PhoneHomeRequest): { state: string } | null {
    this.phoneHomes.push(req);
    return req.token === LIVE_TOKEN ? { state: 'installed' } : null;
  }
  assetServed(clientAddress: string, path: string, bytes: number, status: number): void {
    this.assets.push({ client: clientAddress, path, bytes, status });
  }
}

const now = (): string => new Date().toISOString();

export class FakeAdmin implements AdminApi {
  readonly machines = new Map<string, Machine>();
  readonly log: BootEvent[] = [];
  private listeners = new Set<(e: BootEvent) => void>();
  private nextId = 1;

  get listenerCount(): number {
    return this.listeners.size;
  }

  emit(mac: string, kind: string, detail: Record<string, unknown> = {}): BootEvent {
    const ev = { id: this.nextId++, mac, time: now(), kind, detail } as BootEvent;
    this.log.push(ev);
    for (const l of this.listeners) l(ev);
    return ev;
  }

  list(filter?: { state?: MachineState }): Machine[] {
    return [...this.machines.values()].filter((m) => filter?.state === undefined || m.state === filter.state);
  }
  get(mac: string): Machine | null {
    return this.machines.get(mac) ?? null;
  }
  create(input: AdminMachineCreate): Machine {
    if (this.machines.has(input.mac)) throw new PxedError('REGISTRY_EXISTS', `machine ${input.mac} exists`);
    const t = now();
    const m: Machine = {
      mac: input.mac,
      host: input.host,
      state: 'registered',
      installMode: input.installMode ?? 'once',
      arch: null,
      firmware: null,
      uuid: null,
      vendorClass: null,
      ip: null,
      overrides: input.overrides ?? {},
      createdAt: t,
      updatedAt: t,
      stateChangedAt: t,
    };
    this.machines.set(m.mac, m);
    this.emit(m.mac, 'state', { from: null, to: 'registered', reason: 'api' });
    return m;
  }
  update(mac: string, patch: AdminMachinePatch): Machine {
    const m = this.machines.get(mac);
    if (!m) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    const next = { ...m, ...patch, updatedAt: now() };
    this.machines.set(mac, next);
    return next;
  }
  delete(mac: string): boolean {
    return this.machines.delete(mac);
  }
  reinstall(mac: string, reason?: string): Machine {
    const m = this.machines.get(mac);
    if (!m) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    if (m.state === 'discovered') throw new PxedError('LIFECYCLE_ILLEGAL', 'discovered → registered needs an install entry');
    const next: Machine = { ...m, state: 'registered', stateChangedAt: now() };
    this.machines.set(mac, next);
    this.emit(mac, 'state', { from: m.state, to: 'registered', reason: reason ?? 'reinstall' });
    return next;
  }
  postInstall(mac: string, report: AdminPostInstallReport): Machine {
    const m = this.machines.get(mac);
    if (!m) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    this.emit(mac, 'post-install', { ...report });
    return m;
  }
  events(mac: string, opts?: AdminEventQuery): BootEvent[] {
    if (!this.machines.has(mac)) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    return this.log.filter((e) => e.mac === mac && e.id > (opts?.afterId ?? 0)).slice(0, opts?.limit ?? Infinity);
  }
  allEvents(opts?: AdminEventQuery): BootEvent[] {
    return this.log.filter((e) => e.id > (opts?.afterId ?? 0)).slice(0, opts?.limit ?? Infinity);
  }
  subscribe(listener: (event: BootEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  preview(mac: string, artifact: PreviewArtifact): HttpDocument | null {
    if (!this.machines.has(mac)) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    if (artifact === 'ipxe') return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\n# preview ${mac}\n` };
    if (artifact === 'user-data') throw new PxedError('ARTIFACT_INVALID', 'user-data failed its schema');
    return null;
  }
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export type FakeDeps = Omit<HttpDeps, 'policy' | 'admin'> & { policy: FakePolicy; admin: FakeAdmin };

export function makeDeps(over: Partial<HttpDeps> = {}): FakeDeps {
  return {
    policy: new FakePolicy(),
    admin: new FakeAdmin(),
    assetRoots: [],
    ipxeBinRoots: [],
    adminToken: ADMIN_TOKEN,
    logger: silentLogger,
    ready: () => true,
    ...over,
  } as FakeDeps;
}

export const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

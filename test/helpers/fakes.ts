// Shared fakes for unit tests: registries (fixed, empty, broken) and a boot policy. Real peers are preferred
// (openRegistry(':memory:') is cheap); these are for tests that need a registry that cannot work, or a policy
// that only records what it was asked.

import { PxedError } from '../../src/errors.js';
import { systemClock, type Clock } from '../../src/model/clock.js';
import type { BootEvent, BootEventBody } from '../../src/model/events.js';
import type { Machine, MachineCreate, MachinePatch, MachineState } from '../../src/model/machine.js';
import type { BootArm, BootToken, Lease, MachineRegistry } from '../../src/registry/types.js';
import type { HttpBootPolicy, HttpDocument, IpxeScriptRequest, PhoneHomeRequest, TokenArtifactRequest } from '../../src/boot/types.js';

const T0 = '2026-01-01T00:00:00.000Z';

/** A machine with every field filled (override what the test cares about). */
export function machine(mac: string, over: Partial<Machine> = {}): Machine {
  return {
    mac,
    host: 'h1',
    state: 'registered',
    installMode: 'once',
    arch: null,
    firmware: null,
    uuid: null,
    vendorClass: null,
    ip: null,
    overrides: {},
    createdAt: T0,
    updatedAt: T0,
    stateChangedAt: T0,
    ...over,
  };
}

/**
 * An in-memory registry over a fixed set of machines: reads answer from it, writes change it (no lifecycle
 * checks: use openRegistry(':memory:') for those), events reach subscribers. `calls` counts method calls by name.
 */
export class FixedRegistry implements MachineRegistry {
  readonly machines = new Map<string, Machine>();
  readonly events: BootEvent[] = [];
  readonly calls = new Map<string, number>();
  private readonly listeners = new Set<(e: BootEvent) => void>();
  private readonly tokens = new Map<string, BootToken>();
  private readonly leases = new Map<string, Lease>();

  constructor(
    machines: readonly Machine[] = [],
    private readonly clock: Clock = systemClock,
  ) {
    for (const m of machines) this.machines.set(m.mac, m);
  }

  private stamp(): string {
    return this.clock.now().toISOString();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  atomically<T>(fn: () => T): T {
    return fn();
  }
  machineGet(mac: string): Machine | null {
    this.count('machineGet');
    return this.machines.get(mac) ?? null;
  }
  machineList(filter: { state?: MachineState } = {}): Machine[] {
    this.count('machineList');
    return [...this.machines.values()].filter((m) => filter.state === undefined || m.state === filter.state);
  }
  machineCreate(input: MachineCreate): Machine {
    if (this.machines.has(input.mac)) throw new PxedError('REGISTRY_EXISTS', `machine ${input.mac} exists`);
    const m = machine(input.mac, { host: input.host, state: input.state ?? (input.host === null ? 'discovered' : 'registered') });
    this.machines.set(m.mac, m);
    return m;
  }
  machineUpdate(mac: string, patch: MachinePatch): Machine {
    const m = this.machines.get(mac);
    if (!m) throw new PxedError('REGISTRY_NOT_FOUND', `no machine ${mac}`);
    const next = { ...m, ...patch } as Machine;
    this.machines.set(mac, next);
    return next;
  }
  machineDelete(mac: string): boolean {
    return this.machines.delete(mac);
  }
  machineTransition(mac: string, to: MachineState, reason: string, detail: Record<string, unknown> = {}): Machine {
    const m = this.machineUpdate(mac, {});
    const next = { ...m, state: to, stateChangedAt: this.stamp() };
    this.machines.set(mac, next);
    this.eventAppend(mac, { kind: 'state', detail: { ...detail, from: m.state, to, reason } });
    return next;
  }
  eventAppend(mac: string, body: BootEventBody): BootEvent {
    const e = { ...body, id: this.events.length + 1, mac, time: this.stamp() } as BootEvent;
    this.events.push(e);
    for (const l of this.listeners) l(e);
    return e;
  }
  eventList(mac: string): BootEvent[] {
    return this.events.filter((e) => e.mac === mac);
  }
  eventListAll(): BootEvent[] {
    return [...this.events];
  }
  eventSubscribe(listener: (event: BootEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  tokenInsert(token: BootToken): void {
    this.tokens.set(token.hash, token);
  }
  bootArm(arm: BootArm): void {
    this.machineTransition(arm.token.mac, 'booting', arm.reason, arm.detail);
    this.tokenRevokeAll(arm.token.mac, arm.token.createdAt);
    this.tokenInsert(arm.token);
    this.eventAppend(arm.token.mac, arm.event);
  }
  tokenGet(hash: string): BootToken | null {
    return this.tokens.get(hash) ?? null;
  }
  tokenLiveExists(mac: string, at: string): boolean {
    return [...this.tokens.values()].some((t) => t.mac === mac && t.revokedAt === null && t.expiresAt > at);
  }
  tokenRevokeAll(mac: string, at = this.stamp()): number {
    let n = 0;
    for (const [h, t] of this.tokens) {
      if (t.mac === mac && t.revokedAt === null) {
        this.tokens.set(h, { ...t, revokedAt: at });
        n++;
      }
    }
    return n;
  }
  machinePruneDiscovered(keep: number): string[] {
    const discovered = [...this.machines.values()].filter((m) => m.state === 'discovered');
    const gone = discovered.slice(0, Math.max(0, discovered.length - keep)).map((m) => m.mac);
    for (const mac of gone) this.machines.delete(mac);
    return gone;
  }
  eventPruneMachine(mac: string, keep: number, batch: number): number {
    const mine = this.events.filter((e) => e.mac === mac);
    const gone = new Set(mine.slice(0, Math.min(batch, Math.max(0, mine.length - keep))));
    this.events.splice(0, this.events.length, ...this.events.filter((e) => !gone.has(e)));
    return gone.size;
  }
  eventPruneBefore(before: string, batch: number): number {
    const gone = new Set(this.events.slice(0, batch).filter((e) => e.time < before));
    this.events.splice(0, this.events.length, ...this.events.filter((e) => !gone.has(e)));
    return gone.size;
  }
  leaseGet(ip: string): Lease | null {
    return this.leases.get(ip) ?? null;
  }
  leaseForMac(mac: string): Lease | null {
    return [...this.leases.values()].find((l) => l.mac === mac) ?? null;
  }
  leaseList(): Lease[] {
    return [...this.leases.values()];
  }
  leaseUpsert(lease: Lease): void {
    this.leases.set(lease.ip, lease);
  }
  leaseDelete(ip: string): void {
    this.leases.delete(ip);
  }
  close(): void {
    this.listeners.clear();
  }
}

/** A registry with no machines. */
export function emptyRegistry(): FixedRegistry {
  return new FixedRegistry();
}

/**
 * A registry whose every method throws `error` (default REGISTRY_IO, as a full disk or a locked file would), except
 * eventSubscribe (subscribing is in-memory) and close.
 */
export function brokenRegistry(error: () => Error = () => new PxedError('REGISTRY_IO', 'disk I/O error')): MachineRegistry {
  const keep = new Set(['eventSubscribe', 'close']);
  return new Proxy({} as MachineRegistry, {
    get(_t, prop) {
      if (prop === 'eventSubscribe') return () => () => undefined;
      if (typeof prop === 'string' && keep.has(prop)) return () => undefined;
      return () => {
        throw error();
      };
    },
  });
}

/** A policy that records what it was asked: every machine gets the same script; one live token. */
export class RecordingPolicy implements HttpBootPolicy {
  readonly scripts: IpxeScriptRequest[] = [];
  readonly artifacts: TokenArtifactRequest[] = [];
  readonly phoneHomes: PhoneHomeRequest[] = [];
  readonly assets: Array<{ client: string; path: string; bytes: number; status: number }> = [];

  constructor(readonly liveToken = 'live-token-AAAAAAAAAAAAAAAAAAAAAA') {}

  bootstrapScript(): HttpDocument {
    return { contentType: 'text/plain; charset=utf-8', body: '#!ipxe\nchain http://127.0.0.1/ipxe/${net0/mac}\n' };
  }
  machineScript(req: IpxeScriptRequest): HttpDocument {
    this.scripts.push(req);
    return { contentType: 'text/plain; charset=utf-8', body: `#!ipxe\necho machine ${req.mac}\nexit\n` };
  }
  tokenArtifact(req: TokenArtifactRequest): HttpDocument | null {
    this.artifacts.push(req);
    return req.token === this.liveToken ? { contentType: 'text/yaml; charset=utf-8', body: '#cloud-config\n' } : null;
  }
  phoneHome(req: PhoneHomeRequest): { state: string } | null {
    this.phoneHomes.push(req);
    return req.token === this.liveToken ? { state: 'installed' } : null;
  }
  assetServed(client: string, path: string, bytes: number, status: number): void {
    this.assets.push({ client, path, bytes, status });
  }
}

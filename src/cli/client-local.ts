// The machine client on the local registry file (the appliance itself). Safe next to a running daemon: both open
// the same SQLite file (WAL) and each call is one short transaction. Reads never create the database.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonConfig } from '../config/daemon.js';
import { loadDaemonConfig, loadProvisioning } from '../config/load.js';
import type { HostSpec, Provisioning } from '../config/provisioning.js';
import { PxedError } from '../errors.js';
import { machineMatcher } from '../model/search.js';
import { REINSTALLABLE_STATES } from '../registry/lifecycle.js';
import { openRegistry, type SqliteRegistry } from '../registry/sqlite.js';
import type { BootEvent, InstallMode, Machine, MachineState } from '../registry/types.js';
import type { AddInput, EditInput, MachineClient } from './client.js';
import { notFoundError } from './client.js';
import type { CliIO } from './io.js';
import { usageError } from './io.js';

const DEFAULT_DAEMON_CONFIG = 'configs/pxed.yaml';
const FALLBACK_DB = 'var/pxed.db';
/** How often `follow` looks for new events in the file. */
const FOLLOW_POLL_MS = 300;

export interface LocalPaths {
  db?: string;
  config?: string;
  defaults?: string;
  vmSpecs?: string;
  installConfig?: string;
}

/** Where the database and the provisioning inputs are, resolved lazily: a daemon config is read only when needed. */
export class Locations {
  private daemon: Readonly<DaemonConfig> | null | undefined;

  constructor(
    private readonly io: CliIO,
    private readonly values: LocalPaths,
  ) {}

  abs(p: string): string {
    return p === '-' ? p : path.resolve(this.io.cwd, p);
  }

  /** The --config file, else configs/pxed.yaml when it exists, else null. */
  daemonConfig(): Readonly<DaemonConfig> | null {
    if (this.daemon === undefined) {
      const explicit = this.values.config;
      const file = this.abs(explicit ?? DEFAULT_DAEMON_CONFIG);
      this.daemon = explicit !== undefined || existsSync(file) ? loadDaemonConfig(file, { cwd: this.io.cwd }) : null;
    }
    return this.daemon;
  }

  db(): string {
    if (this.values.db !== undefined) return this.abs(this.values.db);
    return this.daemonConfig()?.registry.database ?? this.abs(FALLBACK_DB);
  }

  async provisioning(): Promise<Readonly<Provisioning>> {
    const v = this.values;
    const needDaemon = v.defaults === undefined || v.vmSpecs === undefined || v.installConfig === undefined;
    const daemon = needDaemon ? this.daemonConfig() : null;
    const pick = (flag: string | undefined, fromDaemon: string | undefined, fallback: string): string =>
      flag !== undefined ? this.abs(flag) : (fromDaemon ?? this.abs(fallback));
    return loadProvisioning(
      {
        defaults: pick(v.defaults, daemon?.provisioning.defaults, 'configs/defaults.yaml'),
        vmSpecs: pick(v.vmSpecs, daemon?.provisioning.vm_specs, 'configs/vm_specs.yaml'),
        installConfig: pick(v.installConfig, daemon?.provisioning.install_config, 'configs/install_config.yaml'),
      },
      { readStdin: this.io.readStdin },
    );
  }
}

export class LocalMachineClient implements MachineClient {
  readonly where: string;
  private reg: SqliteRegistry | null = null;

  constructor(
    private readonly io: CliIO,
    private readonly loc: Locations,
  ) {
    this.where = `registry ${loc.db()}`;
  }

  /** The registry; `create` false answers null when the file does not exist (reads never create it). */
  private registry(create: boolean): SqliteRegistry | null {
    if (this.reg !== null) return this.reg;
    const file = this.loc.db();
    if (!create && !existsSync(file)) return null;
    this.reg = openRegistry(file);
    return this.reg;
  }

  private existing(mac: string): { reg: SqliteRegistry; machine: Machine } {
    const reg = this.registry(false);
    const machine = reg?.machineGet(mac) ?? null;
    if (reg === null || machine === null) throw notFoundError(mac, this.where);
    return { reg, machine };
  }

  /** The install entry, checked against the provisioning config before the database is opened. */
  private async entry(mac: string, hostName: string): Promise<{ host: HostSpec; installMode: InstallMode | undefined }> {
    const prov = await this.loc.provisioning();
    const host = prov.hostByName(hostName);
    if (host === null) {
      const known = prov.hosts.map((h) => h.name).join(', ') || 'none';
      throw usageError(`unknown install entry "${hostName}" (not in ${prov.sources.installConfig}; known: ${known})`);
    }
    const owner = prov.hostByMac(mac);
    if (owner !== null && owner.name !== host.name) {
      throw usageError(`MAC ${mac} belongs to "${owner.name}" in ${prov.sources.vmSpecs}, not to "${host.name}"`);
    }
    return { host, installMode: host.install_mode ?? this.loc.daemonConfig()?.policy.install_mode };
  }

  async list(filter: { state?: MachineState; q?: string }): Promise<Machine[]> {
    const reg = this.registry(false);
    const all = reg === null ? [] : reg.machineList(filter.state === undefined ? {} : { state: filter.state });
    return filter.q === undefined ? all : all.filter(machineMatcher(filter.q));
  }

  async get(mac: string): Promise<Machine> {
    return this.existing(mac).machine;
  }

  async add(input: AddInput): Promise<Machine> {
    const { host, installMode } = await this.entry(input.mac, input.host);
    const mode = input.installMode ?? installMode ?? 'once';
    const reg = this.registry(true)!;
    const existing = reg.machineGet(input.mac);
    // A machine the daemon discovered (policy unknown_macs: discover) is adopted: given its host, then registered.
    if (existing?.state === 'discovered') return this.adoptIn(reg, input.mac, host.name, mode);
    return reg.machineCreate({ mac: input.mac, host: host.name, installMode: mode });
  }

  async adopt(input: AddInput): Promise<Machine> {
    const { machine } = this.existing(input.mac);
    if (machine.state !== 'discovered') throw new PxedError('CLI_REFUSED', `${machine.mac} is ${machine.state}, not discovered: use "pxed machines edit"`);
    const { host, installMode } = await this.entry(input.mac, input.host);
    return this.adoptIn(this.registry(false)!, input.mac, host.name, input.installMode ?? installMode ?? 'once');
  }

  private adoptIn(reg: SqliteRegistry, mac: string, host: string, installMode: InstallMode): Machine {
    return reg.atomically(() => {
      reg.machineUpdate(mac, { host, installMode });
      return reg.machineTransition(mac, 'registered', 'assigned', { by: 'cli' });
    });
  }

  async edit(mac: string, input: EditInput): Promise<Machine> {
    const { reg, machine } = this.existing(mac);
    if (input.host !== undefined) await this.entry(mac, input.host);
    if (machine.state === 'discovered' && input.host !== undefined) return this.adoptIn(reg, mac, input.host, input.installMode ?? machine.installMode);
    return reg.machineUpdate(mac, { ...(input.host !== undefined ? { host: input.host } : {}), ...(input.installMode !== undefined ? { installMode: input.installMode } : {}) });
  }

  async remove(mac: string): Promise<void> {
    const reg = this.registry(false);
    if (reg === null || !reg.machineDelete(mac)) throw notFoundError(mac, this.where);
  }

  async reinstall(mac: string): Promise<Machine> {
    const { reg, machine } = this.existing(mac);
    if (!REINSTALLABLE_STATES.includes(machine.state)) {
      throw new PxedError('LIFECYCLE_ILLEGAL', `${mac} is ${machine.state}: give it an install entry with "pxed machines add ${mac} --host NAME"`);
    }
    return reg.machineTransition(mac, 'registered', 'reinstall', { by: 'cli' });
  }

  async events(mac: string | undefined, afterId?: number): Promise<BootEvent[]> {
    if (mac !== undefined) return this.existing(mac).reg.eventList(mac, afterId !== undefined ? { afterId } : {});
    return this.registry(false)?.eventListAll(afterId !== undefined ? { afterId } : {}) ?? [];
  }

  async follow(mac: string | undefined, afterId: number | undefined, onEvent: (e: BootEvent) => void, signal: AbortSignal): Promise<void> {
    if (mac !== undefined) this.existing(mac);
    let last = afterId ?? (await this.events(mac)).at(-1)?.id ?? 0;
    while (!signal.aborted) {
      for (const e of await this.events(mac, last)) {
        last = e.id;
        onEvent(e);
      }
      await sleep(FOLLOW_POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  close(): void {
    this.reg?.close();
    this.reg = null;
  }
}

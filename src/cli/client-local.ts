// The machine client on the local registry file (the appliance itself), through the one set of machine operations
// (src/machines/operations.ts): the same checks, transactions and timeline events as the API. Safe next to a
// running daemon: both open the same SQLite file (WAL) and each call is one short transaction. Reads never create
// the database; a refused write creates nothing (the checks run before the file is opened).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findDaemonConfig } from '../appliance/paths.js';
import type { DaemonConfig } from '../config/daemon.js';
import { loadDaemonConfig, loadProvisioning } from '../config/load.js';
import type { Provisioning } from '../config/provisioning.js';
import { PxedError, httpStatus, isPxedError } from '../errors.js';
import { MachineOperations, checkMachineInput, type MachineOperationsDeps } from '../machines/operations.js';
import type { BootEvent } from '../model/events.js';
import type { Machine, MachineState } from '../model/machine.js';
import { machineMatcher } from '../model/search.js';
import { openRegistry, type SqliteRegistry } from '../registry/sqlite.js';
import type { AddInput, EditInput, MachineClient } from './client.js';
import { clientError, notFoundError } from './client.js';
import type { CliIO } from './io.js';

const FALLBACK_DB = 'var/pxed.db';
/** How often `follow` looks for new events in the file. */
const FOLLOW_POLL_MS = 300;

export interface LocalPaths {
  db?: string | undefined;
  config?: string | undefined;
  defaults?: string | undefined;
  vmSpecs?: string | undefined;
  installConfig?: string | undefined;
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

  /** The --config file, else configs/pxed.yaml or /etc/pxed/pxed.yaml when one exists, else null. */
  daemonConfig(): Readonly<DaemonConfig> | null {
    if (this.daemon === undefined) {
      const explicit = this.values.config;
      const file = explicit !== undefined ? this.abs(explicit) : findDaemonConfig(this.io.cwd);
      this.daemon = file !== null ? loadDaemonConfig(file, { cwd: this.io.cwd }) : null;
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

/** No install entries: for operations that never look one up (get, list, remove, reinstall). */
const NO_ENTRIES = { hostByName: () => null };

export class LocalMachineClient implements MachineClient {
  readonly where: string;
  private reg: SqliteRegistry | null = null;

  constructor(private readonly loc: Locations) {
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

  /** The operations on the registry (created only for writes that passed their checks). */
  private ops(provisioning: MachineOperationsDeps['provisioning'] = NO_ENTRIES, create = false): MachineOperations | null {
    const registry = this.registry(create);
    if (registry === null) return null;
    return new MachineOperations({ registry, provisioning, installMode: this.loc.daemonConfig()?.policy.install_mode ?? 'once' });
  }

  /** Runs an operation; its coded errors become the client's (the same the --server mode gives). */
  private async run<T>(mac: string | undefined, fn: () => T | Promise<T>, prov?: Readonly<Provisioning>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isPxedError(err) || !err.code.startsWith('MACHINE_')) throw err;
      if (err.code === 'MACHINE_BAD_INPUT' && err.details?.field === 'host' && prov !== undefined && /unknown install entry/.test(err.message)) {
        const known = prov.hosts.map((h) => h.name).join(', ') || 'none';
        throw new PxedError('CLI_USAGE', `${err.message} (not in ${prov.sources.installConfig}; known: ${known})`);
      }
      throw clientError(httpStatus(err.code), err.message, this.where, mac);
    }
  }

  async list(filter: { state?: MachineState; q?: string }): Promise<Machine[]> {
    const ops = this.ops();
    const all = ops === null ? [] : await this.run(undefined, () => ops.list(filter.state === undefined ? {} : { state: filter.state }));
    return filter.q === undefined ? all : all.filter(machineMatcher(filter.q));
  }

  async get(mac: string): Promise<Machine> {
    const ops = this.ops();
    if (ops === null) throw notFoundError(mac, this.where);
    return this.run(mac, () => ops.get(mac));
  }

  async add(input: AddInput): Promise<Machine> {
    const prov = await this.loc.provisioning();
    // Checked before the database is opened (a refused add creates no file).
    await this.run(input.mac, () => checkMachineInput(prov, input), prov);
    const ops = this.ops(prov, true)!;
    return this.run(input.mac, () => ops.create(input, 'cli'), prov);
  }

  async adopt(input: AddInput): Promise<Machine> {
    const m = await this.get(input.mac);
    if (m.state !== 'discovered') throw new PxedError('CLI_REFUSED', `${m.mac} is ${m.state}, not discovered: use "pxed machines edit"`);
    const prov = await this.loc.provisioning();
    const ops = this.ops(prov)!;
    const change = { ...(input.installMode !== undefined ? { installMode: input.installMode } : {}), ...(input.force === true ? { force: true } : {}) };
    return this.run(input.mac, () => ops.adopt(input.mac, input.host, 'cli', change), prov);
  }

  async edit(mac: string, input: EditInput): Promise<Machine> {
    await this.get(mac);
    const prov = input.host !== undefined ? await this.loc.provisioning() : undefined;
    const ops = this.ops(prov ?? NO_ENTRIES)!;
    return this.run(mac, () => ops.update(mac, input, 'cli'), prov);
  }

  async remove(mac: string): Promise<void> {
    const ops = this.ops();
    if (ops === null) throw notFoundError(mac, this.where);
    await this.run(mac, () => ops.remove(mac));
  }

  async reinstall(mac: string): Promise<Machine> {
    const ops = this.ops();
    if (ops === null) throw notFoundError(mac, this.where);
    try {
      return await this.run(mac, () => ops.reinstall(mac, 'cli'));
    } catch (err) {
      if (isPxedError(err, 'CLI_REFUSED')) throw new PxedError('CLI_REFUSED', `${err.message} with "pxed machines adopt ${mac} --host ENTRY"`, err.details);
      throw err;
    }
  }

  async events(mac: string | undefined, afterId?: number): Promise<BootEvent[]> {
    const opts = afterId !== undefined ? { afterId } : {};
    if (mac !== undefined) {
      await this.get(mac);
      return this.registry(false)!.eventList(mac, opts);
    }
    return this.registry(false)?.eventListAll(opts) ?? [];
  }

  async follow(mac: string | undefined, afterId: number | undefined, onEvent: (e: BootEvent) => void, signal: AbortSignal): Promise<void> {
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

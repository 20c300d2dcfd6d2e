// The tables' row shapes (schema.ts) and their mapping to the model's objects; rows are read only through these.

import type { BootEvent } from '../model/events.js';
import type { InstallMode, Machine, MachineOverrides, MachineState } from '../model/machine.js';
import type { SqliteStore } from './store.js';
import type { BootToken, Lease } from './types.js';

export interface MachineRow {
  mac: string;
  host: string | null;
  arch: number | null;
  firmware: string | null;
  uuid: string | null;
  vendor_class: string | null;
  ip: string | null;
  state: string;
  install_mode: string;
  overrides: string;
  created_at: string;
  updated_at: string;
  state_changed_at: string;
}
export interface EventRow {
  id: number;
  mac: string;
  time: string;
  kind: string;
  detail: string;
}
export interface TokenRow {
  hash: string;
  mac: string;
  boot_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}
export interface LeaseRow {
  ip: string;
  mac: string;
  hostname: string | null;
  state: string;
  expires_at: string;
  updated_at: string;
}

/** The machines row of a canonical MAC (every table module checks that its machine exists through this). */
export function machineRow(s: SqliteStore, mac: string): MachineRow | undefined {
  return s.stmt<[string], MachineRow>('SELECT * FROM machines WHERE mac = ?').get(mac);
}

export function rowToMachine(r: MachineRow): Machine {
  return {
    mac: r.mac,
    host: r.host,
    state: r.state as MachineState,
    installMode: r.install_mode as InstallMode,
    arch: r.arch,
    firmware: r.firmware,
    uuid: r.uuid,
    vendorClass: r.vendor_class,
    ip: r.ip,
    overrides: JSON.parse(r.overrides) as MachineOverrides,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    stateChangedAt: r.state_changed_at,
  };
}

export function freezeMachine(m: Machine): Machine {
  Object.freeze(m.overrides);
  return Object.freeze(m);
}

/** Rows are written only through insertEvent (events.ts), so kind and detail match the union. */
export function rowToEvent(r: EventRow): BootEvent {
  return { id: r.id, mac: r.mac, time: r.time, kind: r.kind, detail: JSON.parse(r.detail) as unknown } as BootEvent;
}

export function rowToToken(r: TokenRow): BootToken {
  return { hash: r.hash, mac: r.mac, bootId: r.boot_id, createdAt: r.created_at, expiresAt: r.expires_at, revokedAt: r.revoked_at };
}

export function rowToLease(r: LeaseRow): Lease {
  return { ip: r.ip, mac: r.mac, hostname: r.hostname, state: r.state as Lease['state'], expiresAt: r.expires_at, updatedAt: r.updated_at };
}

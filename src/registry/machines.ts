// The machines table: the MachineRegistry machine* methods (types.ts) over a SqliteStore. Every change of state
// writes its 'state' event in the same transaction.

import { PxedError } from '../errors.js';
import type { StateDetail } from '../model/events.js';
import { assertTransition, isMachineState, type Machine, type MachineCreate, type MachinePatch, type MachineState } from '../model/machine.js';
import { parseMacOrThrow } from '../net/mac.js';
import { checkInstallMode, invalid, notFound, toJson } from './checks.js';
import { insertEvent } from './events.js';
import { freezeMachine, machineRow, rowToMachine, type MachineRow } from './rows.js';
import type { SqliteStore } from './store.js';
import { revokeTokens } from './tokens.js';

/** Served from the store's read cache (store.ts cachedMachine); the objects are frozen. */
export function machineGet(s: SqliteStore, mac: string): Machine | null {
  return s.read('machineGet', () =>
    s.cachedMachine(mac, (m) => {
      const r = machineRow(s, m);
      return r ? freezeMachine(rowToMachine(r)) : null;
    }),
  );
}

export function machineList(s: SqliteStore, filter: { state?: MachineState } = {}): Machine[] {
  const { state } = filter;
  if (state !== undefined && !isMachineState(state)) throw invalid(`unknown machine state ${String(state)}`);
  return s.read('machineList', () => {
    const rows =
      state === undefined
        ? s.stmt<[], MachineRow>('SELECT * FROM machines ORDER BY mac').all()
        : s.stmt<[string], MachineRow>('SELECT * FROM machines WHERE state = ? ORDER BY mac').all(state);
    return rows.map(rowToMachine);
  });
}

export function machineCreate(s: SqliteStore, input: MachineCreate): Machine {
  const mac = parseMacOrThrow(input.mac);
  const host = input.host ?? null;
  const state = input.state ?? (host === null ? 'discovered' : 'registered');
  if (state !== 'discovered' && state !== 'registered') throw invalid(`a new machine is discovered or registered, not ${String(state)}`);
  if (state === 'registered' && host === null) throw invalid(`machine ${mac}: registered needs an install entry (host)`, { mac });
  const installMode = checkInstallMode(input.installMode ?? 'once');
  const overrides = toJson(input.overrides ?? {}, 'overrides');
  return s.write('machineCreate', mac, () => {
    if (machineRow(s, mac)) throw new PxedError('REGISTRY_EXISTS', `machine ${mac} is already registered`, { mac });
    const t = s.stamp();
    s.stmt(
      `INSERT INTO machines (mac, host, arch, firmware, uuid, vendor_class, ip, state, install_mode, overrides,
         created_at, updated_at, state_changed_at)
       VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)`,
    ).run(mac, host, input.arch ?? null, input.firmware ?? null, input.uuid ?? null, input.vendorClass ?? null, state, installMode, overrides, t, t, t);
    insertEvent(s, mac, t, { kind: 'state', detail: { from: null, to: state, reason: 'created', ...(host === null ? {} : { host }) } });
    return rowToMachine(machineRow(s, mac)!);
  });
}

export function machineUpdate(s: SqliteStore, mac: string, patch: MachinePatch): Machine {
  const m = parseMacOrThrow(mac);
  const sets: string[] = [];
  const args: (string | number | null)[] = [];
  const set = (column: string, value: string | number | null): void => {
    sets.push(`${column} = ?`);
    args.push(value);
  };
  if (patch.host !== undefined) set('host', patch.host);
  if (patch.installMode !== undefined) set('install_mode', checkInstallMode(patch.installMode));
  if (patch.arch !== undefined) set('arch', patch.arch);
  if (patch.firmware !== undefined) set('firmware', patch.firmware);
  if (patch.uuid !== undefined) set('uuid', patch.uuid);
  if (patch.vendorClass !== undefined) set('vendor_class', patch.vendorClass);
  if (patch.ip !== undefined) set('ip', patch.ip);
  if (patch.overrides !== undefined) set('overrides', toJson(patch.overrides, 'overrides'));
  return s.write('machineUpdate', m, () => {
    const row = machineRow(s, m);
    if (!row) throw notFound(m);
    if (patch.host === null && row.state !== 'discovered') {
      throw invalid(`machine ${m} is ${row.state}: only a discovered machine may have no install entry`, { mac: m });
    }
    set('updated_at', s.stamp());
    s.stmt(`UPDATE machines SET ${sets.join(', ')} WHERE mac = ?`).run(...args, m);
    return rowToMachine(machineRow(s, m)!);
  });
}

export function machineDelete(s: SqliteStore, mac: string): boolean {
  const m = parseMacOrThrow(mac);
  return s.write('machineDelete', m, () => s.stmt('DELETE FROM machines WHERE mac = ?').run(m).changes > 0);
}

/** The entries of `detail` whose keys `base` does not have (a caller's detail never overrides from/to/reason). */
function withoutKeys(detail: Record<string, unknown>, base: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([k]) => !(k in base)));
}

/**
 * Also enforces "only a discovered machine has no install entry", and moving to `registered` (reinstall)
 * revokes the machine's live tokens in the same transaction (the event detail says how many).
 */
export function machineTransition(s: SqliteStore, mac: string, to: MachineState, reason: string, detail: Record<string, unknown> = {}): Machine {
  const m = parseMacOrThrow(mac);
  if (!isMachineState(to)) throw invalid(`unknown machine state ${String(to)}`);
  toJson(detail, 'detail');
  return s.write('machineTransition', m, () => {
    transitionRow(s, m, to, reason, detail);
    return rowToMachine(machineRow(s, m)!);
  });
}

/** Inside a write: machineTransition's checks, UPDATE and state event for the canonical MAC `m`. */
export function transitionRow(s: SqliteStore, m: string, to: MachineState, reason: string, detail: Record<string, unknown>): void {
  const row = machineRow(s, m);
  if (!row) throw notFound(m);
  const from = row.state as MachineState;
  assertTransition(from, to, m);
  if (row.host === null) {
    throw new PxedError('LIFECYCLE_ILLEGAL', `machine ${m} has no install entry: set its host before it can be ${to}`, { from, to, mac: m });
  }
  const t = s.stamp();
  s.stmt('UPDATE machines SET state = ?, state_changed_at = ?, updated_at = ? WHERE mac = ?').run(to, t, t, m);
  const ev: StateDetail = { from, to, reason, ...(to === 'registered' ? { tokensRevoked: revokeTokens(s, m, t) } : {}) };
  insertEvent(s, m, t, { kind: 'state', detail: { ...ev, ...withoutKeys(detail, ev) } });
}

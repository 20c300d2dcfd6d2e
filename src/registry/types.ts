// The machine registry: the only module that touches SQLite. Noun-verb methods, all synchronous
// (better-sqlite3), every write in one transaction. MACs are lower-case colon form in and out.

import type { BootEvent, BootEventBody } from '../model/events.js';
import type { Lease } from '../model/lease.js';
import type { Machine, MachineCreate, MachinePatch, MachineState } from '../model/machine.js';

export interface BootToken {
  /** sha256 hex of the token; the token itself is never stored. */
  hash: string;
  mac: string;
  /** Identifies the boot (one iPXE install script rendering). */
  bootId: string;
  createdAt: string;
  expiresAt: string;
  /** Set when the install completes, the machine is re-armed, or the token is replaced. */
  revokedAt: string | null;
}

export type { Lease };

/** A new install boot (MachineRegistry.bootArm). */
export interface BootArm {
  /** The new boot's token (its mac is the machine's). */
  token: BootToken;
  /** The state event's reason and extra detail (as machineTransition). */
  reason: string;
  detail: Record<string, unknown>;
  /** The event recording what armed it (the script or config served). */
  event: BootEventBody;
}

export interface MachineRegistry {
  /**
   * Runs `fn` so that every registry write it makes commits together or not at all (one transaction); events reach
   * subscribers after the commit. Writes inside keep their own checks, and one that fails is undone whole (even if
   * `fn` catches its error and goes on); an error thrown out of `fn` undoes them all.
   */
  atomically<T>(fn: () => T): T;
  machineGet(mac: string): Machine | null;
  machineList(filter?: { state?: MachineState }): Machine[];
  /** Throws PxedError REGISTRY_EXISTS if the MAC is present. Appends a 'state' event. */
  machineCreate(input: MachineCreate): Machine;
  /** Throws REGISTRY_NOT_FOUND. Does not change state. */
  machineUpdate(mac: string, patch: MachinePatch): Machine;
  /** Deletes the machine with its events and tokens. Returns false if it did not exist. */
  machineDelete(mac: string): boolean;
  /**
   * Moves a machine to `to` if the lifecycle allows it (throws LIFECYCLE_ILLEGAL otherwise, nothing written),
   * appending a 'state' event {from, to, reason, ...detail} in the same transaction.
   */
  machineTransition(mac: string, to: MachineState, reason: string, detail?: Record<string, unknown>): Machine;

  /** Throws REGISTRY_INVALID for a kind outside the union (model/events.ts), REGISTRY_NOT_FOUND for an unknown MAC. */
  eventAppend(mac: string, event: BootEventBody): BootEvent;
  /** Oldest first. */
  eventList(mac: string, opts?: { afterId?: number; limit?: number }): BootEvent[];
  /** Every machine's events after `afterId`, oldest first. */
  eventListAll(opts?: { afterId?: number; limit?: number }): BootEvent[];
  /** Called synchronously after each committed event; returns an unsubscribe function. */
  eventSubscribe(listener: (event: BootEvent) => void): () => void;

  tokenInsert(token: BootToken): void;
  /**
   * Arms a new install boot in one transaction: the machine moves to booting (state event), its live tokens are
   * revoked at token.createdAt, the token is stored and `event` appended — what machineTransition, tokenRevokeAll,
   * tokenInsert and eventAppend inside atomically() would write, with their checks, in one write without savepoints.
   */
  bootArm(arm: BootArm): void;
  tokenGet(hash: string): BootToken | null;
  /** Revokes every live token of the MAC; returns how many. */
  tokenRevokeAll(mac: string, at?: string): number;
  /** Whether the MAC holds a token that is neither revoked nor expired at `at` (ISO time). */
  tokenLiveExists(mac: string, at: string): boolean;

  // Bounded pruning (retention.ts): each call deletes at most one batch; callers repeat until less comes back.
  /** Deletes the oldest discovered machines beyond `keep` (with their events and tokens); returns their MACs. */
  machinePruneDiscovered(keep: number): string[];
  /** Deletes up to `batch` of the machine's oldest events beyond its newest `keep`; returns how many. */
  eventPruneMachine(mac: string, keep: number, batch: number): number;
  /** Deletes events older than `before` among the `batch` oldest; returns how many. */
  eventPruneBefore(before: string, batch: number): number;

  leaseGet(ip: string): Lease | null;
  leaseForMac(mac: string): Lease | null;
  leaseList(): Lease[];
  leaseUpsert(lease: Lease): void;
  leaseDelete(ip: string): void;

  close(): void;
}
